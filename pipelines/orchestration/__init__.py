"""The Dagster wiring, and nothing else: assets, checks, jobs, schedules, sensors and resources
over the functions of catalog/, models/, quality/, lineage/ and pipelines/ingest."""
