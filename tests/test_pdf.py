"""The generated PDFs render (not blank), carry their Chinese text, and fit the page.

Rendering is checked with poppler (pdftoppm, pdftotext). Without poppler these tests skip,
unless EQA_REQUIRE_TOOLS=1 (as in CI), where a missing tool is a failure.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4

from conversations.flows.journey import PDF_PLACEHOLDERS
from conversations.i18n import catalog
from storage import pdf as pdfmod
from storage.images import AGREEMENT_PDF_MARKER, precheck
from storage.pdf import (
    AgreementData,
    FontChoice,
    QrPayload,
    ReceiptData,
    agreement_boxes,
    cid_font,
    find_cjk_font,
    parse_qr_payload,
    qr_payload,
    render_agreement,
    render_receipt,
)
from tests.image_samples import draw_seal, jpeg
from tests.test_campaign import NOTICE_SPECIALTIES

SPECIALTIES = NOTICE_SPECIALTIES  # the notice's 16, in its order
BODY = [
    "为落实“先参评、后付费”的工作安排，经甲乙双方协商，就2025年度室间质量评价活动质评费用缓交事宜达成如下协议：",
    "一、甲方按照2025年度室间质量评价计划，向乙方提供所选专业的质控品、统计分析及结果反馈服务。",
    "二、因新的收费标准尚未批准，乙方本年度质评费用暂缓交纳；收费标准批准后，甲方另行通知，乙方应在规定期限内补交。",
    "三、本协议经乙方科室负责人签字并加盖单位公章后生效。",
]
TITLE = "2025年度室间质量评价活动质评费用缓交协议"
LAB_NAME = "郑州市第七人民医院检验科"


# The printed words as the bot passes them: the Chinese catalogue, placeholders left for the renderer.
LABELS = catalog().templates("zh", "pdf-", PDF_PLACEHOLDERS)


def agreement(**changes: object) -> AgreementData:
    values: dict[str, object] = {
        "centre": "河南省临床检验中心",
        "title": TITLE,
        "year": 2025,
        "lab_code": "HN0371-0007",
        "lab_name": LAB_NAME,
        "institution": "综合医院",
        "specialties": SPECIALTIES[:6],
        "body": BODY,
        "generated_on": date(2025, 2, 10),
        "document_id": "EQA2025-HN0371-0007",
    }
    values.setdefault("labels", LABELS)
    values.update(changes)
    return AgreementData(**values)  # type: ignore[arg-type]


def receipt(**changes: object) -> ReceiptData:
    values: dict[str, object] = {
        "centre": "河南省临床检验中心",
        "title": "2025年河南省临床检验室间质量评价申报回执",
        "year": 2025,
        "lab_code": "HN0371-0007",
        "lab_name": LAB_NAME,
        "submitted_at": datetime(2025, 2, 20, 6, 35, tzinfo=UTC),
        "revision": 2,
        "receipt_no": "R2025-000123",
        "sections": [
            (
                "本室信息",
                [
                    ("单位名称", LAB_NAME),
                    ("地址", "郑州市建设东路1号"),
                    ("电话", "0371-67966305"),
                    ("科室负责人", "李书杰"),
                ],
            ),
            ("开票信息", [("开票单位名称", "郑州市第七人民医院"), ("纳税人识别号", "124100004158005471")]),
            ("邮寄信息", [("收件人", "张愔"), ("手机", "13837123456"), ("邮编", "450052"), ("备注", "")]),
            ("参加专业", [("专业", "、".join(SPECIALTIES))]),
        ],
        "note": ["请保存本回执。审核结果将通过本机器人通知。", "如有疑问请致电 0371-67966305。"],
    }
    values.setdefault("labels", LABELS)
    values.update(changes)
    return ReceiptData(**values)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- poppler helpers


def require_poppler() -> None:
    """Skip when pdftoppm is absent, unless EQA_REQUIRE_TOOLS=1 (CI): then fail."""
    if shutil.which("pdftoppm") is None:
        if os.environ.get("EQA_REQUIRE_TOOLS") == "1":
            pytest.fail("pdftoppm (poppler-utils) is not installed but EQA_REQUIRE_TOOLS=1")
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    if shutil.which("pdftotext") is None:  # same package: a half-installed poppler is a real fault
        pytest.fail("pdftoppm is installed but pdftotext is not")


@pytest.fixture(scope="session")
def poppler() -> None:
    require_poppler()


def test_missing_poppler_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    monkeypatch.delenv("EQA_REQUIRE_TOOLS", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require_poppler()
    monkeypatch.setenv("EQA_REQUIRE_TOOLS", "1")
    with pytest.raises(pytest.fail.Exception):
        require_poppler()


def pages_as_images(pdf: bytes, tmp_path: Path, dpi: int = 50) -> list[Image.Image]:
    source = tmp_path / "doc.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(source), str(tmp_path / "page")], check=True)
    return [Image.open(p).convert("L") for p in sorted(tmp_path.glob("page*.png"))]


def ink_fraction(page: Image.Image) -> float:
    histogram = page.histogram()
    return sum(histogram[:200]) / (page.width * page.height)


def text_of(pdf: bytes, tmp_path: Path, *args: str) -> str:
    source = tmp_path / "text.pdf"
    source.write_bytes(pdf)
    return subprocess.run(["pdftotext", *args, str(source), "-"], check=True, capture_output=True, text=True).stdout


def squeeze(text: str) -> str:
    # CJK wrapping breaks lines anywhere; compare without whitespace.
    return "".join(text.split())


def embedded_fonts(pdf: bytes) -> dict[str, bool]:
    fonts: dict[str, bool] = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            descendants = font.get("/DescendantFonts")
            target = descendants[0].get_object() if descendants else font
            descriptor = target.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor else {}
            fonts[str(font["/BaseFont"])] = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
    return fonts


# --------------------------------------------------------------------------- agreement


@pytest.mark.usefixtures("poppler")
def test_agreement_renders_chinese(tmp_path: Path) -> None:
    pdf = render_agreement(agreement())
    assert pdf.startswith(b"%PDF")
    pages = pages_as_images(pdf, tmp_path)
    assert len(pages) == 1
    assert ink_fraction(pages[0]) > 0.03
    text = text_of(pdf, tmp_path)
    flat = squeeze(text)
    for needle in (
        LAB_NAME,
        TITLE,
        "科室负责人签字",
        "单位公章",
        "HN0371-0007",
        "EQA2025-HN0371-0007",
        "河南省临床检验中心",
        "综合医院",
        "临床微生物学",
        "PCR",
        "甲乙双方协商",
    ):
        assert needle in flat, needle


def test_agreement_embeds_its_font_and_marks_itself() -> None:
    font = find_cjk_font()
    pdf = render_agreement(agreement(), font=font)
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.metadata is not None
    assert reader.metadata.title == TITLE
    assert AGREEMENT_PDF_MARKER in str(reader.metadata.get("/Keywords"))
    if font.embedded:
        fonts = embedded_fonts(pdf)
        # reportlab's canvas declares Helvetica up front; no text uses it (a standard font anyway).
        fonts.pop("/Helvetica", None)
        assert fonts and all(fonts.values()), fonts


@pytest.mark.usefixtures("poppler")
def test_long_names_and_many_specialties_stay_on_the_page(tmp_path: Path) -> None:
    long_name = "河南省某某市某某县中医院（某某市中医药研究所附属医院·某某县中西医结合医院）医学检验科临床实验室"
    many = [f"{name}（第{i}组：含扩展项目及复检项目）" for i, name in enumerate(SPECIALTIES * 3, start=1)]
    pdf = render_agreement(agreement(lab_name=long_name, specialties=many, institution="民营医院" * 8))
    pages = pages_as_images(pdf, tmp_path)
    assert len(pages) >= 2
    bbox = text_of(pdf, tmp_path, "-bbox")
    page_width = float(re.search(r'<page width="([\d.]+)"', bbox).group(1))  # type: ignore[union-attr]
    right = max(float(x) for x in re.findall(r'xMax="([\d.]+)"', bbox))
    left = min(float(x) for x in re.findall(r'xMin="([\d.]+)"', bbox))
    margin = 20 * 72 / 25.4
    assert left >= margin - 2
    assert right <= page_width - margin + 2
    flat = squeeze(text_of(pdf, tmp_path))
    assert squeeze(long_name) in flat
    assert "临床输血相容性检测（第47组" in flat
    assert "科室负责人签字" in flat
    assert "第2页" in flat  # footer numbering on later pages


@pytest.mark.usefixtures("poppler")
def test_markup_characters_in_names_are_escaped(tmp_path: Path) -> None:
    name = "A&B <检验> 实验室"
    pdf = render_agreement(agreement(lab_name=name, specialties=[]))
    flat = squeeze(text_of(pdf, tmp_path))
    assert squeeze(name) in flat
    assert "（未选择专业）" in flat


def test_unsigned_download_is_recognised_by_the_precheck() -> None:
    result = precheck(render_agreement(agreement()), purpose="agreement")
    assert result.accepted and not result.looks_fine
    assert result.issues == ("pre-blank-agreement",)
    # For a licence upload the marker means nothing.
    assert precheck(render_agreement(agreement()), purpose="licence").issues == ()


@pytest.mark.usefixtures("poppler")
def test_printed_signed_and_stamped_agreement_passes_the_precheck(tmp_path: Path) -> None:
    # Print at 150 dpi (a scan), stamp a red seal in the seal box: the dashed guide circle and
    # the QR code must not confuse the checks.
    source = tmp_path / "a.pdf"
    source.write_bytes(render_agreement(agreement()))
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(source), str(tmp_path / "scan")], check=True)
    scan = Image.open(tmp_path / "scan.png").convert("RGB")
    unstamped = precheck(jpeg(scan), purpose="agreement")
    assert unstamped.accepted and unstamped.issues == ("pre-no-seal",)
    mm = 150 / 25.4
    # In the seal box, where agreement_boxes() says it is.
    left, top, right, bottom = agreement_boxes().seal.fractions(*A4)
    centre = (round((left + right) / 2 * scan.width), round((top + bottom) / 2 * scan.height))
    draw_seal(scan, centre, round(40 * mm))
    stamped = precheck(jpeg(scan), purpose="agreement")
    assert stamped.looks_fine, stamped


# --------------------------------------------------------------------------- the agreement as a form

FORM = {
    "organisation": "郑州市第七人民医院",
    "credit_code": "12410000415800547X",
    "address": "郑州市金水区建设东路1号",
    "head": "王建国",
}
# Chinese typesetting: these never begin a line.
NO_LINE_START = "，。、）》」』】；：！？,.;:!?)"


def words(pdf: bytes, tmp_path: Path) -> list[list[tuple[str, float, float, float, float]]]:
    """Per page, the words pdftotext finds with their boxes (points, origin top-left)."""
    bbox = text_of(pdf, tmp_path, "-bbox")
    pages = []
    for page in bbox.split("<page ")[1:]:
        pages.append(
            [
                (w, float(x0), float(y0), float(x1), float(y1))
                for x0, y0, x1, y1, w in re.findall(
                    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', page
                )
            ]
        )
    return pages


def inside(word: tuple[str, float, float, float, float], box: pdfmod.Box) -> bool:
    _, x0, y0, x1, y1 = word
    left, top, right, bottom = box.x, A4[1] - box.y - box.height, box.x + box.width, A4[1] - box.y
    return left - 1 <= x0 and x1 <= right + 1 and top - 1 <= y0 and y1 <= bottom + 1


def find(page: list[tuple[str, float, float, float, float]], needle: str) -> tuple[str, float, float, float, float]:
    hits = [w for w in page if w[0].startswith(needle)]
    assert hits, f"{needle!r} not on the page"
    return hits[0]


@pytest.mark.usefixtures("poppler")
@pytest.mark.parametrize("count", [2, 16])
def test_agreement_is_a_one_page_form_with_the_boxes_where_promised(tmp_path: Path, count: int) -> None:
    pdf = render_agreement(agreement(specialties=SPECIALTIES[:count], **FORM))
    assert len(pages_as_images(pdf, tmp_path, dpi=20)) == 1
    [page] = words(pdf, tmp_path)
    boxes = agreement_boxes()
    assert (boxes.page_width, boxes.page_height) == pytest.approx(A4)
    # The labels and the head's printed name sit inside the boxes agreement_boxes() gives.
    assert inside(find(page, "科室负责人签字："), boxes.signature)
    assert inside(find(page, "科室负责人：王建国"), boxes.signature)
    assert inside(find(page, "乙方单位公章"), boxes.seal)
    assert inside(find(page, "请在此处加盖单位公章"), boxes.seal)
    # 乙方 is the institution, the department beneath it; its credit code and address are on the form.
    party_b, department = find(page, "乙方（单位）"), find(page, "科室：")
    assert department[2] > party_b[2]
    flat = squeeze(text_of(pdf, tmp_path))
    assert "乙方（单位）：郑州市第七人民医院科室：" + LAB_NAME in flat
    assert "乙方（盖章）：郑州市第七人民医院" in flat
    for needle in ("12410000415800547X", "郑州市金水区建设东路1号", SPECIALTIES[count - 1]):
        assert needle in flat, needle
    # The generation date is printed, but above the text, nowhere near the signing block.
    generated = find(page, "生成日期")
    assert generated[4] < 150 and "2025-02-10" in flat
    top_of_block = A4[1] - (boxes.seal.y + boxes.seal.height)
    assert all(w[4] < top_of_block - 10 for w in page if "生成日期" in w[0])
    # Every page numbered "n of N" and the footer number printed.
    assert "第1页，共1页" in flat and "EQA2025-HN0371-0007" in flat


@pytest.mark.usefixtures("poppler")
def test_no_line_starts_with_closing_punctuation(tmp_path: Path) -> None:
    # Widths chosen so that, wrapped naively, a line would begin with "，" or "。".
    body = ["为落实先参评后付费的工作安排经甲乙双方协商就质评费用缓交事宜达成如下协议，" * 3 + "特此约定。" * 7] * 3
    pdf = render_agreement(agreement(body=body, specialties=SPECIALTIES, **FORM))
    for line in text_of(pdf, tmp_path).splitlines():
        line = line.strip()
        assert not line or line[0] not in NO_LINE_START, line


@pytest.mark.usefixtures("poppler")
def test_signing_block_moves_with_the_last_paragraph(tmp_path: Path) -> None:
    body = [
        f"第{i}条：" + "甲乙双方协商一致，就本年度室间质量评价活动质评费用缓交事宜约定如下。" * 3 for i in range(1, 9)
    ]
    body.append("最后一条：本协议经乙方科室负责人签字并加盖单位公章后生效。")
    pdf = render_agreement(agreement(body=body, specialties=SPECIALTIES, **FORM))
    pages = words(pdf, tmp_path)
    assert len(pages) == 2
    last = pages[-1]
    # The block is not alone: the last paragraph came with it, and the boxes are at the same place.
    assert find(last, "最后一条")
    assert inside(find(last, "科室负责人签字："), agreement_boxes().signature)
    assert inside(find(last, "乙方单位公章"), agreement_boxes().seal)
    assert not any(w[0] == "科室负责人签字：" for w in pages[0])
    assert "第2页，共2页" in squeeze(text_of(pdf, tmp_path))


def test_qr_payload_round_trips_and_refuses_strangers() -> None:
    ours = QrPayload("agreement", 2025, "HN|0371/7 号", "henan-2025-HN0371-0007", 1, 2)
    text = qr_payload(ours)
    assert text.startswith("EQA1|agreement|2025|") and text.endswith("|1/2") and text.count("|") == 5
    assert parse_qr_payload(text) == ours
    assert parse_qr_payload("EQA1|receipt|2025|HN0371-0007|2025-HN0371-0007-R2|1/1").document_no == (
        "2025-HN0371-0007-R2"
    )
    for bad in (
        "",
        "hello",
        "EQA1|agreement|2025|X|Y|3/2",
        "EQA1|letter|2025|X|Y|1/1",
        "EQA2|agreement|2025|X|Y|1/1",
        "EQA1|agreement|two|X|Y|1/1",
        "EQA1|agreement|2025|X|Y|1",
    ):
        with pytest.raises(ValueError):
            parse_qr_payload(bad)


@pytest.mark.usefixtures("poppler")
def test_each_page_carries_its_own_qr_code(tmp_path: Path) -> None:
    """The footer's QR code, read back from the rendered page module by module, is the document identity
    with that page's number."""
    body = [f"第{i}条：" + "甲乙双方协商一致，就质评费用缓交事宜约定如下。" * 4 for i in range(1, 10)]
    pdf = render_agreement(agreement(body=body, specialties=SPECIALTIES, **FORM))
    dpi = 300
    pages = pages_as_images(pdf, tmp_path, dpi=dpi)
    assert len(pages) == 2
    box = agreement_boxes().qr
    for number, image in enumerate(pages, start=1):
        expected = qr_payload(QrPayload("agreement", 2025, "HN0371-0007", "EQA2025-HN0371-0007", number, 2))
        matrix = pdfmod._qr_image(expected)  # the encoder's modules, quiet zone included
        side = matrix.width // pdfmod._QR_SCALE
        left, top, right, _ = box.fractions(*A4)
        x0, y0 = left * image.width, top * image.height
        cell = (right - left) * image.width / side
        for row in range(side):
            for col in range(side):
                printed = image.getpixel((int(x0 + (col + 0.5) * cell), int(y0 + (row + 0.5) * cell))) < 128
                wanted = matrix.getpixel((col * pdfmod._QR_SCALE, row * pdfmod._QR_SCALE)) == 0
                assert printed == wanted, (number, row, col)


# --------------------------------------------------------------------------- receipt


@pytest.mark.usefixtures("poppler")
def test_receipt_renders(tmp_path: Path) -> None:
    pdf = render_receipt(receipt())
    pages = pages_as_images(pdf, tmp_path)
    assert ink_fraction(pages[0]) > 0.02
    flat = squeeze(text_of(pdf, tmp_path))
    for needle in (
        "2025年河南省临床检验室间质量评价申报回执",
        "R2025-000123",
        LAB_NAME,
        "124100004158005471",
        "第2次提交",
        "临床输血相容性检测",
        "请保存本回执",
        "开票信息",
        "邮寄信息",
    ):
        assert needle in flat, needle
    # 06:35 UTC is 14:35 in Beijing.
    assert "2025-02-2014:35（北京时间）" in flat


@pytest.mark.usefixtures("poppler")
def test_receipt_naive_time_is_utc(tmp_path: Path) -> None:
    pdf = render_receipt(receipt(submitted_at=datetime(2025, 2, 24, 17, 0)))
    assert "2025-02-2501:00" in squeeze(text_of(pdf, tmp_path))


@pytest.mark.usefixtures("poppler")
def test_long_receipt_flows_over_pages(tmp_path: Path) -> None:
    sections = [(f"第{i}部分", [(f"项目{j}", "很长的内容" * 12) for j in range(8)]) for i in range(6)]
    pdf = render_receipt(receipt(sections=sections))
    assert len(pages_as_images(pdf, tmp_path)) >= 2
    assert "第5部分" in squeeze(text_of(pdf, tmp_path))


# --------------------------------------------------------------------------- fonts


@pytest.mark.usefixtures("poppler")
def test_stsong_fallback_renders_and_extracts(tmp_path: Path) -> None:
    font = cid_font()
    assert font == FontChoice(name="STSong-Light", path=None, subfont_index=0, embedded=False)
    pdf = render_agreement(agreement(), font=font)
    assert ink_fraction(pages_as_images(pdf, tmp_path)[0]) > 0.03
    flat = squeeze(text_of(pdf, tmp_path))
    for needle in (LAB_NAME, TITLE, "科室负责人签字"):
        assert needle in flat, needle
    assert not any(embedded_fonts(pdf).values())
    receipt_text = squeeze(text_of(render_receipt(receipt(), font=font), tmp_path))
    assert "R2025-000123" in receipt_text and LAB_NAME in receipt_text


def test_find_cjk_font_falls_back_to_stsong(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(pdfmod.FONT_ENV, raising=False)
    monkeypatch.setattr(pdfmod, "FONT_CANDIDATES", ("/nonexistent/font.ttc",))
    assert find_cjk_font() == cid_font()


def test_find_cjk_font_honours_explicit_path_and_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        find_cjk_font(str(tmp_path / "missing.ttf"))
    monkeypatch.setenv(pdfmod.FONT_ENV, str(tmp_path / "missing.ttf"))
    with pytest.raises(FileNotFoundError):
        find_cjk_font()
    not_a_font = tmp_path / "fake.ttf"
    not_a_font.write_bytes(b"not a font at all")
    with pytest.raises(ValueError):
        find_cjk_font(str(not_a_font))
    installed = next((p for p in pdfmod.FONT_CANDIDATES if Path(p).is_file()), None)
    if installed is None:
        pytest.skip("no TrueType CJK font installed")
    monkeypatch.setenv(pdfmod.FONT_ENV, installed)
    chosen = find_cjk_font()
    assert chosen.path == installed and chosen.embedded
    assert find_cjk_font(installed) == chosen


def test_the_printed_words_come_from_the_catalogue(poppler: None, tmp_path: Path) -> None:
    english = catalog().templates("en", "pdf-", PDF_PLACEHOLDERS)
    text = squeeze(text_of(render_agreement(agreement(labels=english)), tmp_path))
    for words in ("Headofdepartment(signature):", "officialseal:", "Page1of1", "PartyA:", "Specialties"):
        assert words in text
    assert "科室负责人签字：" not in text  # the label; the body may still name the signature
    text = squeeze(text_of(render_receipt(receipt(labels=english)), tmp_path))
    assert "Receiptno." in text and "(Beijingtime)" in text and "Page1" in text


@pytest.mark.usefixtures("poppler")
def test_receipt_never_ends_on_a_page_of_its_note_alone(tmp_path: Path) -> None:
    # Growing receipts cross the page break at every point of their end: the last page always holds more
    # than the note (the last section's end comes with it).
    seen_two_pages = False
    for rows in range(12, 30, 2):
        sections = [
            ("本室信息", [(f"项目{j}", "内容" * 6) for j in range(rows)]),
            ("上传资料", [("缓交协议", "1 份"), ("执业许可证", "本年上传")]),
        ]
        pdf = render_receipt(receipt(sections=sections))
        pages = words(pdf, tmp_path)
        seen_two_pages |= len(pages) > 1
        last = "".join(w[0] for w in pages[-1])
        assert "请保存本回执" in last and "本年上传" in last, rows
    assert seen_two_pages
