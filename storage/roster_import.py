"""Reading the centre's roster of existing labs from .xlsx, and the report of what was refused.

`read_roster` turns an uploaded .xlsx into accepted rows plus precise, row-by-row refusals: it sniffs
what the file really is, finds the header row, and checks every row. `summary_message` and
`write_import_report` tell the uploader the outcome (the report is written with storage.xlsx_write).

This module knows nothing about the campaign: the allowed institution types, levels, cities and the
phone / credit-code validators are handed in by the caller. User-facing texts are Fluent message ids
(prefix ``xl-``); the catalogues are conversations/locales/{zh,en}/excel.ftl.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from defusedxml import ElementTree  # workbook XML from users: no entity expansion, no external entities

from storage.sniff import sniff
from storage.xlsx_write import EXACT_FLOAT_LIMIT, Column, Sheet, write_workbook

if TYPE_CHECKING:  # openpyxl (~15 MB) is loaded when a roster is read, not when the bot starts
    from openpyxl import Workbook
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------------
# Message ids (every one exists in both excel.ftl catalogues; tests/test_excel.py checks it)
# --------------------------------------------------------------------------------------------------
# File-level refusals (RowIssue.row == 0)
XL_FILE_EMPTY = "xl-file-empty"
XL_FILE_CSV = "xl-file-csv"
XL_FILE_HTML = "xl-file-html"
XL_FILE_XLS = "xl-file-xls"
XL_FILE_ENCRYPTED = "xl-file-encrypted"
XL_FILE_OTHER_FORMAT = "xl-file-other-format"
XL_FILE_NOT_XLSX = "xl-file-not-xlsx"
XL_FILE_CORRUPT = "xl-file-corrupt"
XL_FILE_TOO_LARGE = "xl-file-too-large"
XL_FILE_NO_SHEETS = "xl-file-no-sheets"
XL_FILE_MISSING_COLUMNS = "xl-file-missing-columns"
XL_FILE_DUPLICATE_COLUMN = "xl-file-duplicate-column"
XL_FILE_TOO_MANY_ROWS = "xl-file-too-many-rows"
XL_FILE_TOO_MANY_SHEET_ROWS = "xl-file-too-many-sheet-rows"
XL_FILE_NO_DATA = "xl-file-no-data"
# Cell-level refusals
XL_REQUIRED_MISSING = "xl-required-missing"
XL_CELL_FORMULA = "xl-cell-formula"
XL_CELL_ERROR = "xl-cell-error"
XL_CELL_DATE = "xl-cell-date"
XL_CELL_BOOL = "xl-cell-bool"
XL_CELL_DECIMAL = "xl-cell-decimal"
XL_CELL_LONG_NUMBER = "xl-cell-long-number"
XL_TOO_LONG = "xl-too-long"
XL_UNKNOWN_TYPE = "xl-unknown-type"
XL_UNKNOWN_LEVEL = "xl-unknown-level"
XL_UNKNOWN_CITY = "xl-unknown-city"
XL_INVALID_MOBILE = "xl-invalid-mobile"
XL_INVALID_CREDIT_CODE = "xl-invalid-credit-code"
XL_INVALID_DATE = "xl-invalid-date"
XL_DUPLICATE_CODE = "xl-duplicate-code"
XL_HIDDEN_CHAR_CODE = "xl-hidden-char-code"
XL_CONTACT_WITHOUT_MOBILE = "xl-contact-without-mobile"
XL_MOBILE_WITHOUT_CONTACT = "xl-mobile-without-contact"
XL_BACKUP_CONTACT_WITHOUT_MOBILE = "xl-backup-contact-without-mobile"
XL_BACKUP_MOBILE_WITHOUT_CONTACT = "xl-backup-mobile-without-contact"
# Summary and the import-report workbook
XL_IMPORT_SUMMARY = "xl-import-summary"
XL_REPORT_SHEET_TITLE = "xl-report-sheet-title"
XL_REPORT_COL_ROW = "xl-report-col-row"
XL_REPORT_COL_COLUMN = "xl-report-col-column"
XL_REPORT_COL_PROBLEM = "xl-report-col-problem"

MESSAGE_IDS: frozenset[str] = frozenset(
    value for name, value in dict(globals()).items() if name.startswith("XL_") and isinstance(value, str)
)


# --------------------------------------------------------------------------------------------------
# Public data types
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RowIssue:
    """Why a row (or, with row=0, the whole file) was refused."""

    row: int  # 1-based Excel row number; 0 for a file-level problem
    column: str | None  # the header as it appears in the file
    message_id: str
    args: Mapping[str, object]


@dataclass(frozen=True)
class RosterRow:
    row: int
    code: str
    name: str
    institution_type: str  # canonical code from the caller's mapping
    level: str  # canonical code from the caller's mapping
    city: str  # the caller's display name
    contact_name: str | None
    mobile: str | None  # as normalised by check_mobile
    credit_code: str | None
    licence_no: str | None
    licence_valid_to: date | None
    address: str | None
    backup_contact_name: str | None
    backup_mobile: str | None


@dataclass(frozen=True)
class RosterReport:
    rows: tuple[RosterRow, ...]  # accepted rows
    issues: tuple[RowIssue, ...]  # refused rows (and file-level problems with row=0)
    total_rows: int  # non-empty data rows read; 0 when the file was refused as a whole

    @property
    def file_refused(self) -> bool:
        return any(issue.row == 0 for issue in self.issues)

    @property
    def refused_rows(self) -> int:
        return len({issue.row for issue in self.issues if issue.row > 0})


# --------------------------------------------------------------------------------------------------
# Roster columns
# --------------------------------------------------------------------------------------------------
FieldKind = Literal["code", "text", "id", "date"]


@dataclass(frozen=True)
class _Field:
    key: str  # RosterRow attribute
    label: str  # canonical header, shown when the column is missing
    synonyms: tuple[str, ...]
    required: bool
    max_len: int
    kind: FieldKind = "text"


_FIELDS: tuple[_Field, ...] = (
    _Field(
        "code",
        "实验室编码 (code)",
        ("实验室编码", "单位编码", "编码", "实验室代码", "单位代码", "代码", "code", "labcode"),
        True,
        32,
        "code",
    ),
    _Field(
        "name",
        "单位名称 (name)",
        (
            "单位名称",
            "实验室名称",
            "机构名称",
            "医疗机构名称",
            "医院名称",
            "名称",
            "name",
            "labname",
            "institutionname",
        ),
        True,
        100,
    ),
    _Field(
        "institution_type",
        "机构类型 (type)",
        ("机构类型", "单位类型", "机构类别", "单位类别", "类型", "type", "institutiontype"),
        True,
        50,
    ),
    _Field("level", "等级 (level)", ("等级", "医院等级", "机构等级", "级别", "level", "grade"), True, 50),
    _Field("city", "地市 (city)", ("地市", "城市", "市", "所在地市", "所属地市", "city"), True, 50),
    _Field("contact_name", "联系人 (contact)", ("联系人", "联系人姓名", "contact", "contactname"), False, 50),
    _Field(
        "mobile",
        "手机 (mobile)",
        (
            "手机",
            "手机号",
            "手机号码",
            "联系电话",
            "联系人手机",
            "联系人手机号",
            "mobile",
            "phone",
            "mobilephone",
        ),
        False,
        30,
        "id",
    ),
    _Field(
        "credit_code",
        "统一社会信用代码 (credit_code)",
        ("统一社会信用代码", "社会信用代码", "信用代码", "creditcode", "uscc"),
        False,
        32,
        "id",
    ),
    _Field(
        "licence_no",
        "执业许可证登记号 (licence_no)",
        (
            "执业许可证登记号",
            "许可证登记号",
            "执业许可证号",
            "登记号",
            "licenceno",
            "licenseno",
            "licencenumber",
            "licensenumber",
        ),
        False,
        64,
        "id",
    ),
    _Field(
        "licence_valid_to",
        "许可证有效期至 (licence_valid_to)",
        (
            "许可证有效期至",
            "许可证有效期",
            "有效期至",
            "licencevalidto",
            "licensevalidto",
            "licenceexpiry",
            "licenseexpiry",
        ),
        False,
        40,
        "date",
    ),
    _Field("address", "地址 (address)", ("地址", "单位地址", "详细地址", "通讯地址", "address"), False, 200),
    _Field(
        "backup_contact_name",
        "备用联系人 (backup_contact)",
        ("备用联系人", "备用联系人姓名", "backupcontact", "backupcontactname"),
        False,
        50,
    ),
    _Field(
        "backup_mobile",
        "备用联系人手机 (backup_mobile)",
        ("备用联系人手机", "备用联系人手机号", "备用手机", "备用手机号", "备用联系电话", "backupmobile"),
        False,
        30,
        "id",
    ),
)
_FIELDS_BY_KEY = {f.key: f for f in _FIELDS}

# Header cleanup: templates often mark columns "*单位名称" or "手机号（必填）".
_HEADER_NOISE_RE = re.compile(r"[\s*_\-.:：]+")
_HEADER_SUFFIX_RE = re.compile(r"\([^()]*\)$")


def _header_key(text: str) -> str:
    key = unicodedata.normalize("NFKC", text).strip().casefold()
    key = _HEADER_SUFFIX_RE.sub("", key)
    return _HEADER_NOISE_RE.sub("", key)


_SYNONYMS: dict[str, str] = {_header_key(s): f.key for f in _FIELDS for s in f.synonyms}

# Headers may sit under a title row ("2025年参评实验室名单"); look this far down for them.
HEADER_SCAN_ROWS = 5
# A zip that inflates beyond this is refused before openpyxl touches it (zip bombs). 20,000 labs of 13
# columns make a sheet of about 20 MB and a few MB of shared strings; zipfile never inflates a member past
# the size its directory declares (a lie there fails the CRC), so the declared sizes bound the work.
MAX_UNCOMPRESSED_BYTES = 64 * 1024 * 1024
PROGRESS_ROWS = 1000  # the reader reports progress every this many sheet rows


def max_sheet_rows(max_rows: int) -> int:
    """Rows a sheet may hold, blank or formatted ones included, for ``max_rows`` of data: every row
    costs parsing time even when it is then skipped."""
    return max_rows + 10_000


_ARG_VALUE_MAX = 40  # values quoted back in messages are cut to this many characters
_ALLOWED_SHOWN = 8  # how many allowed values a refusal lists

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_FORMULA_TAG_RE = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?f[\s/>]")
_WS_RE = re.compile(r"\s+")
_ZERO_PAD_RE = re.compile(r"^(0+)(;.*)?$")
# 2027-12-31, 2027/12/31, 2027.12.31, 2027年12月31日, optionally followed by a midnight-ish time of day.
_DATE_TEXT_RE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$"
)


def _file_issue(message_id: str, **args: object) -> RosterReport:
    return RosterReport(rows=(), issues=(RowIssue(0, None, message_id, args),), total_rows=0)


def _hidden_char(code: str) -> str | None:
    """The first invisible or direction-changing character in a lab code (zero-width spaces and joiners,
    bidi controls, BOMs, control characters): a code that looks like HN0001 but does not match it when
    typed, or shows reversed in a list."""
    # Bidi embeddings, overrides and isolates (U+202A-202E, U+2066-2069) are format characters (Cf) too.
    return next((ch for ch in code if unicodedata.category(ch) in ("Cf", "Cc", "Co", "Cn", "Zl", "Zp")), None)


def _quote(value: object) -> str:
    text = _WS_RE.sub(" ", str(value)).strip()
    return text if len(text) <= _ARG_VALUE_MAX else text[: _ARG_VALUE_MAX - 1] + "…"


def _lookup_key(text: str) -> str:
    return _WS_RE.sub("", unicodedata.normalize("NFKC", text)).casefold()


def _city_key(text: str) -> str:
    key = _lookup_key(text)
    return key[:-1] if len(key) > 1 and key.endswith("市") else key


def _allowed_list(values: Iterable[str]) -> str:
    shown = list(dict.fromkeys(values))
    text = ", ".join(shown[:_ALLOWED_SHOWN])
    return text + (", …" if len(shown) > _ALLOWED_SHOWN else "")


def _allowed_spellings(mapping: Mapping[str, str]) -> str:
    # One spelling per canonical code: the first one the caller listed (display names first, usually).
    first: dict[str, str] = {}
    for spelling, code in mapping.items():
        first.setdefault(code, spelling)
    return _allowed_list(first.values())


# --------------------------------------------------------------------------------------------------
# File sniffing: say what the file really is before openpyxl says something cryptic
# --------------------------------------------------------------------------------------------------
def _decode_text_sample(sample: bytes) -> str | None:
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's "Unicode text" export is UTF-16 with a BOM.
        return sample[: len(sample) // 2 * 2].decode("utf-16", errors="replace")
    if b"\x00" in sample:
        return None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            # Cut back to the last newline so a multi-byte character is not split at the sample's end.
            end = sample.rfind(b"\n")
            return (sample if end < 0 else sample[:end]).decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _refuse_non_xlsx(data: bytes) -> RosterReport | None:
    """Refuse anything that is not an .xlsx, naming what it most likely is (storage.sniff for the kind, then
    what only a workbook has: an OLE2 .xls or an encrypted one, a zip with the parts of an .xlsx)."""
    if not data.strip():
        return _file_issue(XL_FILE_EMPTY)
    if data.startswith(_OLE2_MAGIC):
        # Encrypted OOXML is wrapped in an OLE2 container with an "EncryptedPackage" stream.
        if "EncryptedPackage".encode("utf-16-le") in data:
            return _file_issue(XL_FILE_ENCRYPTED)
        return _file_issue(XL_FILE_XLS)
    kind, mime = sniff(data)
    if kind == "pdf":
        return _file_issue(XL_FILE_OTHER_FORMAT, format="PDF")
    if mime.startswith("image/"):
        return _file_issue(XL_FILE_OTHER_FORMAT, format="image")
    if not data.startswith(b"PK"):
        text = _decode_text_sample(data[:65536])
        if text is None:
            return _file_issue(XL_FILE_NOT_XLSX)
        head = text.lstrip("\ufeff \t\r\n").lower()
        if head.startswith(("<", "mime-version")):
            # Old reporting systems export HTML tables or SpreadsheetML 2003 XML named .xls/.xlsx.
            return _file_issue(XL_FILE_HTML)
        return _file_issue(XL_FILE_CSV)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            names = {info.filename for info in infos}
            inflated = sum(info.file_size for info in infos)
            if inflated > MAX_UNCOMPRESSED_BYTES:
                mb = 1024 * 1024
                return _file_issue(XL_FILE_TOO_LARGE, size_mb=-(-inflated // mb), max_mb=MAX_UNCOMPRESSED_BYTES // mb)
            if "xl/workbook.bin" in names:
                return _file_issue(XL_FILE_OTHER_FORMAT, format="XLSB")
            if "mimetype" in names:
                mimetype = zf.read("mimetype")[:100].decode("ascii", errors="replace")
                fmt = "ODS" if "spreadsheet" in mimetype else "OpenDocument"
                return _file_issue(XL_FILE_OTHER_FORMAT, format=fmt)
            if "word/document.xml" in names:
                return _file_issue(XL_FILE_OTHER_FORMAT, format="Word (.docx)")
            if "[Content_Types].xml" not in names:
                return _file_issue(XL_FILE_NOT_XLSX)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError):
        return _file_issue(XL_FILE_CORRUPT)
    return None


# --------------------------------------------------------------------------------------------------
# Header detection
# --------------------------------------------------------------------------------------------------
@dataclass
class _Header:
    row: int
    columns: dict[str, int]  # field key -> 0-based column index
    titles: dict[str, str]  # field key -> header text as it appears in the file
    found: list[str]  # every non-empty header in that row
    duplicate: tuple[str, str] | None  # two headers meaning the same field


def _match_header(row_no: int, values: Sequence[object]) -> _Header:
    header = _Header(row_no, {}, {}, [], None)
    for idx, value in enumerate(values):
        if value is None:
            continue
        text = _WS_RE.sub(" ", str(value)).strip()
        if not text:
            continue
        header.found.append(text)
        key = _SYNONYMS.get(_header_key(text))
        if key is None:
            continue
        if key in header.columns:
            if header.duplicate is None:
                header.duplicate = (header.titles[key], text)
            continue
        header.columns[key] = idx
        header.titles[key] = text
    return header


def _has_required(header: _Header) -> bool:
    return all(f.key in header.columns for f in _FIELDS if f.required)


# --------------------------------------------------------------------------------------------------
# Formula detection. data_only=True hands back a formula's cached value (or None when the producing
# program never calculated it), so formulas are invisible to openpyxl here; find them in the sheet XML.
# --------------------------------------------------------------------------------------------------
def _formula_cells(data: bytes, sheet_path: str | None) -> frozenset[tuple[int, int]]:
    if not sheet_path:
        return frozenset()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        try:
            raw = zf.read(sheet_path.lstrip("/"))
        except KeyError:
            return frozenset()
    if not _FORMULA_TAG_RE.search(raw):
        return frozenset()
    found: set[tuple[int, int]] = set()
    row_no, col_no, in_cell = 0, 0, False
    for event, elem in ElementTree.iterparse(io.BytesIO(raw), events=("start", "end")):
        tag = elem.tag.rpartition("}")[2]
        if event == "start":
            if tag == "row":
                row_no = int(elem.get("r") or row_no + 1)
                col_no = 0
            elif tag == "c":
                in_cell = True
                ref = elem.get("r")
                if ref:
                    from openpyxl.utils.cell import coordinate_to_tuple

                    row_no, col_no = coordinate_to_tuple(ref)
                else:
                    col_no += 1
        elif tag == "f" and in_cell:  # <xm:f> also appears in data-validation extensions
            found.add((row_no, col_no))
        elif tag == "c":
            in_cell = False
        elif tag == "row":
            elem.clear()
    return frozenset(found)


# --------------------------------------------------------------------------------------------------
# Cell conversion
# --------------------------------------------------------------------------------------------------
class _Invalid:
    """Marks a cell already refused, so it is not reported again as missing."""


_INVALID = _Invalid()


class _CellProblem(Exception):
    def __init__(self, message_id: str, **args: object) -> None:
        super().__init__(message_id)
        self.message_id = message_id
        self.args_map: dict[str, object] = args


def _number_text(value: int | float, number_format: str | None) -> str:
    if isinstance(value, float):
        if not value.is_integer():
            raise _CellProblem(XL_CELL_DECIMAL, value=_quote(value))
        if abs(value) >= EXACT_FLOAT_LIMIT:
            # Show it as Excel does: 15 significant digits, then zeros.
            raise _CellProblem(XL_CELL_LONG_NUMBER, value=_quote(format(Decimal(f"{value:.15g}"), "f")))
        value = int(value)
    elif abs(value) >= EXACT_FLOAT_LIMIT:
        raise _CellProblem(XL_CELL_LONG_NUMBER, value=_quote(value))
    text = str(value)
    # A "000000" number format displays the leading zeros Excel does not store; restore them.
    match = _ZERO_PAD_RE.match(number_format or "")
    if match and value >= 0:
        text = text.zfill(len(match.group(1)))
    return text


def _cell_text(cell: object, kind: FieldKind) -> str | None:
    """The cell as text, refusing values whose type cannot be what the roster meant."""
    value = getattr(cell, "value", None)
    if value is None:
        return None
    if getattr(cell, "data_type", None) == "e":
        raise _CellProblem(XL_CELL_ERROR, value=_quote(value))
    if isinstance(value, bool):
        raise _CellProblem(XL_CELL_BOOL, value="TRUE" if value else "FALSE")
    if isinstance(value, datetime | date | time | timedelta):
        raise _CellProblem(XL_CELL_DATE, value=_quote(value))
    if isinstance(value, int | float):
        fmt = getattr(cell, "number_format", None) if kind == "code" else None
        return _number_text(value, fmt)
    text = str(value)
    # Codes and numbers: full-width digits and letters from Chinese IMEs become ASCII; names keep
    # their full-width brackets and only lose stray whitespace.
    text = _WS_RE.sub(" ", text).strip() if kind == "text" else unicodedata.normalize("NFKC", text).strip()
    return text or None


def _cell_date(cell: object) -> date | None:
    value = getattr(cell, "value", None)
    if value is None:
        return None
    if getattr(cell, "data_type", None) == "e":
        raise _CellProblem(XL_CELL_ERROR, value=_quote(value))
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise _CellProblem(XL_INVALID_DATE, value="TRUE" if value else "FALSE")
    if isinstance(value, int | float):
        if isinstance(value, float) and not value.is_integer():
            raise _CellProblem(XL_INVALID_DATE, value=_quote(value))
        text = str(int(value))  # 20261231 typed as a number
    else:
        text = unicodedata.normalize("NFKC", str(value)).strip()
        if not text:
            return None
    match = _DATE_TEXT_RE.match(text)
    try:
        if match:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if len(text) == 8 and text.isdigit():
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        pass
    raise _CellProblem(XL_INVALID_DATE, value=_quote(text))


# --------------------------------------------------------------------------------------------------
# Roster import
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Rules:
    """The caller's domain knowledge, normalised once for fast lookups."""

    types: Mapping[str, str]
    types_allowed: str
    levels: Mapping[str, str]
    levels_allowed: str
    cities: Mapping[str, str]
    cities_allowed: str
    check_mobile: Callable[[str], str | None]
    check_credit_code: Callable[[str], str | None] | None


def read_roster(
    data: bytes,
    *,
    institution_types: Mapping[str, str],
    levels: Mapping[str, str],
    cities: Collection[str],
    check_mobile: Callable[[str], str | None],
    check_credit_code: Callable[[str], str | None] | None = None,
    max_rows: int = 20000,
    progress: Callable[[int], None] | None = None,
) -> RosterReport:
    """Read the centre's roster of existing labs from .xlsx bytes.

    Never raises on bad input: every problem becomes a RowIssue, with row=0 for the file as a whole.
    A row with any issue is refused in full; all of its issues are reported so one pass fixes them.
    CPU-bound: call it through storage.heavy.run_heavy from async code, outside any transaction.
    ``progress`` is called (from the reading thread) with the number of sheet rows read so far.
    """
    refused = _refuse_non_xlsx(data)
    if refused is not None:
        return refused
    rules = _Rules(
        types={_lookup_key(k): v for k, v in institution_types.items()},
        types_allowed=_allowed_spellings(institution_types),
        levels={_lookup_key(k): v for k, v in levels.items()},
        levels_allowed=_allowed_spellings(levels),
        cities={_city_key(c): c for c in cities},
        cities_allowed=_allowed_list(cities),
        check_mobile=check_mobile,
        check_credit_code=check_credit_code,
    )
    # openpyxl warns about features it drops (data validation, extensions); irrelevant to an import.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from openpyxl import load_workbook

            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # untrusted file: any parser failure means "corrupt"
            log.info("roster workbook failed to open", exc_info=True)
            return _file_issue(XL_FILE_CORRUPT)
        try:
            return _read_workbook(wb, data, rules, max_rows, progress)
        except Exception:
            log.info("roster workbook failed while reading", exc_info=True)
            return _file_issue(XL_FILE_CORRUPT)
        finally:
            wb.close()


def _find_header(sheets: Sequence[ReadOnlyWorksheet]) -> tuple[ReadOnlyWorksheet, _Header, bool]:
    """The first sheet and row with all required headers (an instructions sheet may come first);
    failing that, the candidate with the most recognised headers, and False."""
    best: tuple[ReadOnlyWorksheet, _Header] | None = None
    for ws in sheets:
        for row_no, values in enumerate(ws.iter_rows(max_row=HEADER_SCAN_ROWS, values_only=True), 1):
            header = _match_header(row_no, values)
            if _has_required(header):
                return ws, header, True
            if best is None or len(header.columns) > len(best[1].columns):
                best = (ws, header)
    if best is None:  # every sheet is empty
        return sheets[0], _Header(1, {}, {}, [], None), False
    return best[0], best[1], False


def _read_workbook(
    wb: Workbook, data: bytes, rules: _Rules, max_rows: int, progress: Callable[[int], None] | None = None
) -> RosterReport:
    sheets = wb.worksheets
    if not sheets:
        return _file_issue(XL_FILE_NO_SHEETS)
    for ws in sheets:
        # Read-only mode trusts the <dimension> element, which some exporters get wrong (e.g. "A1"):
        # without this, rows beyond it would be silently dropped.
        ws.reset_dimensions()
    ws, header, complete = _find_header(sheets)
    if not complete:
        missing = [f.label for f in _FIELDS if f.required and f.key not in header.columns]
        return _file_issue(
            XL_FILE_MISSING_COLUMNS,
            missing=", ".join(missing),
            found=_allowed_list(header.found) if header.found else "—",
            sheet=ws.title,
            header_row=header.row,
        )
    if header.duplicate:
        return _file_issue(XL_FILE_DUPLICATE_COLUMN, first=header.duplicate[0], second=header.duplicate[1])

    formulas = _formula_cells(data, getattr(ws, "_worksheet_path", None))
    max_col = max(header.columns.values()) + 1
    accepted: list[RosterRow] = []
    issues: list[RowIssue] = []
    first_row_of_code: dict[str, int] = {}
    total = 0
    sheet_limit = max_sheet_rows(max_rows)
    for row_no, cells in enumerate(ws.iter_rows(min_row=header.row + 1, max_col=max_col), header.row + 1):
        if row_no > sheet_limit:
            return _file_issue(XL_FILE_TOO_MANY_SHEET_ROWS, max=sheet_limit, sheet=ws.title)
        if progress is not None and row_no % PROGRESS_ROWS == 0:
            progress(row_no)
        mapped = {key: cells[idx] if idx < len(cells) else None for key, idx in header.columns.items()}
        formula_keys = {key for key, idx in header.columns.items() if (row_no, idx + 1) in formulas}
        if not formula_keys and all(_blank(c) for c in mapped.values()):
            continue  # fully empty rows are skipped silently
        total += 1
        if total > max_rows:
            return _file_issue(XL_FILE_TOO_MANY_ROWS, max=max_rows)
        result = _check_row(row_no, mapped, formula_keys, header, rules, first_row_of_code)
        if isinstance(result, RosterRow):
            accepted.append(result)
        else:
            issues.extend(result)
    if total == 0:
        return _file_issue(XL_FILE_NO_DATA, sheet=ws.title)
    return RosterReport(rows=tuple(accepted), issues=tuple(issues), total_rows=total)


def _check_row(
    row_no: int,
    mapped: Mapping[str, object],
    formula_keys: Collection[str],
    header: _Header,
    rules: _Rules,
    first_row_of_code: dict[str, int],
) -> RosterRow | list[RowIssue]:
    issues: list[RowIssue] = []

    def refuse(key: str, message_id: str, **args: object) -> None:
        # row and column go into args too, so every message renders on its own.
        column = header.titles.get(key)
        issues.append(RowIssue(row_no, column, message_id, {"row": row_no, "column": column or "", **args}))

    # 1. Each cell on its own: type, length. A refused cell holds _INVALID (not reported again as missing).
    values: dict[str, object] = {}
    for key, cell in mapped.items():
        field = _FIELDS_BY_KEY[key]
        values[key] = _INVALID
        if key in formula_keys:
            refuse(key, XL_CELL_FORMULA)
            continue
        try:
            value: object = _cell_date(cell) if field.kind == "date" else _cell_text(cell, field.kind)
        except _CellProblem as problem:
            refuse(key, problem.message_id, **problem.args_map)
            continue
        if isinstance(value, str) and len(value) > field.max_len:
            refuse(key, XL_TOO_LONG, max=field.max_len, length=len(value))
            continue
        values[key] = value

    for field in _FIELDS:
        if field.required and values.get(field.key) is None:
            refuse(field.key, XL_REQUIRED_MISSING)

    # 2. Values against the file and the caller's rules.
    code = values.get("code")
    if isinstance(code, str) and (hidden := _hidden_char(code)) is not None:
        refuse("code", XL_HIDDEN_CHAR_CODE, char=f"U+{ord(hidden):04X}")
    elif isinstance(code, str):
        first = first_row_of_code.setdefault(code.casefold(), row_no)
        if first != row_no:
            refuse("code", XL_DUPLICATE_CODE, value=_quote(code), first_row=first)

    canonical: dict[str, str | None] = {}
    for key, table, message_id, allowed in (
        ("institution_type", rules.types, XL_UNKNOWN_TYPE, rules.types_allowed),
        ("level", rules.levels, XL_UNKNOWN_LEVEL, rules.levels_allowed),
    ):
        raw = values.get(key)
        if isinstance(raw, str):
            canonical[key] = table.get(_lookup_key(raw))
            if canonical[key] is None:
                refuse(key, message_id, value=_quote(raw), allowed=allowed)
    raw = values.get("city")
    if isinstance(raw, str):
        canonical["city"] = rules.cities.get(_city_key(raw))
        if canonical["city"] is None:
            refuse("city", XL_UNKNOWN_CITY, value=_quote(raw), allowed=rules.cities_allowed)

    for key in ("mobile", "backup_mobile"):
        raw = values.get(key)
        if isinstance(raw, str):
            canonical[key] = rules.check_mobile(raw)
            if canonical[key] is None:
                refuse(key, XL_INVALID_MOBILE, value=_quote(raw))
    raw = values.get("credit_code")
    if isinstance(raw, str):
        raw = raw.upper()
        canonical["credit_code"] = rules.check_credit_code(raw) if rules.check_credit_code else raw
        if canonical["credit_code"] is None:
            refuse("credit_code", XL_INVALID_CREDIT_CODE, value=_quote(raw))

    # 3. A contact needs both a name and a mobile, or neither.
    for name_key, mobile_key, no_mobile, no_name in (
        ("contact_name", "mobile", XL_CONTACT_WITHOUT_MOBILE, XL_MOBILE_WITHOUT_CONTACT),
        (
            "backup_contact_name",
            "backup_mobile",
            XL_BACKUP_CONTACT_WITHOUT_MOBILE,
            XL_BACKUP_MOBILE_WITHOUT_CONTACT,
        ),
    ):
        name_v, mobile_v = values.get(name_key), values.get(mobile_key)
        if name_v is _INVALID or mobile_v is _INVALID:
            continue  # already refused; do not pile a second reason on the same cell
        if name_v is not None and mobile_v is None:
            # Point at the missing column if the file has it, else at the one that is filled.
            refuse(mobile_key if mobile_key in header.columns else name_key, no_mobile)
        elif mobile_v is not None and name_v is None:
            refuse(name_key if name_key in header.columns else mobile_key, no_name)

    if issues:
        return issues
    return RosterRow(
        row=row_no,
        code=_str(values["code"]),
        name=_str(values["name"]),
        institution_type=_str(canonical["institution_type"]),
        level=_str(canonical["level"]),
        city=_str(canonical["city"]),
        contact_name=_opt(values.get("contact_name")),
        mobile=_opt(canonical.get("mobile")),
        credit_code=_opt(canonical.get("credit_code")),
        licence_no=_opt(values.get("licence_no")),
        licence_valid_to=_opt_date(values.get("licence_valid_to")),
        address=_opt(values.get("address")),
        backup_contact_name=_opt(values.get("backup_contact_name")),
        backup_mobile=_opt(canonical.get("backup_mobile")),
    )


def _blank(cell: object) -> bool:
    value = getattr(cell, "value", None)
    return value is None or (isinstance(value, str) and not value.strip())


def _str(value: object) -> str:
    assert isinstance(value, str)
    return value


def _opt(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _opt_date(value: object) -> date | None:
    return value if isinstance(value, date) else None


def summary_message(report: RosterReport) -> tuple[str, Mapping[str, object]]:
    """One message for the chat: the file-level refusal, or the counts."""
    for issue in report.issues:
        if issue.row == 0:
            return issue.message_id, issue.args
    return XL_IMPORT_SUMMARY, {
        "total": report.total_rows,
        "accepted": len(report.rows),
        "refused": report.refused_rows,
    }


# --------------------------------------------------------------------------------------------------
# Import report
# --------------------------------------------------------------------------------------------------
def write_import_report(report: RosterReport, render: Callable[[str, Mapping[str, object]], str]) -> bytes:
    """The refused rows with their reasons, rendered by the caller's translator."""
    columns = (
        Column(render(XL_REPORT_COL_ROW, {}), "row", "int", min_width=6),
        Column(render(XL_REPORT_COL_COLUMN, {}), "column", "text", min_width=10),
        Column(render(XL_REPORT_COL_PROBLEM, {}), "problem", "text", min_width=40),
    )
    rows = [
        {
            "row": issue.row or None,  # file-level problems have no row
            "column": issue.column,
            "problem": render(issue.message_id, {"row": issue.row, "column": issue.column or "", **issue.args}),
        }
        for issue in sorted(report.issues, key=lambda i: i.row)
    ]
    return write_workbook([Sheet(render(XL_REPORT_SHEET_TITLE, {}), columns, rows)])
