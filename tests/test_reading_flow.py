"""Reading at upload, end to end on the core: a lab uploads last year's agreement (refused, named as such),
its own signed agreement (accepted), and a licence that expires before the samples go out (a warning it
may override); the reviewer's card shows the fields read beside what the lab typed, the mismatch first.
Also: with reading off, nothing is read and the upload goes on as before."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from bot.app import App
from bot.settings import Settings
from conversations.events import SendDocument
from storage.models import Document
from tests import reading_samples as rs
from tests.conftest import require_tool
from tests.factories import bind, make_lab
from tests.harness import Person, Transcript, texts
from tests.test_journey import walk_checklist, walk_plan

REVIEW_CHAT = "review-chat"
LAB_NAME = "郑州市第一人民医院检验科"


async def _documents(app: App) -> list[Document]:
    async with app.db.reading() as s:
        return list(await s.scalars(select(Document).order_by(Document.id)))


def test_reading_can_be_turned_off() -> None:
    assert Settings(_env_file=None, EQA_READING="off").reading is False
    assert Settings(_env_file=None, EQA_READING="on").reading is True


async def test_expired_licence_and_wrong_year_agreement_are_flagged(app: App, transcript: Transcript) -> None:
    require_tool("pdftoppm")
    if not rs.available():
        require_tool("fc-list")
        pytest.skip("WenQuanYi font not installed")
    app.services.reading = True
    app.services.reading_timeout = 90.0  # a shared machine: slow is not a failure here
    # The shipped notice gives no dispatch date; a campaign that does makes the licence rule stricter.
    app.services.campaign = app.services.campaign.model_copy(update={"samples_from": date(2025, 3, 15)})
    lab_id = await make_lab(app)
    person = Person(transcript, "reader", name="王检验")
    await bind(app, person, lab_id)
    await person.send("/start")
    await walk_checklist(person)
    await walk_plan(person)

    out = await person.press("下载缓交协议")
    (pdf_message,) = [a for a in out if isinstance(a, SendDocument)]
    pdf = app.services.store.get(pdf_message.file.stored or "")
    await person.press("上传签字盖章的协议")

    # Last year's agreement, signed and stamped: refused, and said why.
    old = rs.signed_photo(rs.agreement_pdf(2024, "HN0001", LAB_NAME), seed=11)
    out = await person.send_file(old, name="协议.jpg")
    assert "❌ 这是 2024 年的协议，请下载 2025 年协议" in texts(out), texts(out)
    assert await _documents(app) == []

    # Its own agreement: accepted as it is.
    out = await person.send_file(rs.signed_photo(pdf, seed=12), name="协议.jpg")
    assert "✅" in texts(out) and "❌" not in texts(out), texts(out)
    (agreement,) = await _documents(app)
    assert agreement.reading is not None
    assert agreement.reading["agreement"]["document_id"] == "henan-2025-HN0001"
    assert agreement.reading["agreement"]["signature"] is True
    await person.press("缓交协议已传完")

    # A licence valid only until 1 March 2025: the samples go out on 15 March.
    licence = rs.licence_sample(
        21, "landscape", name="郑州市第一人民医院", validity=(date(2020, 3, 2), date(2025, 3, 1)),
        size=(2448, 1836), quarter=0, quality=80,
    )  # fmt: skip
    await person.press("上传执业许可证")
    out = await person.send_file(licence.data, name="licence.jpg", kind="photo")
    said = texts(out)
    assert "⚠️" in said
    assert "照片上的许可证有效期至 2025年3月1日，样品发放（2025年3月15日）前将过期，请上传换发后的许可证" in said, said
    assert "不一致" not in said  # the name on it is the invoice title
    # Advice, not a wall: the lab goes on with what is on file.
    await person.press("执业许可证已传完")
    await person.press("没有变化")
    out = await person.press("提交审核")
    assert "已提交！" in texts(out), texts(out)

    card = next(m.text for m in reversed(transcript.chats[REVIEW_CHAT]) if "许可证识别" in m.text)
    lines = card.splitlines()
    head = lines.index("许可证识别（1）：")
    fields = lines[head + 1 : head + 6]
    # Mismatches first (the validity, and the number: the lab's record has another), then what agrees.
    marks = [line.split()[0] for line in fields]
    assert marks == sorted(marks, key=lambda m: m != "⚠️") and marks.count("⚠️") == 2, fields
    validity = next(line for line in fields if "有效期" in line)
    assert validity.startswith("  ⚠️ 有效期：2020-03-02 至 2025-03-01（"), validity
    assert validity.endswith("· 填写：2020-05-01 至 2027-04-30")
    assert any(line.startswith("  ⚠️ 登记号：") and line.endswith("· 填写：41010219900001") for line in fields)
    assert "  ✅ 名称：郑州市第一人民医院（" in card
    assert "  ✅ 类型：医疗机构执业许可证（" in card
    # Identified by its QR code or, where the photo is too small for it, by the printed number.
    agreement_line = next(line for line in lines if "协议识别（1）" in line)
    assert agreement_line.startswith("✅ 协议识别（1）：") and "henan-2025-HN0001" in agreement_line
    assert agreement_line.endswith("签字✅ · 公章✅"), agreement_line


async def test_with_reading_off_nothing_is_read(app: App, transcript: Transcript) -> None:
    assert app.services.reading is False  # tests/conftest.py sets EQA_READING=off
    lab_id = await make_lab(app)
    person = Person(transcript, "plain", name="王检验")
    await bind(app, person, lab_id)
    await person.send("/start")
    await walk_checklist(person)
    await walk_plan(person)
    await person.press("上传签字盖章的协议")
    from tests.test_journey import AGREEMENT

    out = await person.send_file(AGREEMENT, name="协议.jpg")
    assert "✅" in texts(out)
    (doc,) = await _documents(app)
    assert doc.reading is None
