"""Benchmarks, run on demand (never in the test suite): python -m bench <name> [options]."""

from __future__ import annotations

import sys

from bench import endpoint, load, pages, reasoning

BENCHMARKS = {"reasoning": reasoning.main, "pages": pages.main, "endpoint": endpoint.main, "load": load.main}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in BENCHMARKS:
        print(f"usage: python -m bench {{{','.join(BENCHMARKS)}}} [options]  (--help after the name for its options)")
        sys.exit(2)
    BENCHMARKS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
