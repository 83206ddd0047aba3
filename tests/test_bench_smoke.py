"""The endpoint benchmark's pure parts (bench/loadgen.py, bench/report.py): percentiles, ratios and tables."""

from __future__ import annotations

import math

from bench.loadgen import percentile
from bench.report import growth_exponent, ratio, table


def test_percentile_is_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0


def test_p99_of_fewer_than_a_hundred_samples_is_the_maximum() -> None:
    assert percentile([3.0, 1.0, 2.0], 0.99) == 3.0


def test_percentile_of_no_samples_is_not_a_number() -> None:
    assert math.isnan(percentile([], 0.5))


def test_ratio_is_ours_over_theirs_and_missing_figures_give_a_dash() -> None:
    assert ratio(0.013, 0.010) == "1.30x"
    assert ratio(math.nan, 0.010) == "-"
    assert ratio(0.5, None) == "-"


def test_growth_exponent_is_one_for_linear_growth() -> None:
    assert math.isclose(growth_exponent(2.0, 20.0, 1_000, 10_000), 1.0)
    assert math.isclose(growth_exponent(1.0, 100.0, 1_000, 10_000), 2.0)


def test_table_pads_columns_to_the_widest_cell() -> None:
    assert table(["a", "long header"], [["wide cell", "1"]]).splitlines() == [
        "| a         | long header |",
        "|-----------|-------------|",
        "| wide cell | 1           |",
    ]
