"""Run every benchmark (or those named: `make bench BENCH_ARGS="imports alerts"`) and print their figures.

Benchmarks are not tests: they measure and print, against the baseline each issue names (the database's
raw bulk path, pandas alone, a trivial view). Set DATABASE_URL to a PostgreSQL database to measure there.
"""

import argparse
import importlib
import os
import pkgutil
import sys
import time

import django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--rows", type=int, default=None, help="override the size of the data set")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    import benchmarks

    names = sorted(
        module.name.removeprefix("bench_")
        for module in pkgutil.iter_modules(benchmarks.__path__)
        if module.name.startswith("bench_")
    )
    from django.db import connection

    from benchmarks import postgres_settings

    if connection.vendor == "postgresql":
        print(postgres_settings())
    selected = args.names or names
    unknown = set(selected) - set(names)
    if unknown:
        sys.exit(f"Unknown benchmark(s): {', '.join(sorted(unknown))}. Known: {', '.join(names)}")
    for name in selected:
        print(f"\n=== benchmark: {name}")
        started = time.perf_counter()
        importlib.import_module(f"benchmarks.bench_{name}").run(args)
        print(f"=== {name} done in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
