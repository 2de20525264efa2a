"""`respool catalog build|search|show|site`: the data catalog (数据目录)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipelines import config
from pipelines.cli import render
from pipelines.cli.common import DbOption, console, err, open_db

commands = typer.Typer(no_args_is_help=True, help="数据目录 the data catalog: build, search, show, static site")


def _catalog(db: Path | None):
    """The catalog stored in the database by the last `catalog build`; else built from the files
    (names, columns, descriptions, glossary — without row counts, freshness and quality)."""
    from catalog.builder import build_catalog, read_catalog

    path = db or config.default_db()
    if path.exists():
        with open_db(path, read_only=True) as con:
            stored = read_catalog(con)
        if stored is not None:
            return stored
        err.print(f"[yellow]{path} 中没有数据目录 holds no catalog yet (respool catalog build): "
                  f"searching the model and register files[/yellow]")
    return build_catalog()


@commands.command("build")
def catalog_build(
    db: DbOption = None,
    site: Annotated[Path | None, typer.Option(help="where the static site goes (default $RESPOOL_CATALOG_DIR, "
                                                   "else data/catalog)")] = None,
    no_site: Annotated[bool, typer.Option("--no-site", help="store the catalog only")] = False,
) -> None:
    """Rebuild the catalog from the register, models, lineage, database and quality results; store it
    in meta.catalog_* and write the static site. Exits 1 when a column is left undocumented."""
    from catalog.builder import build_catalog, write_catalog

    path = db or config.default_db()
    if not path.exists():
        err.print(f"[red]no database at {path} — run respool ingest first[/red]")
        raise typer.Exit(2)
    with open_db(path) as con:
        built = build_catalog(con, source_db=str(path.resolve()))
        write_catalog(con, built)
    render.catalog_built(built)
    if not no_site:
        index = _write_site(built, site or config.catalog_dir())
        console.print(f"数据目录网站 catalog site: {index}")
    if built.undocumented:
        raise typer.Exit(1)


@commands.command("site")
def catalog_site(
    out: Annotated[Path, typer.Option(help="directory of the static site")],
    db: DbOption = None,
) -> None:
    """Write the static site (opens from disk, no server) from the stored catalog."""
    index = _write_site(_catalog(db), out)
    console.print(f"数据目录网站 catalog site: {index}")


def _write_site(built, out: Path) -> Path:
    from catalog.site import write_project_site

    return write_project_site(built, out)


@commands.command("search")
def catalog_search(
    terms: Annotated[list[str], typer.Argument(help="words in Chinese or English, e.g. 客户 应收 账龄")],
    db: DbOption = None,
    limit: Annotated[int, typer.Option(help="most hits shown")] = 20,
) -> None:
    """检索: tables and glossary terms carrying every word, best first."""
    from catalog.search import Searcher

    searcher = Searcher(_catalog(db))
    query = " ".join(terms)
    hits = searcher.search(query, limit=None)
    render.catalog_hits(query, hits[:limit], len(hits))
    if not hits:
        raise typer.Exit(1)


@commands.command("show")
def catalog_show(
    table: Annotated[str, typer.Argument(help="table, e.g. dwd.dwd_ar_item or dwd_ar_item")],
    db: DbOption = None,
) -> None:
    """A table's catalog entry: names, layer, owner, grain, key, columns, figures, quality, lineage."""
    built = _catalog(db)
    entry = built.table(table)
    if entry is None:
        from difflib import get_close_matches

        near = get_close_matches(table.lower(), [t.table for t in built.tables] + [t.name for t in built.tables], n=3)
        hint = f" — did you mean {', '.join(near)}?" if near else ""
        err.print(f"[red]数据目录中没有 no table {table!r} in the catalog{hint}[/red]")
        raise typer.Exit(2)
    render.catalog_entry(entry)
