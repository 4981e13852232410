"""Reading documents (storage.reading): the parts that need no OCR (payload, names, licence fields from
lines, the boxes of our own form, findings, catalogues), then a few real readings of generated photos
(tests/reading_samples.py) — a licence turned a quarter without EXIF, a blood-station licence upside down
with EXIF, a photo of something else, a 79-megapixel photo, and agreements of this and last year.

OCR takes a second or more a photo on two shared cores: the OCR tests read five photos in all.
"""

from __future__ import annotations

import io
import subprocess
import threading
import time
from datetime import date
from pathlib import Path

import pytest
from fluent.runtime import FluentBundle, FluentResource
from PIL import Image, ImageDraw

from storage.pdf import QrPayload, qr_payload
from storage.reading import MESSAGES, ReadingContext, _agreement_findings, _licence_findings, engine, read_document
from storage.reading.agreement import AgreementReading, inspect_boxes, page_from_qr
from storage.reading.engine import Line
from storage.reading.form import parse_payload, qr_symbol_corners
from storage.reading.licence import Field, LicenceReading, parse_licence
from storage.reading.text import institution_core, names_agree, normal_number
from tests import reading_samples as rs
from tests.catalogues import messages
from tests.conftest import require_tool
from tests.image_samples import draw_seal

ROOT = Path(__file__).resolve().parents[1]
SMALL = (2448, 1836)  # 4.5 MP photos: quicker to make than 8 MP ones, as hard to read
LOCALES = ROOT / "conversations" / "locales"

CTX = ReadingContext(
    campaign_id="henan-2025",
    year=2025,
    lab_code="HN0371-0007",
    lab_name="郑州市第七人民医院检验科",
    invoice_title="郑州市第七人民医院",
    deadline=date(2025, 2, 25),
    samples_from=date(2025, 3, 15),
    licence_types=("医疗机构执业许可证",),
    institution="综合医院",
    time_limit=90.0,  # the machine is shared: generous, so a slow moment is not a failure
)


def need_font() -> None:
    if not rs.available():
        require_tool("fc-list")  # fails under EQA_REQUIRE_TOOLS=1, skips locally
        pytest.skip("WenQuanYi font not installed")


# -- the payload and the form ------------------------------------------------------------------------------
def test_payload_of_our_qr_code() -> None:
    code = qr_payload(QrPayload("agreement", 2025, "HN0371-0007", "henan-2025-HN0371-0007", 2, 3))
    p = parse_payload(code)
    assert p is not None
    assert (p.document_id, p.campaign_id, p.year, p.lab_code) == ("henan-2025-HN0371-0007", "henan-2025", 2025,
                                                                  "HN0371-0007")  # fmt: skip
    assert (p.page, p.pages) == (2, 3)
    # The printed number alone (read by OCR) names the document, without a page.
    printed = parse_payload("henan-2025-HN0371-0007")
    assert printed is not None and (printed.campaign_id, printed.lab_code, printed.page) == ("henan-2025",
                                                                                             "HN0371-0007", None)  # fmt: skip
    # A receipt's code is ours but not an agreement.
    assert parse_payload(qr_payload(QrPayload("receipt", 2025, "HN0371-0007", "R-1", 1, 1))) is None
    assert parse_payload("https://example.com/x") is None
    assert parse_payload("") is None


def test_the_form_positions_match_the_pdf_we_generate() -> None:
    """The QR symbol is where storage.reading.form says (so the boxes located from it are too)."""
    require_tool("pdftoppm")
    need_font()
    pdf = rs.agreement_pdf(2025, "HN0371-0007", "郑州市第七人民医院检验科")
    png = subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", "-"], input=pdf,
                         capture_output=True, check=True).stdout  # fmt: skip
    page = Image.open(io.BytesIO(png)).convert("RGB")
    found = engine.decode_qr(page)
    assert len(found) == 1
    read = parse_payload(found[0][0])
    assert read is not None and (read.document_id, read.page) == ("henan-2025-HN0371-0007", 1)
    expected = qr_symbol_corners(found[0][0])
    for (x, y), (u, v) in zip(found[0][1], expected, strict=True):
        assert abs(x / page.width - u) * 210 < 0.6 and abs(y / page.height - v) * 297 < 0.6  # mm


def test_signature_and_seal_boxes_on_a_clean_page() -> None:
    require_tool("pdftoppm")
    need_font()
    pdf = rs.agreement_pdf(2025, "HN0371-0007", "郑州市第七人民医院检验科")
    png = subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", "-"], input=pdf,
                         capture_output=True, check=True).stdout  # fmt: skip
    blank = Image.open(io.BytesIO(png)).convert("RGB")
    (text, corners), *_ = engine.decode_qr(blank)
    page = page_from_qr(text, corners)
    assert inspect_boxes(blank, page)[:2] == (False, False)
    signed = blank.copy()
    px = signed.width / 210
    ImageDraw.Draw(signed).line([(50 * px, 230 * px), (70 * px, 226 * px), (85 * px, 232 * px)], fill=(20, 30, 110),
                                width=4)  # fmt: skip
    draw_seal(signed, (round(146 * px), round(236 * px)), round(42 * px))
    assert inspect_boxes(signed, page)[:2] == (True, True)
    # A seal stamped over the text above the boxes is not in the box.
    astray = blank.copy()
    draw_seal(astray, (round(150 * px), round(120 * px)), round(42 * px))
    assert inspect_boxes(astray, page)[1] is False


# -- names and numbers ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("read", "typed", "agree"),
    [
        ("郑州市第七人民医院", "郑州市第七人民医院", True),
        ("郑州市第七人民医院", "郑州市 第七人民医院（检验科）", True),  # spaces, brackets
        ("ＸＸ市中心医院", "XX市中心医院", True),  # full width
        ("河南省郑州市第七人民医院", "郑州市第七人民医院", True),  # province prefix
        ("第七人民医院", "郑州市第七人民医院检验科", True),  # city prefix, department
        ("郑州市第七人民医陀", "郑州市第七人民医院", True),  # one misread character
        ("郑州大学第一附属医院", "郑州大学第二附属医院", False),  # another institution
        ("郑州市中心医院东院区", "郑州市中心医院西院区", False),  # another branch
        ("洛阳市中医院", "郑州市第七人民医院", False),
        ("洛阳市中心医院", "郑州市中心医院", False),  # the same name in another city
        ("", "郑州市第七人民医院", False),
    ],
)
def test_names_agree(read: str, typed: str, agree: bool) -> None:
    assert names_agree(read, typed) is agree


def test_normalisation() -> None:
    assert institution_core("河南省郑州市第七人民医院检验科") == "第七人民医院"
    assert normal_number(" 4170 5023-X4101O311A1001 ") == "41705023X41010311A1001"


# -- licence fields from lines (no OCR) ---------------------------------------------------------------------
def _line(text: str, x: float, y: float, w: float = 200, h: float = 30, score: float = 0.99) -> Line:
    return Line(text, score, ((x, y), (x + w, y), (x + w, y + h), (x, y + h)))


def test_licence_fields_from_label_and_value_rows() -> None:
    lines = [
        _line("医 疗 机 构 执 业 许 可 证", 300, 40, 600, 60),
        _line("机构名称", 100, 200),
        _line("郑州市第七人民医院", 400, 204, 400),
        _line("登记号", 100, 300),
        _line("41705023X41010311A1001", 400, 298, 400),
        _line("有效期限：", 100, 400),
        _line("自2020年6月1日至2025年5月31日", 400, 402, 500),
        _line("发证机关（章）：", 700, 600),
        _line("郑州市卫生健康委员会", 700, 650, 300),
    ]
    r = parse_licence(lines)
    assert r.text_found
    assert r.licence_type.value == "医疗机构执业许可证"
    assert r.name.value == "郑州市第七人民医院"
    assert r.number.value == "41705023X41010311A1001"
    assert (r.valid_from.value, r.valid_to.value) == ("2020-06-01", "2025-05-31")
    assert r.authority.value == "郑州市卫生健康委员会"  # the value on the row below its label


def test_licence_fields_in_one_line_and_a_missing_number_label() -> None:
    lines = [
        _line("血站执业许可证", 300, 40, 500, 60),
        _line("血站名称：洛阳市中心血站", 100, 200, 600),
        _line("XZ4131916751712390", 400, 300, 400, score=0.97),  # its label was not read
        _line("有效期限：自2019.03.01至2024.02.29", 100, 400, 600),
    ]
    r = parse_licence(lines)
    assert (r.licence_type.value, r.name.value, r.number.value) == (
        "血站执业许可证",
        "洛阳市中心血站",
        "XZ4131916751712390",
    )
    assert r.valid_to.value == "2024-02-29" and r.authority.value is None


def test_something_else_has_no_licence_text() -> None:
    r = parse_licence([_line("超市购物小票", 100, 100), _line("合计 35.50 元", 100, 200)])
    assert not r.text_found


# -- findings -------------------------------------------------------------------------------------------------
def _licence(valid_to: str = "2028-05-31", name: str = "郑州市第七人民医院", kind: str = "医疗机构执业许可证",
             confidence: float = 0.99) -> LicenceReading:  # fmt: skip
    return LicenceReading(True, Field(kind, confidence), Field(name, confidence), Field("41705023X41010311A1001", 0.99),
                          Field("2023-06-01", confidence), Field(valid_to, confidence), Field("郑州市卫生健康委员会", 0.99))  # fmt: skip


def test_licence_findings() -> None:
    assert _licence_findings(_licence(), CTX) == []
    (expired,) = _licence_findings(_licence(valid_to="2025-01-31"), CTX)
    assert (expired.code, expired.severity, expired.args) == ("read-licence-expired", "warn", {"until": "2025-01-31"})
    (soon,) = _licence_findings(_licence(valid_to="2025-03-01"), CTX)
    assert soon.code == "read-licence-expires-before-samples" and soon.args["samples"] == "2025-03-15"
    (other,) = _licence_findings(_licence(name="洛阳市中医院"), CTX)
    assert other.code == "read-licence-name" and other.args == {"name": "洛阳市中医院", "title": "郑州市第七人民医院"}
    assert [f.code for f in _licence_findings(_licence(kind="血站执业许可证"), CTX)] == ["read-licence-type"]
    # A name read with little confidence is not held against the lab.
    assert _licence_findings(_licence(name="洛阳市中医院", confidence=0.3), CTX) == []
    assert [f.code for f in _licence_findings(LicenceReading(False, *(Field(None, 0.0),) * 6), CTX)] == [
        "read-no-licence"
    ]


def _agreement(source: str | None = "qr", year: int = 2025, code: str = "HN0371-0007", confidence: float = 1.0,
               signature: bool | None = True, seal: bool | None = True) -> AgreementReading:  # fmt: skip
    return AgreementReading(source, f"henan-{year}-{code}", f"henan-{year}", year, code, None, None, confidence,
                            signature, seal, None, None)  # fmt: skip


def test_agreement_findings_refuse_only_another_year_or_lab() -> None:
    assert _agreement_findings(_agreement(), CTX) == []
    (year,) = _agreement_findings(_agreement(year=2024), CTX)
    assert (year.code, year.severity, year.args) == ("read-agreement-year", "refuse", {"year": 2024, "expected": 2025})
    (lab,) = _agreement_findings(_agreement(code="HN0001"), CTX)
    assert (lab.code, lab.severity) == ("read-agreement-lab", "refuse")
    # A number read by OCR with doubt only warns: one misread digit must not turn a good agreement away.
    (doubt,) = _agreement_findings(_agreement(source="text", year=2024, confidence=0.7), CTX)
    assert doubt.severity == "warn"
    codes = [f.code for f in _agreement_findings(_agreement(signature=False, seal=False), CTX)]
    assert codes == ["read-no-signature", "read-seal-not-in-box"]
    # Boxes not found on the page (None) are not a missing signature.
    assert _agreement_findings(_agreement(signature=None, seal=None), CTX) == []
    assert [f.code for f in _agreement_findings(_agreement(source=None), CTX)] == ["read-agreement-unidentified"]


# -- catalogues -----------------------------------------------------------------------------------------------
def test_reading_catalogues() -> None:
    zh, en = messages("zh", "reading.ftl"), messages("en", "reading.ftl")
    assert zh == en
    for code, args in MESSAGES.items():
        assert zh.get(code) == set(args), code
    import re

    used = set(re.findall(r"\"(rdr-[a-z-]+)\"", (ROOT / "handlers" / "review_reading.py").read_text(encoding="utf-8")))
    used |= {f"rdr-f-{k}" for k in ("type", "name", "number", "validity", "authority")}
    assert used <= set(zh), used - set(zh)
    for lang in ("zh", "en"):
        bundle = FluentBundle([lang], use_isolating=False)
        bundle.add_resource(FluentResource((LOCALES / lang / "reading.ftl").read_text(encoding="utf-8")))
        for key, names in messages(lang, "reading.ftl").items():
            message = bundle.get_message(key)
            assert message.value is not None
            _, errors = bundle.format_pattern(message.value, dict.fromkeys(names, "x"))
            assert not errors, (key, errors)


# -- real readings (OCR) --------------------------------------------------------------------------------------
def test_a_licence_photo_turned_a_quarter_without_exif_is_read() -> None:
    need_font()
    sample = rs.licence_sample(1003, "landscape", quarter=90, exif=False, quality=70, size=SMALL)
    truth = sample.truth
    result = read_document("licence", sample.data, CTX)
    assert result.status == "read", result.error
    r = result.licence
    assert r is not None
    assert r.licence_type.value == truth.licence_type
    assert r.name.value == truth.name
    assert r.number.value == truth.number
    assert (r.valid_from.value, r.valid_to.value) == (truth.valid_from, truth.valid_to)
    assert r.authority.value == truth.authority
    assert r.name.confidence > 0.8


def test_a_blood_station_licence_upside_down_with_exif() -> None:
    need_font()
    sample = rs.licence_sample(1010, "blood", quarter=180, exif=True, quality=60, size=SMALL)
    result = read_document("licence", sample.data, CTX)
    r = result.licence
    assert r is not None
    assert (r.licence_type.value, r.name.value, r.valid_to.value) == (
        "血站执业许可证",
        sample.truth.name,
        sample.truth.valid_to,
    )
    codes = {f.code for f in result.findings}
    assert "read-licence-type" in codes  # a blood station's licence for a general hospital


def test_a_photo_of_something_else_is_no_licence() -> None:
    cat = Image.new("RGB", (1600, 1200), (150, 120, 90))
    d = ImageDraw.Draw(cat)
    d.ellipse((400, 300, 1200, 1000), fill=(90, 70, 50))
    d.ellipse((550, 450, 650, 550), fill=(30, 160, 40))
    out = io.BytesIO()
    cat.save(out, "JPEG", quality=80)
    result = read_document("licence", out.getvalue(), CTX)
    assert result.status == "read"
    assert [f.code for f in result.findings] == ["read-no-licence"]


def test_a_79_megapixel_photo_is_read_from_a_reduced_copy() -> None:
    big = Image.new("L", (10240, 7700), 235)
    out = io.BytesIO()
    big.save(out, "JPEG", quality=60)
    del big
    data = out.getvalue()
    started = time.monotonic()
    (picture,) = engine.load_pictures(data, long_side=1600)
    assert max(picture.image.size) <= 1600
    # The JPEG decoder itself reduced it: far quicker than a full 79-MP decode and resize.
    assert time.monotonic() - started < 20
    assert read_document("licence", data, CTX).findings[0].code == "read-no-licence"


def test_agreements_of_this_year_and_last_year() -> None:
    require_tool("pdftoppm")
    need_font()
    good = rs.agreement_sample(7001, variant="good", quarter=270, exif=False, quality=75, size=SMALL)
    result = read_document("agreement", good.data, CTX)
    assert result.agreement is not None and result.agreement.document_id == "henan-2025-HN0371-0007"
    assert result.agreement.signature is True and result.agreement.seal is True
    assert result.findings == ()
    unsigned = rs.agreement_sample(7002, variant="unsigned", quarter=0, quality=60, size=SMALL)
    assert [f.code for f in read_document("agreement", unsigned.data, CTX).findings] == ["read-no-signature"]
    old = rs.agreement_sample(7003, variant="other-year", quarter=180, exif=True, quality=80, size=SMALL)
    refusal = read_document("agreement", old.data, CTX).refusal
    assert refusal is not None and refusal.code == "read-agreement-year" and refusal.args["year"] == 2024


def test_a_reading_that_cannot_start_in_time_is_not_read() -> None:
    release = threading.Event()
    held = threading.Event()

    def hold() -> None:
        with engine.reading_slot(5):
            held.set()
            release.wait(10)

    worker = threading.Thread(target=hold)
    worker.start()
    held.wait(5)
    try:
        quick = ReadingContext(**{**CTX.__dict__, "time_limit": 0.2})
        result = read_document("licence", b"\xff\xd8 anything", quick)
    finally:
        release.set()
        worker.join()
    assert (result.status, result.error, result.findings) == ("not-read", "timeout", ())


def test_unreadable_input_is_not_read_and_never_raises() -> None:
    result = read_document("agreement", b"not an image at all", CTX)
    assert result.status == "not-read" and result.error
