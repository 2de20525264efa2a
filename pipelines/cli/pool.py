"""`respool aging|voucher|recon`: the resource pool — aging at any key date and the items behind
a figure, drill-through to a voucher (凭证穿透), the ERP-YX reconciliation."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from pipelines.cli import render
from pipelines.cli.common import DbOption, err, open_db, parse_day

commands = typer.Typer(add_completion=False)


@commands.command()
def aging(
    ledger: Annotated[str, typer.Option(help="ar (应收) or ap (应付)")] = "ar",
    as_of: Annotated[str, typer.Option("--as-of", help="key date YYYY-MM-DD")] = "",
    basis: Annotated[str, typer.Option(help="due (到期日) or posting (过账日)")] = "due",
    by: Annotated[str, typer.Option(help="company, or customer/vendor/partner")] = "company",
    fmt: Annotated[str, typer.Option("--format", help="table or csv")] = "table",
    drill: Annotated[tuple[str, str] | None, typer.Option(help="BUKRS BUCKET: list the items behind a figure")] = None,
    partner: Annotated[str | None, typer.Option(help="with --drill: only this customer/vendor")] = None,
    db: DbOption = None,
) -> None:
    """Aging at any key date (open ordinary items), or the items behind one figure."""
    from models.pool import LEDGERS, aging_items
    from models.pool import aging as run_aging

    if ledger not in LEDGERS:
        raise typer.BadParameter("--ledger must be ar or ap")
    if basis not in ("due", "posting"):
        raise typer.BadParameter("--basis must be due or posting")
    if by not in ("company", "customer", "vendor", "partner"):
        raise typer.BadParameter("--by must be company, customer, vendor or partner")
    if fmt not in ("table", "csv"):
        raise typer.BadParameter("--format must be table or csv")
    key_date = parse_day(as_of) if as_of else date.today()
    partner_col = LEDGERS[ledger][1]
    with open_db(db, read_only=True) as con:
        if drill:
            items = aging_items(con, ledger, key_date, basis, drill[0], drill[1], partner)
        else:
            rows = run_aging(con, ledger, key_date, basis, by_partner=by != "company")
    if drill:
        render.aging_items(items, ledger, partner_col, drill, key_date, basis, fmt)
    else:
        render.aging(rows, ledger, partner_col, by != "company", key_date, basis, fmt)


@commands.command()
def voucher(
    bukrs: Annotated[str, typer.Argument(help="company code")],
    gjahr: Annotated[str, typer.Argument(help="fiscal year")],
    belnr: Annotated[str, typer.Argument(help="document number")],
    db: DbOption = None,
) -> None:
    """凭证穿透: a document's header and all its lines."""
    from models.pool import voucher as find_voucher

    with open_db(db, read_only=True) as con:
        v = find_voucher(con, bukrs, gjahr, belnr)
    if v.header is None and not v.lines:
        err.print(f"[red]凭证不存在 no document {bukrs}/{gjahr}/{belnr}[/red]")
        raise typer.Exit(1)
    render.voucher(v, bukrs, gjahr, belnr)


@commands.command()
def recon(
    tolerance: Annotated[float, typer.Option(help="largest difference accepted (CNY)")] = 0.01,
    fmt: Annotated[str, typer.Option("--format", help="table or csv")] = "table",
    db: DbOption = None,
) -> None:
    """营销-财务对账 ERP vs YX receivables per company and month; exits 1 beyond the tolerance."""
    from models.pool import reconciliation

    with open_db(db, read_only=True) as con:
        rows = reconciliation(con)
    render.reconciliation(rows, tolerance, fmt)
    if any(abs(r["difference"]) > tolerance for r in rows):
        raise typer.Exit(1)
