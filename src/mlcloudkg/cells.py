"""How values from the graph are written in tables: GPU lists, CPU, memory, limits, sharing, prices."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mlcloudkg.store import Row

CHECK, CROSS = "✔️", "❌"


def gpu_cell(row: Row) -> str:
    models = sorted(str(row.get("gpus", "")).split(", "))
    listed = ", ".join(models[:-1]) + " and " + models[-1] if len(models) > 1 else "".join(models)
    return f"{row.get('gpuMaker', '')} {listed}".strip()


def cpu_cell(row: Row) -> str:
    if "cpuCores" in row:
        cell = f"{row['cpuCores']}x"
        if "cpuClockGHz" in row:
            cell += f" {number(row['cpuClockGHz'])}GHz"
        if "cpuMicroarchitecture" in row:
            cell += f" ({row['cpuMicroarchitecture']})"
        return cell
    return f"{row['vcpus']}x vCPU" if "vcpus" in row else "?"


def ram_cell(row: Row) -> str:
    if "ramGB" in row and "ramMaxGB" in row:
        return f"{number(row['ramGB'])}GB (up to {number(row['ramMaxGB'])}GB)"
    if "ramGB" in row:
        return f"{number(row['ramGB'])}GB"
    return upto(row.get("ramMaxGB"), "GB")


def sharing_cell(row: Row) -> str:
    modes = sorted({m.capitalize() for m in str(row.get("sharingModes", "")).split("/") if m})
    if modes == ["Public"]:
        return "Only Public"
    return "/".join(modes) or "?"


def money(amount: Any, currency: str) -> str:
    value = Decimal(str(amount))
    text = f"{value:.2f}" if value != value.to_integral_value() else f"{value:.0f}"
    return f"${text}" if currency == "USD" else f"{currency}${text}"


def upto(value: Any, unit: str) -> str:
    return f"Up to {number(value)}{unit}" if value is not None else "?"


def quantity(value: Any, unit: str) -> str:
    return f"{number(value)}{unit}" if value is not None else "?"


def number(value: Any) -> str:
    number = Decimal(str(value))
    return str(number.quantize(Decimal(1)) if number == number.to_integral_value() else number.normalize())


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]
