"""Excel answers, as finance people open them: Chinese column headers with the English name in a
second header row, amounts as numbers formatted #,##0.00, dates as dates, the header frozen, an
autofilter, one sheet per result, and a sheet saying what was asked, by whom, as of which
snapshot."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

AMOUNT_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


@dataclass(frozen=True)
class Sheet:
    title: str                      # ≤ 31 characters, Excel's limit
    columns: Sequence[str]          # the column names as queried (English, snake_case)
    rows: Sequence[Sequence[object]]
    labels_zh: Mapping[str, str]    # column -> Chinese header; the English name stays in row 2


def _cell_value(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)  # Excel stores doubles; cents survive for amounts below 10^13
    return value


def workbook(sheets: Sequence[Sheet], about: Sequence[tuple[str, object]]) -> bytes:
    """The .xlsx bytes: the result sheets, then 说明 (what was asked, by whom, which snapshot)."""
    book = Workbook()
    book.remove(book.active)
    for sheet in sheets:
        ws = book.create_sheet(sheet.title[:31])
        ws.append([sheet.labels_zh.get(c, c) for c in sheet.columns])
        ws.append(list(sheet.columns))
        for cells in (ws[1], ws[2]):
            for cell in cells:
                cell.font = Font(bold=cell.row == 1)
                cell.fill = _HEADER_FILL
                cell.alignment = Alignment(horizontal="center")
        widths = [max(len(str(sheet.labels_zh.get(c, c))) * 2, len(c)) + 2 for c in sheet.columns]
        for values in sheet.rows:
            ws.append([_cell_value(v) for v in values])
            row = ws.max_row
            for i, value in enumerate(values, start=1):
                cell = ws.cell(row=row, column=i)
                if isinstance(value, Decimal | float) and not isinstance(value, bool):
                    cell.number_format = AMOUNT_FORMAT
                elif isinstance(value, date | datetime):
                    cell.number_format = DATE_FORMAT if not isinstance(value, datetime) else "yyyy-mm-dd hh:mm:ss"
                widths[i - 1] = max(widths[i - 1], min(len(str(value)) + 2, 40))
        for i, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
        ws.freeze_panes = "A3"
        if sheet.columns:
            ws.auto_filter.ref = f"A2:{get_column_letter(len(sheet.columns))}{max(ws.max_row, 2)}"
    info = book.create_sheet("说明 about")
    info.append(["项目 item", "内容 value"])
    info["A1"].font = info["B1"].font = Font(bold=True)
    for key, value in about:
        info.append([key, _cell_value(value)])
    info.column_dimensions["A"].width = 28
    info.column_dimensions["B"].width = 80
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
