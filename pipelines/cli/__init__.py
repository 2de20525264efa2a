"""`respool`: the one entry point for people and scripts. One module per command group:
register (回流表清单), sample (generate), pipeline (ingest, build, check, publish, summary),
pool (aging, voucher, recon), lineage (lineage, trace), quality (report, alert), service (query,
serve), access (users, tokens, audit), data_catalog (catalog build, search, show, site), operations (backup, restore); Rich output in render. Commands import their work when they run: `respool aging` answers in well under a
second."""

from __future__ import annotations

import sys

import typer

from pipelines.cli import (
    access,
    data_catalog,
    lineage,
    operations,
    pipeline,
    pool,
    quality,
    register,
    sample,
    service,
)

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="respool — 应收应付资源池 (AR/AP resource pool) pipeline")
app.add_typer(register.commands, name="register")
for group in (sample, pipeline, pool, lineage, quality, service, operations):
    app.add_typer(group.commands)
app.add_typer(access.commands, name="access")
app.add_typer(data_catalog.commands, name="catalog")


def main() -> None:  # pragma: no cover
    sys.exit(app())


if __name__ == "__main__":
    main()
