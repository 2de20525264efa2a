"""`python -m pipelines.cli …` is `respool …` (the benchmarks start it this way)."""

from pipelines.cli import main

main()
