"""`make bench`: each module `benchmarks/bench_*.py` defines `run(args) -> None` and prints its figures."""
