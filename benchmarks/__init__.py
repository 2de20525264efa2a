"""Benchmarks (`make bench`): speed and memory against the bare-DuckDB floor."""
