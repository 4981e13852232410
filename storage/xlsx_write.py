"""Writing .xlsx exports: typed, injection-safe sheets for the centre's own system (BiQAS).

`write_workbook` turns `Sheet`s of `Column`s and row mappings into .xlsx bytes; `safe_text` and
`display_width` are the rules it applies to every text cell. The header texts come from the caller,
so this module has no user-facing messages of its own.
"""

from __future__ import annotations

import io
import itertools
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # openpyxl (~15 MB) is loaded when a workbook is written, not when the bot starts
    from openpyxl.cell import WriteOnlyCell

# openpyxl's own set (openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE): control characters no cell may hold.
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
# openpyxl's error codes (openpyxl.cell.cell.ERROR_CODES): a plain text value equal to one becomes an error cell.
ERROR_CODES = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"  # the MIME type of what this writes
ColumnKind = Literal["text", "int", "date", "datetime", "bool"]
EXPORT_TZ = ZoneInfo("Asia/Shanghai")
MAX_COLUMN_WIDTH = 60
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
# Excel keeps 15 significant digits; a number at or above this has already lost some.
EXACT_FLOAT_LIMIT = 10**15
_EXCEL_CELL_MAX = 32767  # characters Excel allows in one cell
_FORMULA_TRIGGERS = frozenset("=+-@\t\r")
_BAD_TITLE_RE = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class Column:
    header: str
    key: str  # key into each row mapping
    kind: ColumnKind = "text"
    min_width: int = 6


@dataclass(frozen=True)
class Sheet:
    title: str  # ≤31 chars, no []:*?/\ — sanitised on write
    columns: Sequence[Column]
    rows: Iterable[Mapping[str, object]]
    freeze_header: bool = True


def display_width(text: str) -> int:
    """Width in Excel character units: East Asian wide/fullwidth characters count as 2."""
    widest = 0
    for line in text.splitlines() or [""]:
        if line.isascii():
            width = len(line)
        else:
            width = sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in line)
        widest = max(widest, width)
    return widest


def safe_text(value: object) -> str:
    """A value as an Excel-safe string: legal XML characters only, no formula trigger at the start."""
    if isinstance(value, datetime):
        text = _local_naive(value).isoformat(sep=" ", timespec="seconds")
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = str(value)
    text = ILLEGAL_CHARACTERS_RE.sub("", text)
    if text and (text[0] in _FORMULA_TRIGGERS or unicodedata.normalize("NFKC", text[0]) in _FORMULA_TRIGGERS):
        # OWASP CSV/formula injection: the apostrophe keeps Excel, WPS and LibreOffice from evaluating
        # the cell when it is edited or the sheet is saved as CSV and reopened.
        text = "'" + text
    return text[:_EXCEL_CELL_MAX]


def _local_naive(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: pass timezone-aware datetimes to the Excel export")
    return value.astimezone(EXPORT_TZ).replace(tzinfo=None)


# A prepared cell: (value, kind actually written, display width)
_Prepared = tuple[object, str, int]


def _prepare(value: object, kind: ColumnKind, *, measure: bool = True) -> _Prepared | None:
    if value is None:
        return None
    if kind == "int" and not isinstance(value, bool):
        number: int | None = None
        if isinstance(value, int):
            number = value
        elif isinstance(value, float | Decimal) and math.isfinite(value) and value % 1 == 0:
            number = int(value)
        elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
            number = int(value.strip())
        # Beyond 15 digits Excel would round the number; keep it exact as text instead.
        if number is not None and abs(number) < EXACT_FLOAT_LIMIT:
            return number, "int", len(str(number))
    elif kind == "date" and isinstance(value, date):
        day = _local_naive(value).date() if isinstance(value, datetime) else value
        return day, "date", 10
    elif kind == "datetime" and isinstance(value, date):
        if isinstance(value, datetime):
            return _local_naive(value), "datetime", 19
        return value, "date", 10
    elif kind == "bool" and isinstance(value, bool):
        return value, "bool", 5
    # "text", and any value whose type does not fit its column: written as safe text, never dropped.
    text = safe_text(value)
    return text, "text", display_width(text) if measure else 0


def _cell(ws: object, prepared: _Prepared | None) -> WriteOnlyCell | None:
    if prepared is None:
        return None
    value, kind, _ = prepared
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=value)
    if kind == "text":
        cell.data_type = "s"  # never let openpyxl decide a string is a formula
    elif kind == "date":
        cell.number_format = DATE_FORMAT
    elif kind == "datetime":
        cell.number_format = DATETIME_FORMAT
    return cell


def _sheet_title(title: str, used: set[str]) -> str:
    base = ILLEGAL_CHARACTERS_RE.sub("", _BAD_TITLE_RE.sub("_", title)).strip().strip("'").strip()
    base = base[:31].strip() or "Sheet"
    if base.casefold() == "history":  # reserved by Excel
        base = "History_"
    candidate, n = base, 1
    while candidate.casefold() in used:
        n += 1
        suffix = f" ({n})"
        candidate = base[: 31 - len(suffix)] + suffix
    used.add(candidate.casefold())
    return candidate


# Column widths are measured on this many rows, then the rest stream through: memory stays a sample's,
# whatever the number of rows (a width only has to look right, it needs no row beyond the sample).
WIDTH_SAMPLE = 500


def _plain(ws: object, prepared: _Prepared | None) -> object:
    """A cell for the write-only sheet: text and numbers as plain values (openpyxl then reuses one cell
    object, and safe_text has already made sure no text reads as a formula); dates need a styled cell."""
    if prepared is None:
        return None
    if prepared[1] in ("int", "bool") or (prepared[1] == "text" and prepared[0] not in ERROR_CODES):
        return prepared[0]
    return _cell(ws, prepared)  # dates, and texts openpyxl would take for an error code ("#N/A")


def write_workbook(sheets: Sequence[Sheet]) -> bytes:
    """Write the sheets to .xlsx bytes (write-only mode: rows stream to a temporary file)."""
    if not sheets:
        raise ValueError("write_workbook needs at least one sheet")
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    header_font = Font(bold=True)
    wb = Workbook(write_only=True)
    used: set[str] = set()
    for sheet in sheets:
        columns = list(sheet.columns)
        if not columns:
            raise ValueError(f"sheet {sheet.title!r} has no columns")
        ws = wb.create_sheet(_sheet_title(sheet.title, used))
        header = [_prepare(c.header, "text") for c in columns]
        kinds = [c.kind for c in columns]
        keys = [c.key for c in columns]
        rows = iter(sheet.rows)
        # Widths must be set before the first row is written: measured on the first rows.
        sample = [[_prepare(row.get(k), kind) for k, kind in zip(keys, kinds, strict=True)]
                  for row in itertools.islice(rows, WIDTH_SAMPLE)]  # fmt: skip
        widths = [max(c.min_width, (h[2] if h else 0) + 2) for c, h in zip(columns, header, strict=True)]
        for cells in sample:
            for idx, p in enumerate(cells):
                if p is not None and p[2] + 2 > widths[idx]:
                    widths[idx] = p[2] + 2
        for idx, width in enumerate(widths, 1):
            ws.column_dimensions[get_column_letter(idx)].width = min(width, MAX_COLUMN_WIDTH)
        if sheet.freeze_header:
            ws.freeze_panes = "A2"

        header_cells = []
        for h in header:
            cell = _cell(ws, h)
            if cell is not None:
                cell.font = header_font
            header_cells.append(cell)
        ws.append(header_cells)
        count = len(sample)
        for cells in sample:
            ws.append([_plain(ws, p) for p in cells])
        del sample
        for row in rows:
            prepared = [_prepare(row.get(k), kind, measure=False) for k, kind in zip(keys, kinds, strict=True)]
            ws.append([_plain(ws, p) for p in prepared])
            count += 1
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{count + 1}"

    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
