"""The article's tables and list of alternatives, regenerated from the graph alone (as Markdown).

Everything here comes from named queries; a fact missing from the graph shows as a missing or wrong cell, which
is what the round-trip test against the article checks.
"""

from __future__ import annotations

from collections import defaultdict

from mlcloudkg.api import KnowledgeGraph
from mlcloudkg.cells import (
    CHECK,
    CROSS,
    capitalised,
    cpu_cell,
    gpu_cell,
    money,
    number,
    quantity,
    ram_cell,
    sharing_cell,
    upto,
)
from mlcloudkg.store import Row

MLC = "https://w3id.org/mlcloudkg/ontology#"


def article_tables(kg: KnowledgeGraph) -> str:
    """The three tables and the alternatives list, in the article's order."""
    return "\n\n".join([what_is_table(kg), free_runtime_table(kg), feature_table(kg), alternatives_list(kg)]) + "\n"


def what_is_table(kg: KnowledgeGraph) -> str:
    rows = kg.named("what-is")
    header = [r["serviceName"] for r in rows]
    descriptions = [r.get("description", "") for r in rows]
    makers = [_maker_sentence(r) for r in rows]
    return _markdown(["", *header][1:], [descriptions, makers], with_row_labels=False)


def _maker_sentence(row: Row) -> str:
    names = [n for n in str(row.get("alsoKnownAs", "")).split(", ") if n]
    short = min(names, key=len) if names else row["serviceName"]
    sentence = f"{short} is a product of {row['providerName']}."
    if row.get("acceleratorName"):
        accelerator = (
            f"[{row['acceleratorName']}]({row['acceleratorUrl']})"
            if row.get("acceleratorUrl")
            else row["acceleratorName"]
        )
        sentence += f" The {row['providerName']} company came from startup accelerator {accelerator}."
    return sentence


def free_runtime_table(kg: KnowledgeGraph) -> str:
    rows = kg.named("free-runtimes")
    labels = ["GPU", "GPU RAM", "CPU/Cores", "RAM", "Storage", "Runtime", "Sharing"]
    cells = [
        [
            gpu_cell(r),
            upto(r.get("gpuMemoryMaxGB"), "GB"),
            cpu_cell(r),
            ram_cell(r),
            quantity(r.get("storageGB"), "GB"),
            upto(r.get("maxSessionHours"), " hours"),
            sharing_cell(r),
        ]
        for r in rows
    ]
    body = [[label, *(column[i] for column in cells)] for i, label in enumerate(labels)]
    return _markdown(["", *(r["serviceName"] for r in rows)], body)


def feature_table(kg: KnowledgeGraph) -> str:
    """Features on which every compared service has a stated answer, one row each."""
    rows = kg.named("feature-matrix")
    services = sorted({r["serviceName"] for r in rows if r["serviceName"] in _compared(kg)})
    cells: dict[str, dict[str, str]] = defaultdict(dict)
    for r in rows:
        if r["serviceName"] in services:
            cells[capitalised(r["featureLabel"])][r["serviceName"]] = _feature_cell(r)
    body = [
        [label, *(by_service[s] for s in services)]
        for label, by_service in sorted(cells.items())
        if len(by_service) == len(services)
    ]
    return _markdown(["", *services], body)


def _compared(kg: KnowledgeGraph) -> set[str]:
    """The services of the article's comparison: those with a free-runtime row."""
    return {r["serviceName"] for r in kg.named("free-runtimes")}


def _feature_cell(row: Row) -> str:
    if row["feature"] == MLC + "jupyterFlavour":
        return capitalised(row["detail"])
    mark = CHECK if row.get("supported") else CROSS
    if row.get("detailUrl"):
        return f"[{row.get('detail', mark)}]({row['detailUrl']})"
    return row.get("detail", mark)


def alternatives_list(kg: KnowledgeGraph) -> str:
    by_position: dict[int, list[Row]] = defaultdict(list)
    for row in kg.named("alternatives"):
        by_position[int(row["position"])].append(row)
    lines = []
    for position, rows in sorted(by_position.items()):
        first = rows[0]
        link = f"[{first['serviceName']}]({first['homepage']})" if first.get("homepage") else first["serviceName"]
        lines.append(f"{position}. {link} - {_alternative_summary(rows)}")
    return "\n".join(lines)


def _alternative_summary(rows: list[Row]) -> str:
    first = rows[0]
    parts: list[str] = []
    if first.get("supportsGPUWorkloads") is False:
        parts.append("Supports CPU-based workloads only")
    if first.get("infrastructure"):
        parts.append(str(first["infrastructure"]))
    plans: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        if "plan" in row:
            plans[row["plan"]].append(row)
    paid = [p for p in plans.values() if p[0]["pricingModel"] != "free tier"]
    free = [p for p in plans.values() if p[0]["pricingModel"] == "free tier"]
    for plan in sorted(paid, key=lambda p: p[0]["planName"]):
        parts.append(_price_phrase(plan))
    for plan in free:
        public = {r.get("sharing") for r in plan} == {"public"}
        kind = "CPU" if plan[0].get("compute") == "CPU" else "GPU"
        parts.append(f"basic {'public ' if public else ''}{kind} workloads are free")
    return ", ".join(parts)


def _price_phrase(plan: list[Row]) -> str:
    components = sorted(
        {
            (r.get("unit", ""), r["price"], r["currency"], r.get("referenceQuantity"), r.get("approximate"))
            for r in plan
            if "price" in r
        },
        key=lambda c: (c[0] != "MON", c[0]),
    )
    if not components:
        return f"{plan[0]['planName']} (price not stated)"
    pieces = []
    for unit, price, currency, hours, approximate in components:
        amount = money(price, currency)
        if hours is not None:
            pieces.append(f"{amount} package for {'~' if approximate else ''}{number(hours)} GPU hours")
        else:
            pieces.append(amount + {"MON": "/month", "HUR": "/hr", "ANN": "/year"}.get(unit, ""))
    phrase = " + ".join(pieces)
    if plan[0].get("compute") == "GPU" and all(c[3] is None for c in components):
        phrase += " for GPU workloads"
    return phrase


def _markdown(header: list[str], body: list[list[str]], *, with_row_labels: bool = True) -> str:
    separator = ["-"] * len(header)
    lines = ["|" + "|".join(header) + "|", "|" + "|".join(separator) + "|"]
    lines += ["|" + "|".join(row) + "|" for row in body]
    return "\n".join(lines)
