"""Roster import and Excel export (storage/roster_import.py, storage/xlsx_write.py): real files in, real files out."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import time
import uuid
import zipfile
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import openpyxl
import pytest
from fluent.runtime import FluentBundle, FluentResource
from fluent.syntax import FluentParser
from fluent.syntax import ast as fl
from fluent.syntax.visitor import Visitor as FluentVisitor
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.styles import Font

import storage.roster_import as xl
from storage.roster_import import RosterReport, RowIssue, read_roster, summary_message, write_import_report
from storage.xlsx_write import Column, Sheet, display_width, safe_text, write_workbook

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "conversations" / "locales"

# The caller's domain knowledge, as plain data (storage/ knows no campaign).
TYPES = {
    "综合医院": "general",
    "中医医院": "tcm",
    "妇幼保健院": "maternal_child",
    "血站": "blood_centre",
    "独立医学实验室": "independent_lab",
    "general": "general",
    "tcm": "tcm",
}
LEVELS = {
    "三级甲等": "3A",
    "三甲": "3A",
    "三级": "3",
    "二级甲等": "2A",
    "二甲": "2A",
    "二级": "2",
    "未定级": "none",
}
CITIES = ["郑州市", "开封市", "洛阳市", "平顶山市", "安阳市", "新乡市", "南阳市", "信阳市", "济源示范区"]
_MOBILE_RE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")


def check_mobile(raw: str) -> str | None:
    match = _MOBILE_RE.match(re.sub(r"[\s-]", "", raw))
    return match.group(1) if match else None


_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def check_credit_code(raw: str) -> str | None:
    # GB 32100-2015 check character; enough for tests (the project's validator is richer).
    if len(raw) != 18 or any(c not in _USCC_CHARS for c in raw):
        return None
    total = sum(_USCC_CHARS.index(c) * pow(3, i, 31) for i, c in enumerate(raw[:17]))
    return raw if _USCC_CHARS[(31 - total % 31) % 31] == raw[17] else None


def valid_uscc(body17: str) -> str:
    total = sum(_USCC_CHARS.index(c) * pow(3, i, 31) for i, c in enumerate(body17))
    return body17 + _USCC_CHARS[(31 - total % 31) % 31]


CREDIT = valid_uscc("91410100MA44XXXX1")  # 18 characters, letters and digits

HEADERS = ["实验室编码", "单位名称", "机构类型", "等级", "地市", "联系人", "手机"]


def xlsx(rows: Sequence[Sequence[object]], *, title: str = "名单") -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for row in rows:
        ws.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def read(data: bytes, **kwargs: object) -> RosterReport:
    options: dict[str, object] = {
        "institution_types": TYPES,
        "levels": LEVELS,
        "cities": CITIES,
        "check_mobile": check_mobile,
        "check_credit_code": check_credit_code,
    }
    options.update(kwargs)
    return read_roster(data, **options)  # type: ignore[arg-type]


def by_row(report: RosterReport) -> dict[int, list[tuple[str | None, str]]]:
    out: dict[int, list[tuple[str | None, str]]] = {}
    for issue in report.issues:
        out.setdefault(issue.row, []).append((issue.column, issue.message_id))
    return out


def file_issue(report: RosterReport) -> RowIssue:
    assert report.file_refused, report
    assert report.rows == ()
    assert len(report.issues) == 1
    return report.issues[0]


# --------------------------------------------------------------------------------------------------
# Import: good rows
# --------------------------------------------------------------------------------------------------
def test_accepts_rows_with_synonym_headers_and_normalises_values() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(
        [
            " Ｃｏｄｅ ",
            "*单位名称（必填）",
            "TYPE",
            "医院等级",
            "城市",
            "联系人姓名",
            "联系电话",
            "统一社会信用代码",
            "执业许可证登记号",
            "许可证有效期至",
            "地址",
            "备用联系人",
            "备用联系人手机",
            "备注",  # unknown headers are ignored
        ]
    )
    ws.append(
        [
            1234.0,
            " 郑州大学第一附属医院（河南省\n临床检验中心） ",
            "综合医院",
            "三甲",
            "郑州",
            "张三",
            13812345678,
            CREDIT.lower(),
            "PDY12345",
            datetime(2027, 12, 31),
            "郑州市建设东路1号",
            "李四",
            "+86 139-0000-0000",
            "随便写",
        ]
    )
    ws.append(
        [
            "００７７",
            "开封市中医院",
            "tcm",
            "二级甲等",
            "开封市",
            None,
            None,
            None,
            None,
            "2028/6/30",
            None,
            None,
            None,
        ]
    )
    ws.append([77, "南阳妇幼", "妇幼保健院", "二级", "南阳市", None, None, None, None, 20290101, None, None, None])
    ws["A4"].number_format = "000000"  # a lab code with leading zeros kept by the display format
    ws.append(
        [
            "S-01",
            "济源血站",
            "血站",
            "未定级",
            "济源示范区",
            None,
            None,
            None,
            None,
            "2030年1月2日 0:00",
            None,
            None,
            None,
        ]
    )
    buf = io.BytesIO()
    wb.save(buf)

    report = read(buf.getvalue())

    assert report.issues == ()
    assert report.total_rows == 4
    first, second, third, fourth = report.rows
    assert first.row == 2
    assert first.code == "1234"  # the float 1234.0 Excel stores for a typed number
    assert first.name == "郑州大学第一附属医院（河南省 临床检验中心）"  # full-width brackets kept
    assert (first.institution_type, first.level, first.city) == ("general", "3A", "郑州市")
    assert (first.contact_name, first.mobile) == ("张三", "13812345678")
    assert first.credit_code == CREDIT
    assert first.licence_no == "PDY12345"
    assert first.licence_valid_to == date(2027, 12, 31)
    assert first.address == "郑州市建设东路1号"
    assert (first.backup_contact_name, first.backup_mobile) == ("李四", "13900000000")
    assert second.code == "0077"  # full-width digits from a Chinese IME
    assert (second.institution_type, second.city) == ("tcm", "开封市")
    assert second.licence_valid_to == date(2028, 6, 30)
    assert (second.contact_name, second.mobile, second.credit_code) == (None, None, None)
    assert third.code == "000077"
    assert third.licence_valid_to == date(2029, 1, 1)
    assert (fourth.code, fourth.city, fourth.licence_valid_to) == ("S-01", "济源示范区", date(2030, 1, 2))
    assert summary_message(report) == ("xl-import-summary", {"total": 4, "accepted": 4, "refused": 0})


def test_headers_under_a_title_row_and_sheet_after_an_instructions_sheet() -> None:
    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "填写说明"
    notes.append(["请按模板填写，编码不要改动"])
    ws = wb.create_sheet("名单")
    ws.append(["2025年参评实验室名单"])
    ws.append(HEADERS)
    ws.append([None] * 7)  # fully empty rows are skipped silently
    ws.append(["A1", "洛阳市中心医院", "综合医院", "三级甲等", "洛阳", "王五", "13700000001"])
    ws.append(["", "  ", None, None, None, None, None])
    ws.append(["A2", "新乡医学院一附院", "综合医院", "三级甲等", "新乡", None, None])
    buf = io.BytesIO()
    wb.save(buf)

    report = read(buf.getvalue())

    assert report.issues == ()
    assert [r.row for r in report.rows] == [4, 6]  # real Excel row numbers
    assert report.total_rows == 2


# --------------------------------------------------------------------------------------------------
# Import: refusals, row by row
# --------------------------------------------------------------------------------------------------
def test_missing_required_columns_are_named_with_the_headers_found() -> None:
    report = read(
        xlsx(
            [
                ["编码", "名称", "等级", "联系人", "手机"],
                ["1", "某医院", "三甲", "张三", "13812345678"],
            ]
        )
    )

    issue = file_issue(report)
    assert issue.message_id == "xl-file-missing-columns"
    assert issue.row == 0
    assert "机构类型" in str(issue.args["missing"])
    assert "地市" in str(issue.args["missing"])
    assert "实验室编码" not in str(issue.args["missing"])
    assert issue.args["found"] == "编码, 名称, 等级, 联系人, 手机"
    assert issue.args["sheet"] == "名单"
    assert report.total_rows == 0


def test_two_headers_for_the_same_column_are_refused() -> None:
    report = read(
        xlsx(
            [
                [*HEADERS, "联系电话"],
                ["1", "x", "综合医院", "三甲", "郑州", "张三", "13812345678", "1"],
            ]
        )
    )
    issue = file_issue(report)
    assert issue.message_id == "xl-file-duplicate-column"
    assert issue.args == {"first": "手机", "second": "联系电话"}


def test_duplicate_codes_report_the_second_occurrence_and_name_the_first_row() -> None:
    report = read(
        xlsx(
            [
                HEADERS,
                ["41001", "甲医院", "综合医院", "三甲", "郑州", None, None],
                ["41002", "乙医院", "综合医院", "三甲", "郑州", None, None],
                [None] * 7,
                [41001, "丙医院", "综合医院", "三甲", "郑州", None, None],  # same code, typed as a number
                ["41002", "丁医院", "综合医院", "三甲", "火星", None, None],
            ]
        )
    )

    assert [r.row for r in report.rows] == [2, 3]
    assert by_row(report) == {
        5: [("实验室编码", "xl-duplicate-code")],
        6: [("实验室编码", "xl-duplicate-code"), ("地市", "xl-unknown-city")],
    }
    dup = report.issues[0]
    assert dup.args["first_row"] == 2
    assert dup.args["value"] == "41001"
    assert report.total_rows == 4
    assert report.refused_rows == 2


def test_wrong_cell_types_are_refused_with_the_reason() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([*HEADERS, "统一社会信用代码", "许可证有效期至"])
    ws.append([12.5, "甲医院", "综合医院", "三甲", "郑州", None, None, None, None])  # 2: decimal code
    ws.append(["B1", datetime(2024, 5, 1), "综合医院", "三甲", "郑州", None, None, None, None])  # 3: a date
    ws.append(["B2", "乙医院", True, "三甲", "郑州", None, None, None, None])  # 4: boolean type
    ws.append(["B3", "丙医院", "综合医院", "三甲", "#N/A", None, None, None, None])  # 5: error cell
    ws.append(["B4", "丁医院", "综合医院", "三甲", "郑州", None, None, 9.14101001234567e17, None])  # 6
    ws.append(["B5", "戊医院", "综合医院", "三甲", "郑州", None, None, None, "下个月"])  # 7: not a date
    ws.append(["B6", "己" * 101, "综合医院", "三甲", "郑州", None, None, None, "2027-02-30"])  # 8
    ws.append(["B7", "庚医院", "综合医院", "三甲", "郑州", None, None, None, None])  # 9: formula below
    ws["B9"] = '="庚"&"医院"'
    ws.append(["B8", "辛医院", "综合医院", "三甲", "郑州", None, None, "91410100MA44XXXX10", None])  # 10
    ws.append(["B9", "壬医院", "综合医院", "三甲", "郑州", clock_time(8, 30), None, None, None])  # 11: a time
    buf = io.BytesIO()
    wb.save(buf)

    report = read(buf.getvalue())

    assert report.rows == ()
    assert by_row(report) == {
        2: [("实验室编码", "xl-cell-decimal")],
        3: [("单位名称", "xl-cell-date")],
        4: [("机构类型", "xl-cell-bool")],
        5: [("地市", "xl-cell-error")],
        6: [("统一社会信用代码", "xl-cell-long-number")],
        7: [("许可证有效期至", "xl-invalid-date")],
        8: [("单位名称", "xl-too-long"), ("许可证有效期至", "xl-invalid-date")],
        9: [("单位名称", "xl-cell-formula")],  # no cached value: not mistaken for "missing"
        10: [("统一社会信用代码", "xl-invalid-credit-code")],
        11: [("联系人", "xl-cell-date")],  # not also "contact without mobile"
    }
    args: dict[int, Mapping[str, object]] = {}
    for issue in report.issues:
        args.setdefault(issue.row, issue.args)  # the first issue of each row
    assert args[2]["value"] == "12.5"
    assert args[6]["value"] == "914101001234567000"  # what Excel shows: the last digits are gone
    assert args[5]["value"] == "#N/A"
    assert args[8]["max"] == 100


def test_unknown_type_level_city_list_allowed_values() -> None:
    report = read(
        xlsx(
            [
                HEADERS,
                ["C1", "甲医院", "试剂公司", "特级", "北京", None, None],
                ["C2", "乙医院", "综合医院", "三甲", "郑州市 ", None, None],
            ]
        )
    )

    assert [r.row for r in report.rows] == [3]
    assert by_row(report) == {
        2: [("机构类型", "xl-unknown-type"), ("等级", "xl-unknown-level"), ("地市", "xl-unknown-city")]
    }
    t, lv, city = report.issues
    assert t.args["value"] == "试剂公司"
    # One spelling per canonical code, the first the caller listed.
    assert t.args["allowed"] == "综合医院, 中医医院, 妇幼保健院, 血站, 独立医学实验室"
    assert lv.args["allowed"] == "三级甲等, 三级, 二级甲等, 二级, 未定级"
    assert city.args["allowed"] == "郑州市, 开封市, 洛阳市, 平顶山市, 安阳市, 新乡市, 南阳市, 信阳市, …"


def test_missing_required_values_invalid_mobiles_and_half_filled_contacts() -> None:
    headers = [*HEADERS, "备用联系人", "备用联系人手机"]
    report = read(
        xlsx(
            [
                headers,
                ["D1", None, "综合医院", "三甲", "郑州", None, None, None, None],  # 2: no name
                [
                    "D2",
                    "乙医院",
                    "综合医院",
                    "三甲",
                    "郑州",
                    "张三",
                    "1381234567",
                    None,
                    None,
                ],  # 3: 10 digits
                [
                    "D3",
                    "丙医院",
                    "综合医院",
                    "三甲",
                    "郑州",
                    "张三",
                    None,
                    None,
                    None,
                ],  # 4: contact, no mobile
                [
                    "D4",
                    "丁医院",
                    "综合医院",
                    "三甲",
                    "郑州",
                    None,
                    "13812345678",
                    None,
                    None,
                ],  # 5: no contact
                ["D5", "戊医院", "综合医院", "三甲", "郑州", "张三", "13812345678", "李四", None],  # 6
                [
                    "D6",
                    "己医院",
                    "综合医院",
                    "三甲",
                    "郑州",
                    "张三",
                    "13812345678",
                    None,
                    "0371-6796630",
                ],  # 7
                [None, None, None, None, None, "张三", None, None, None],  # 8: a stray contact only
            ]
        )
    )

    assert report.rows == ()
    assert by_row(report) == {
        2: [("单位名称", "xl-required-missing")],
        3: [("手机", "xl-invalid-mobile")],
        4: [("手机", "xl-contact-without-mobile")],
        5: [("联系人", "xl-mobile-without-contact")],
        6: [("备用联系人手机", "xl-backup-contact-without-mobile")],
        7: [("备用联系人手机", "xl-invalid-mobile"), ("备用联系人", "xl-backup-mobile-without-contact")],
        8: [
            ("实验室编码", "xl-required-missing"),
            ("单位名称", "xl-required-missing"),
            ("机构类型", "xl-required-missing"),
            ("等级", "xl-required-missing"),
            ("地市", "xl-required-missing"),
            ("手机", "xl-contact-without-mobile"),
        ],
    }
    assert report.issues[1].args["value"] == "1381234567"


def test_contact_without_a_mobile_column_points_at_the_contact_column() -> None:
    report = read(xlsx([HEADERS[:6], ["E1", "甲医院", "综合医院", "三甲", "郑州", "张三"]]))
    assert by_row(report) == {2: [("联系人", "xl-contact-without-mobile")]}


def test_formula_with_a_cached_value_is_still_refused() -> None:
    # data_only=True would hand back the cached 1234; the cell is refused because it is a formula.
    data = xlsx([HEADERS, ["F1", "甲医院", "综合医院", "三甲", "郑州", "张三", "13812345678"]])
    patched = _rewrite_part(
        data,
        "xl/worksheets/sheet1.xml",
        lambda xml: re.sub(rb'<c r="A2"[^>]*>.*?</c>', b'<c r="A2"><f>1000+234</f><v>1234</v></c>', xml),
    )
    report = read(patched)
    assert by_row(report) == {2: [("实验室编码", "xl-cell-formula")]}


def test_formulas_outside_cells_are_not_mistaken_for_cell_formulas() -> None:
    # Excel keeps list-validation sources as <xm:f> in an extension after the sheet data.
    ext = (
        b'<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
        b'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
        b'<x14:dataValidations count="1" xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
        b'<x14:dataValidation type="list"><x14:formula1><xm:f>Lists!$A$1:$A$9</xm:f></x14:formula1>'
        b"<xm:sqref>C2:C9</xm:sqref></x14:dataValidation></x14:dataValidations></ext></extLst></worksheet>"
    )
    data = xlsx([HEADERS, ["F2", "甲医院", "综合医院", "三甲", "郑州", None, None]])
    patched = _rewrite_part(data, "xl/worksheets/sheet1.xml", lambda xml: xml.replace(b"</worksheet>", ext))
    report = read(patched)
    assert report.issues == ()
    assert [r.code for r in report.rows] == ["F2"]


def test_a_wrong_dimension_element_does_not_drop_rows() -> None:
    rows = [[f"W{i}", "甲医院", "综合医院", "三甲", "郑州", None, None] for i in range(3)]
    data = xlsx([HEADERS, *rows])
    patched = _rewrite_part(
        data,
        "xl/worksheets/sheet1.xml",
        lambda xml: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1"', xml),
    )
    assert b'<dimension ref="A1"' in zipfile.ZipFile(io.BytesIO(patched)).read("xl/worksheets/sheet1.xml")
    assert [r.code for r in read(patched).rows] == ["W0", "W1", "W2"]


def test_max_rows_is_a_file_level_refusal() -> None:
    rows = [[f"G{i}", "甲医院", "综合医院", "三甲", "郑州", None, None] for i in range(4)]
    assert file_issue(read(xlsx([HEADERS, *rows]), max_rows=3)).message_id == "xl-file-too-many-rows"
    assert read(xlsx([HEADERS, *rows]), max_rows=4).total_rows == 4


def test_headers_only_is_refused() -> None:
    issue = file_issue(read(xlsx([HEADERS, [None] * 7])))
    assert issue.message_id == "xl-file-no-data"


# --------------------------------------------------------------------------------------------------
# Import: files that are not a usable .xlsx
# --------------------------------------------------------------------------------------------------
CSV_TEXT = "实验室编码,单位名称,机构类型,等级,地市\n41001,郑州大学第一附属医院,综合医院,三甲,郑州\n"


@pytest.mark.parametrize(
    ("data", "message_id"),
    [
        (CSV_TEXT.encode("utf-8"), "xl-file-csv"),
        (CSV_TEXT.encode("utf-8-sig"), "xl-file-csv"),
        (CSV_TEXT.encode("gbk"), "xl-file-csv"),  # WPS on Chinese Windows
        (CSV_TEXT.replace(",", "\t").encode("utf-16"), "xl-file-csv"),  # Excel's "Unicode text"
        (b"<html><body><table><tr><td>41001</td></tr></table></body></html>", "xl-file-html"),
        (
            b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>',
            "xl-file-html",
        ),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + b"Workbook", "xl-file-xls"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "EncryptedPackage".encode("utf-16-le"),
            "xl-file-encrypted",
        ),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "xl-file-other-format"),
        (b"\x89PNG\r\n\x1a\n" + bytes(32), "xl-file-other-format"),
        (b"\x7fELF\x02\x01\x01\x00" + bytes(100), "xl-file-not-xlsx"),
        (b"", "xl-file-empty"),
        (b"  \n", "xl-file-empty"),
    ],
    ids=[
        "csv-utf8",
        "csv-bom",
        "csv-gbk",
        "txt-utf16",
        "html",
        "xml2003",
        "xls",
        "encrypted",
        "pdf",
        "png",
        "binary",
        "empty",
        "blank",
    ],
)
def test_files_that_are_not_xlsx_are_named(data: bytes, message_id: str) -> None:
    assert file_issue(read(data)).message_id == message_id


def test_csv_message_tells_how_to_fix_it() -> None:
    text = _bundle("zh").format_pattern(_bundle("zh").get_message("xl-file-csv").value, {})[0]
    assert "CSV" in text and ".xlsx" in text and "另存为" in text
    text = _bundle("en").format_pattern(_bundle("en").get_message("xl-file-csv").value, {})[0]
    assert "CSV" in text and "save it as" in text


def test_corrupt_and_foreign_zips() -> None:
    good = xlsx([HEADERS, ["1", "甲医院", "综合医院", "三甲", "郑州", None, None]])
    assert file_issue(read(good[: len(good) // 2])).message_id == "xl-file-corrupt"

    def zipped(files: Mapping[str, bytes]) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for name, content in files.items():
                zf.writestr(name, content)
        return buf.getvalue()

    docx = zipped({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"})
    ods = zipped({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"})
    xlsb = zipped({"[Content_Types].xml": b"<Types/>", "xl/workbook.bin": b"\x00"})
    other = zipped({"readme.txt": b"hello"})
    assert file_issue(read(docx)).args == {"format": "Word (.docx)"}
    assert file_issue(read(ods)).args == {"format": "ODS"}
    assert file_issue(read(xlsb)).args == {"format": "XLSB"}
    assert file_issue(read(other)).message_id == "xl-file-not-xlsx"
    # The parts are there but the workbook XML is garbage.
    broken = _rewrite_part(good, "xl/workbook.xml", lambda _: b"<workbook")
    assert file_issue(read(broken)).message_id == "xl-file-corrupt"


def test_workbook_without_worksheets() -> None:
    good = xlsx([HEADERS])
    empty = _rewrite_part(good, "xl/workbook.xml", lambda x: re.sub(rb"<sheets>.*</sheets>", b"<sheets/>", x))
    assert file_issue(read(empty)).message_id == "xl-file-no-sheets"


def test_zip_bomb_is_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xl, "MAX_UNCOMPRESSED_BYTES", 1000)
    data = xlsx([HEADERS, *[["1", "x" * 50, "综合医院", "三甲", "郑州", None, None]] * 50])
    assert file_issue(read(data)).message_id == "xl-file-too-large"


def _rewrite_part(data: bytes, part: str, change: object) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info)
            if info.filename == part:
                content = change(content)  # type: ignore[operator]
            dst.writestr(info.filename, content)
    return out.getvalue()


# --------------------------------------------------------------------------------------------------
# Import: volume
# --------------------------------------------------------------------------------------------------
def test_ten_thousand_rows_import_in_a_few_seconds(capsys: pytest.CaptureFixture[str]) -> None:
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("名单")
    ws.append([*HEADERS, "统一社会信用代码", "许可证有效期至", "地址"])
    cities = ["郑州", "开封市", "洛阳", "南阳市"]
    for i in range(10_000):
        ws.append(
            [
                f"{i:06d}",
                f"第{i}号医院",
                "综合医院",
                "三级甲等",
                cities[i % 4],
                f"联系人{i}",
                f"138{i:08d}",
                CREDIT,
                datetime(2028, 1, 1) + timedelta(days=i % 365),
                f"河南省某市某路{i}号",
            ]
        )
    buf = io.BytesIO()
    wb.save(buf)

    started = time.perf_counter()
    report = read(buf.getvalue())
    elapsed = time.perf_counter() - started

    with capsys.disabled():
        print(f"\n10,000-row roster imported in {elapsed:.2f} s")
    assert report.issues == ()
    assert len(report.rows) == report.total_rows == 10_000
    assert report.rows[-1].code == "009999"
    assert report.rows[-1].row == 10_001
    # About 2.5 s on a 2-core build box; the margin absorbs a loaded CI runner.
    assert elapsed < 8.0


# --------------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------------
SHANGHAI_MIDNIGHT_UTC = datetime(2025, 2, 24, 16, 30, tzinfo=UTC)  # 00:30 on the 25th in Henan

EXPORT_COLUMNS = [
    Column("实验室编码", "code"),
    Column("单位名称", "name"),
    Column("统一社会信用代码", "credit"),
    Column("手机", "mobile"),
    Column("备注", "note"),
    Column("提交时间", "submitted", "datetime"),
    Column("截止日期", "deadline", "date"),
    Column("专业数", "count", "int"),
    Column("已审核", "approved", "bool"),
]
EXPORT_ROWS = [
    {
        "code": "000123",
        "name": "郑州大学第一附属医院",
        "credit": "914101001234567890",  # 18 digits: a number would keep only 15
        "mobile": "13812345678",
        "note": "=1+1",
        "submitted": SHANGHAI_MIDNIGHT_UTC,
        "deadline": date(2025, 2, 25),
        "count": 16,
        "approved": True,
    },
    {
        "code": 41002,  # a non-string in a text column is still written as text
        "name": "开封\x07市中医院",  # a control character Excel cannot store
        "credit": None,
        "mobile": "+8613912345678",
        "note": "@SUM(A1:A2)",
        "submitted": None,
        "deadline": None,
        "count": "7",
        "approved": False,
    },
    {"code": "-1", "name": "\tTAB", "note": "\r\n=cmd|' /C calc'!A0", "count": 10**16},
]


def test_export_round_trip_types_and_safety() -> None:
    data = write_workbook([Sheet("报名/导出:2025[全部]*?", EXPORT_COLUMNS, iter(EXPORT_ROWS))])
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]

    assert ws.title == "报名_导出_2025_全部___"
    assert [c.value for c in ws[1]] == [c.header for c in EXPORT_COLUMNS]
    assert all(c.font.bold for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:I4"

    headers = [c.header for c in EXPORT_COLUMNS]
    row2 = dict(zip(headers, ws[2], strict=True))
    assert row2["实验室编码"].value == "000123" and row2["实验室编码"].data_type == "s"
    assert row2["统一社会信用代码"].value == "914101001234567890"
    assert row2["手机"].value == "13812345678" and row2["手机"].data_type == "s"
    assert row2["备注"].value == "'=1+1" and row2["备注"].data_type == "s"
    assert row2["提交时间"].value == datetime(2025, 2, 25, 0, 30)  # Asia/Shanghai, naive
    assert row2["提交时间"].is_date and "yyyy" in row2["提交时间"].number_format
    assert row2["截止日期"].value == datetime(2025, 2, 25)
    assert row2["截止日期"].number_format == "yyyy-mm-dd"
    assert row2["专业数"].value == 16 and row2["专业数"].data_type == "n"
    assert row2["已审核"].value is True

    row3 = {h: c.value for h, c in zip(headers, ws[3], strict=True)}
    assert row3["实验室编码"] == "41002"
    assert row3["单位名称"] == "开封市中医院"
    assert row3["统一社会信用代码"] is None
    assert row3["手机"] == "'+8613912345678"
    assert row3["备注"] == "'@SUM(A1:A2)"
    assert row3["专业数"] == 7
    assert row3["已审核"] is False

    row4 = {h: c.value for h, c in zip(headers, ws[4], strict=True)}
    assert row4["实验室编码"] == "'-1"
    assert row4["单位名称"] == "'\tTAB"
    assert str(row4["备注"]).startswith("'")
    assert row4["专业数"] == str(10**16)  # beyond 15 digits: kept exact as text

    # Nothing in the file is a formula.
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert b"<f>" not in zf.read("xl/worksheets/sheet1.xml")


def test_export_column_widths_count_wide_characters_and_are_capped() -> None:
    columns = [Column("A", "a"), Column("名称", "b"), Column("长", "c"), Column("窄", "d", min_width=12)]
    rows = [{"a": "abcd", "b": "河南省临床检验中心", "c": "x" * 500, "d": "1"}]
    ws = openpyxl.load_workbook(io.BytesIO(write_workbook([Sheet("s", columns, rows)]))).worksheets[0]
    assert ws.column_dimensions["A"].width == 6  # min_width
    assert ws.column_dimensions["B"].width == 9 * 2 + 2
    assert ws.column_dimensions["C"].width == 60
    assert ws.column_dimensions["D"].width == 12


def test_export_sheet_titles_are_unique_and_empty_sheets_still_have_a_header() -> None:
    long_title = "参评实验室名单" * 10
    data = write_workbook(
        [
            Sheet(long_title, [Column("编码", "c")], []),
            Sheet(long_title, [Column("编码", "c")], [], freeze_header=False),
            Sheet("", [Column("编码", "c")], [{"c": "1"}]),
        ]
    )
    wb = openpyxl.load_workbook(io.BytesIO(data))
    titles = wb.sheetnames
    assert titles[0] == long_title[:31]
    assert titles[1].endswith(" (2)") and len(titles[1]) <= 31
    assert titles[2] == "Sheet"
    assert wb.worksheets[0].auto_filter.ref == "A1:A1"
    assert wb.worksheets[1].freeze_panes is None


def test_export_refuses_naive_datetimes_and_empty_input() -> None:
    with pytest.raises(ValueError, match="naive"):
        write_workbook([Sheet("s", [Column("t", "t", "datetime")], [{"t": datetime(2025, 1, 1)}])])
    with pytest.raises(ValueError):
        write_workbook([])


def test_display_width() -> None:
    assert display_width("abc") == 3
    assert display_width("河南abc") == 7
    assert display_width("ＡＢ") == 4  # fullwidth
    assert display_width("短\n很长的一行") == 10


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(max_size=60), min_size=1, max_size=15))
def test_any_text_round_trips_as_safe_text(texts: list[str]) -> None:
    data = write_workbook([Sheet("t", [Column("v", "v")], [{"v": t} for t in texts])])
    ws = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    for text, (cell,) in zip(texts, ws.iter_rows(min_row=2, max_col=1), strict=True):
        expected = safe_text(text)
        got = cell.value
        if expected == "":
            assert got is None
            continue
        assert cell.data_type == "s"
        # XML turns a bare carriage return into a line feed; Excel sees the same.
        assert _lf(got) == _lf(expected)
        assert got[0] not in "=+-@\t\r"


def test_import_report_lists_refusals_with_rendered_reasons() -> None:
    report = read(
        xlsx(
            [
                HEADERS,
                ["H1", "甲医院", "综合医院", "三甲", "郑州", "张三", "13812345678"],
                ["H1", "乙医院", "综合医院", "三甲", "北京", None, None],
            ]
        )
    )
    render = _renderer("zh")
    wb = openpyxl.load_workbook(io.BytesIO(write_import_report(report, render)))
    ws = wb.worksheets[0]
    assert ws.title == "导入问题"
    assert [c.value for c in ws[1]] == ["行号", "列", "问题及修改方法"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    assert rows == [
        [
            3,
            "实验室编码",
            "第 3 行的实验室编码“H1”与第 2 行重复。每个编码只能出现一次，请核对后删除或改正其中一行。",
        ],
        [3, "地市", render("xl-unknown-city", report.issues[1].args)],
    ]
    assert "北京" in rows[1][2] and "郑州市" in rows[1][2]

    refused = read(b"a,b\n1,2\n")
    ws = openpyxl.load_workbook(io.BytesIO(write_import_report(refused, _renderer("en")))).worksheets[0]
    row_no, column, problem = (c.value for c in ws[2])
    assert row_no is None and column is None  # a file-level problem has no row or column
    assert "CSV" in problem


# --------------------------------------------------------------------------------------------------
# Message catalogues
# --------------------------------------------------------------------------------------------------
def _ftl(lang: str) -> fl.Resource:
    return FluentParser().parse((LOCALES / lang / "excel.ftl").read_text(encoding="utf-8"))


def _bundle(lang: str) -> FluentBundle:
    bundle = FluentBundle([lang], use_isolating=False)
    bundle.add_resource(FluentResource((LOCALES / lang / "excel.ftl").read_text(encoding="utf-8")))
    return bundle


def _renderer(lang: str):  # type: ignore[no-untyped-def]
    bundle = _bundle(lang)

    def render(message_id: str, args: Mapping[str, object]) -> str:
        text, errors = bundle.format_pattern(bundle.get_message(message_id).value, dict(args))
        assert not errors, (message_id, errors)
        return text

    return render


def _variables(node: object) -> set[str]:
    found: set[str] = set()

    class Visitor(FluentVisitor):
        def visit_VariableReference(self, ref: fl.VariableReference) -> None:
            found.add(ref.id.name)

    Visitor().visit(node)
    return found


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_catalogue_has_every_message_the_module_can_return(lang: str) -> None:
    resource = _ftl(lang)
    assert not [e for e in resource.body if isinstance(e, fl.Junk)], "syntax errors in excel.ftl"
    ids = {e.id.name for e in resource.body if isinstance(e, fl.Message)}
    assert all(i.startswith("xl-") for i in ids)
    assert ids >= xl.MESSAGE_IDS, sorted(xl.MESSAGE_IDS - ids)
    assert ids <= xl.MESSAGE_IDS, sorted(ids - xl.MESSAGE_IDS)  # nothing stale


def test_module_ids_are_all_declared() -> None:
    source = Path(xl.__file__).read_text(encoding="utf-8")
    literals = set(re.findall(r'"(xl-[a-z0-9-]+)"', source))
    assert literals == set(xl.MESSAGE_IDS)


def test_both_languages_use_the_same_variables() -> None:
    zh = {e.id.name: _variables(e) for e in _ftl("zh").body if isinstance(e, fl.Message)}
    en = {e.id.name: _variables(e) for e in _ftl("en").body if isinstance(e, fl.Message)}
    assert zh == en


def test_every_issue_from_the_tests_renders_without_errors() -> None:
    # A kitchen-sink roster plus the file-level cases; every argument a message uses must be supplied.
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([*HEADERS, "统一社会信用代码", "许可证有效期至", "备用联系人", "备用联系人手机"])
    ws.append([12.5, datetime(2024, 1, 1), True, "特级", "#DIV/0!", "张三", None, 1e17, "x", None, "1"])
    ws.append(["K", "甲" * 200, "试剂", "三甲", "火星", None, "1", "BAD", None, "李四", None])
    ws.append(["K", None, "综合医院", "三甲", "郑州", None, None, None, None, None, None])
    ws["B4"] = "=1"
    buf = io.BytesIO()
    wb.save(buf)
    reports = [
        read(buf.getvalue()),
        read(xlsx([["x"]])),
        read(xlsx([[*HEADERS, "手机号"]])),
        read(xlsx([HEADERS, *[["1", "a", "综合医院", "三甲", "郑州", None, None]] * 3]), max_rows=2),
        read(xlsx([HEADERS])),
        read(b"%PDF-1.4"),
    ]
    issues = [i for r in reports for i in r.issues]
    assert len({i.message_id for i in issues}) >= 20
    for lang in ("zh", "en"):
        render = _renderer(lang)
        for issue in issues:
            text = render(issue.message_id, issue.args)
            assert "{" not in text and text.strip()
        for report in reports:
            render(*summary_message(report))


# --------------------------------------------------------------------------------------------------
# LibreOffice: what another spreadsheet program makes of our files
# --------------------------------------------------------------------------------------------------
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
needs_soffice = pytest.mark.skipif(
    SOFFICE is None and os.environ.get("EQA_REQUIRE_TOOLS") != "1",
    reason="LibreOffice (soffice) is not installed; set EQA_REQUIRE_TOOLS=1 to make this a failure",
)


def _soffice_convert(src: Path, convert_to: str, outdir: Path) -> Path:
    assert SOFFICE is not None, "EQA_REQUIRE_TOOLS=1 but soffice is not installed"
    profile = Path("/tmp") / f"eqa-lo-{uuid.uuid4().hex}"  # own profile: parallel runs must not clash
    try:
        subprocess.run(
            [
                SOFFICE,
                f"-env:UserInstallation=file://{profile}",
                "--headless",
                "--norestore",
                "--convert-to",
                convert_to,
                "--outdir",
                str(outdir),
                str(src),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    extension = convert_to.split(":", 1)[0]
    out = outdir / f"{src.stem}.{extension}"
    assert out.exists(), f"LibreOffice produced no {out.name}"
    return out


@needs_soffice
def test_libreoffice_reads_the_export_as_intended(tmp_path: Path) -> None:
    src = tmp_path / "export.xlsx"
    src.write_bytes(write_workbook([Sheet("报名", EXPORT_COLUMNS, EXPORT_ROWS)]))

    out = _soffice_convert(src, "csv:Text - txt - csv (StarCalc):44,34,76", tmp_path / "csv")

    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    header, first, second = (
        rows[0],
        dict(zip(rows[0], rows[1], strict=True)),
        dict(zip(rows[0], rows[2], strict=True)),
    )
    assert header == [c.header for c in EXPORT_COLUMNS]
    assert first["统一社会信用代码"] == "914101001234567890"  # 18 digits intact, not 9.14E+17
    assert first["手机"] == "13812345678"
    assert first["实验室编码"] == "000123"  # leading zeros intact
    assert first["备注"] == "'=1+1"  # neutralised, not evaluated to 2
    assert first["单位名称"] == "郑州大学第一附属医院"
    assert first["提交时间"].startswith("2025-02-25 00:30")
    assert first["截止日期"] == "2025-02-25"
    assert first["专业数"] == "16"
    assert second["单位名称"] == "开封市中医院"
    assert second["备注"] == "'@SUM(A1:A2)"


@needs_soffice
def test_roster_saved_by_libreoffice_imports_and_its_formulas_are_refused(tmp_path: Path) -> None:
    # A workbook written by another program (shared strings, its own styles, cached formula values).
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([*HEADERS, "许可证有效期至"])
    ws.append(
        [
            "000123",
            "郑州大学第一附属医院",
            "综合医院",
            "三级甲等",
            "郑州",
            "张三",
            "13812345678",
            date(2027, 12, 31),
        ]
    )
    ws.append([41002, "开封市中医院", "中医医院", "二甲", "开封市", None, None, None])
    ws.append(["L3", "=B2", "综合医院", "三甲", "郑州", None, None, None])
    ws["A1"].font = Font(bold=True)
    src = tmp_path / "roster.xlsx"
    wb.save(src)

    out = _soffice_convert(src, "xlsx:Calc MS Excel 2007 XML", tmp_path / "lo")

    report = read(out.read_bytes())
    assert [(r.row, r.code, r.licence_valid_to) for r in report.rows] == [
        (2, "000123", date(2027, 12, 31)),
        (3, "41002", None),
    ]
    assert by_row(report) == {4: [("单位名称", "xl-cell-formula")]}
