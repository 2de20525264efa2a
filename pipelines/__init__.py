"""What runs: contract checks and ingest, model build, publish, the `respool` CLI, Dagster wiring."""
