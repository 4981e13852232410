"""A lab's whole registration through Telegram, once per transport: binding by deep link, the checklist,
the plan, the agreement as an album of photos and the licence as a file, submission with its receipt, the
alert in the reviewers' group, and the reviewer's decision pushed back to the lab."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import pytest
from sqlalchemy import select

from storage.models import Document, Enrollment, OutboxMessage
from storage.repos.bindings import issue
from tests import image_samples as samples
from tests.e2e.conftest import ADMIN_ID, REVIEW_CHAT_ID, RunningBot, user
from tests.factories import make_lab
from tests.fake_telegram import BotMessage, FakeTelegram, FakeUser

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.timeout(60)]

AGREEMENT = samples.jpeg(samples.document(seal=True))
AGREEMENT_PAGE_2 = samples.jpeg(samples.document(seal=True, seed=2))
LICENCE = samples.jpeg(samples.document(seal=False, seed=3))


async def settled(bot: RunningBot, timeout: float = 10) -> None:
    """Everything the bot had to say has gone out (nothing waits in the outbox)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        async with bot.app.db.reading() as s:
            waiting = await s.scalar(select(OutboxMessage.id).where(OutboxMessage.status.in_(("pending", "claimed"))))
        if waiting is None and not bot.tg.pending_updates():
            return
        assert loop.time() < deadline, "the bot did not settle"
        await asyncio.sleep(0.02)


async def act(bot: RunningBot, u: FakeUser, action: Awaitable[object]) -> BotMessage:
    """Do something, wait for the bot's answer and for it to finish talking; the newest message then."""
    await action
    await u.wait_for_message(timeout=10)
    await settled(bot)
    last = u.last_message
    assert last is not None
    return last


async def press(bot: RunningBot, u: FakeUser, label: str) -> BotMessage:
    return await act(bot, u, u.press(label, substring=True))


async def send(bot: RunningBot, u: FakeUser, text: str) -> BotMessage:
    return await act(bot, u, u.send_text(text))


async def test_a_lab_registers_and_the_reviewer_s_decision_reaches_it(bot: RunningBot, tg: FakeTelegram) -> None:
    app = bot.app
    lab_id = await make_lab(app)
    async with app.db.transaction() as s:
        code = await issue(s, lab_id, now=app.services.clock.now(), created_by="e2e")
    contact = user(tg, 8001, "王检验")

    # Binding by the deep link the centre sends (t.me/<bot>?start=HN0001_<code>).
    welcome = await act(bot, contact, contact.send_command("start", f"HN0001_{code}"))
    assert "HN0001" in welcome.text

    # Step 1: last year's tests.
    assert "第一步" in (await press(bot, contact, "继续申报")).text
    await press(bot, contact, "临床常规化学")
    await press(bot, contact, "☐ K 钾")
    await press(bot, contact, "全选")
    await press(bot, contact, "返回专业列表")
    await press(bot, contact, "查看汇总并提交")
    await press(bot, contact, "确认提交")

    # Step 2: the plan, typed where it is asked for.
    screen = contact.last_message
    assert screen is not None and "请输入本室联系电话" in screen.text
    assert "科室负责人" in (await send(bot, contact, "0371-67966305")).text
    await send(bot, contact, "张伟")
    assert "开票单位名称" in (await press(bot, contact, "下一步")).text
    await send(bot, contact, "郑州市第一人民医院")
    screen = await press(bot, contact, "下一步")
    if "收件人电话" in screen.text:
        screen = await send(bot, contact, "13912345678")
    assert "邮政编码" in screen.text
    await send(bot, contact, "450052")
    await press(bot, contact, "下一步")
    assert "请核对 2025 年申购信息" in (await press(bot, contact, "下一步")).text
    assert "第三步" in (await press(bot, contact, "确认申购")).text

    # Step 3: the agreement PDF comes as a file; the signed pages go back as an album, the licence as a file.
    await press(bot, contact, "下载缓交协议")
    assert any(f.filename and f.filename.endswith(".pdf") for f in tg.sent_files(contact))
    await press(bot, contact, "上传签字盖章的协议")
    await contact.send_album([AGREEMENT, AGREEMENT_PAGE_2])
    collected = await contact.wait_for_message(lambda m: "已收到 2 份" in m.content, timeout=10)
    assert "第 1 个文件" in collected.text and "第 2 个文件" in collected.text
    await settled(bot)
    await press(bot, contact, "缓交协议已传完")
    await press(bot, contact, "上传执业许可证")
    await act(bot, contact, contact.send_document(LICENCE, "许可证.jpg", "image/jpeg"))
    await press(bot, contact, "执业许可证已传完")
    await press(bot, contact, "没有变化")
    async with app.db.reading() as s:
        docs = list(await s.scalars(select(Document).where(Document.lab_id == lab_id).order_by(Document.id)))
    assert [d.kind for d in docs] == ["agreement", "agreement", "licence"]
    assert app.services.store.get(docs[0].storage_key) == AGREEMENT  # the largest photo size, intact
    assert app.services.store.get(docs[2].storage_key) == LICENCE and docs[2].original_name == "许可证.jpg"

    # Submission: a receipt for the lab, an alert with the documents for the reviewers' group.
    done = await press(bot, contact, "提交审核")
    assert any("已提交！回执编号 2025-HN0001-R1" in m.content for m in contact.messages), done.text
    assert any(f.kind == "document" for f in tg.sent_files(contact)[1:])  # the receipt PDF
    group_files = tg.sent_files(REVIEW_CHAT_ID)
    assert len(group_files) >= 3 and {f.method for f in group_files} <= {"sendMediaGroup", "sendPhoto", "sendDocument"}
    card = tg.bot_messages(REVIEW_CHAT_ID)[-1]
    assert "新的申报待审核" in card.content and "✅ 通过" in card.buttons

    # The reviewer decides in the group with one tap; the lab hears of it.
    reviewer = user(tg, ADMIN_ID, "李审核").in_group(tg.group("审核群", chat_id=REVIEW_CHAT_ID))
    await act(bot, reviewer, reviewer.press("✅ 通过"))
    decided = tg.bot_messages(REVIEW_CHAT_ID)[-1]
    assert "已通过" in decided.content and "✅ 通过" not in decided.buttons
    news = await contact.wait_for_message(lambda m: "审核通过" in m.content, timeout=10)
    assert "先参评、后付费" in news.content
    async with app.db.reading() as s:
        enrollment = await s.scalar(select(Enrollment).where(Enrollment.lab_id == lab_id))
    assert enrollment is not None and enrollment.status == "approved"
