"""Transcripts of the foundation flows through the core: events in, replies out, stored state checked."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from bot.app import App
from conversations.clock import FixedClock
from conversations.events import Edit, Reply, Toast
from storage.models import ConversationState, FaqVote, OutboxMessage, UserProfile
from tests.harness import Person, texts


async def _state(app: App, person: Person) -> ConversationState:
    async with app.db.reading() as s:
        row = await s.scalar(
            select(ConversationState).where(
                ConversationState.chat_id == person.chat_id, ConversationState.user_id == person.user_id
            )
        )
        assert row is not None
        return row


async def test_start_explains_and_offers_the_next_step(guest: Person) -> None:
    out = await guest.send("/start")
    text = texts(out)
    assert "2025 年室间质量评价申报" in text
    assert "先参评、后付费" in text
    assert "还剩 15 天" in text  # fixed clock: 10 February 2025
    assert guest.last.labels[:2] == ["🔗 绑定实验室", "🆕 新单位注册"]


async def test_bound_contact_sees_lab_and_continue(contact: Person) -> None:
    await contact.send("/start")
    assert "郑州市第一人民医院检验科（HN0001）" in contact.last.text
    assert contact.last.labels[0] == "▶ 继续申报"


async def test_help_lists_commands_by_role(contact: Person, admin: Person) -> None:
    await contact.send("/help")
    assert "/status" in contact.last.text and "/grant" not in contact.last.text
    await admin.send("/help")
    assert "/queue" in admin.last.text and "/grant" in admin.last.text


async def test_faq_topics_answer_from_the_campaign(guest: Person, app: App) -> None:
    await guest.send("/faq")
    assert "申报截止时间" in guest.last.labels
    assert len(guest.last.labels) == len(app.campaign.faq) + 1
    out = await guest.press("费用：先参评、后付费")
    edit = next(a for a in out if isinstance(a, Edit))
    assert "暂不交费" in edit.text and "先参评、后付费" in edit.text
    await guest.press("👎 没帮助")
    assert "0371-67966305" in guest.last.text
    async with app.db.reading() as s:
        votes = (await s.scalars(select(FaqVote))).all()
    assert [(v.topic, v.helpful) for v in votes] == [("fees", False)]


async def test_faq_contacts_quote_the_notice(guest: Person) -> None:
    await guest.send("/faq")
    await guest.press("联系方式与技术支持")
    assert "400-999-2890 转 2" in guest.last.text
    assert "李书杰、张愔" in guest.last.text


async def test_status_shows_three_steps_and_days_left(contact: Person) -> None:
    await contact.send("/status")
    text = contact.last.text
    assert text.count("⬜") == 3
    assert "第一步：勾选 2024 年已开展项目" in text
    assert "还缺：上年已开展项目勾选" in text
    assert "审核状态：尚未提交" in text
    assert "还剩 15 天" in text


async def test_status_after_the_deadline_says_closed_and_consequence(contact: Person, clock: FixedClock) -> None:
    clock.set(datetime.fromisoformat("2025-02-26T00:00:00+08:00"))
    await contact.send("/status")
    text = contact.last.text
    assert "申报已截止（须在 2025年2月25日前申报完成）" in text
    assert "不发放本年度室间质量评价样品" in text
    assert "0371-67966305" in text


async def test_status_unbound(guest: Person) -> None:
    await guest.send("/status")
    assert "还没有绑定实验室" in guest.last.text


async def test_language_switch_persists(contact: Person, app: App) -> None:
    await contact.send("/lang en")
    assert contact.last.text == "Switched to English."
    await contact.send("/status")
    assert "Step 1: tests performed in 2024" in contact.last.text
    assert "15 days left" in contact.last.text
    await contact.send("/faq")
    assert "Registration deadline" in contact.last.labels
    async with app.db.reading() as s:
        lang = await s.scalar(select(UserProfile.language).where(UserProfile.user_id == contact.user_id))
    assert lang == "en"
    await contact.send("/lang")
    await contact.press("中文")
    assert contact.last.text == "已切换为中文。"


async def test_duplicate_update_is_ignored(contact: Person, app: App) -> None:
    event = contact.event("command", text="/status", command="status", update_id="dup-1")
    first = await contact.handle(event)
    second = await contact.handle(event)
    assert first and second == []
    async with app.db.reading() as s:
        assert await s.scalar(select(func.count()).select_from(OutboxMessage)) == 1


async def test_every_reply_is_queued_then_marked_sent(contact: Person, app: App) -> None:
    await contact.send("/start")
    async with app.db.reading() as s:
        rows = (await s.scalars(select(OutboxMessage))).all()
    assert [r.status for r in rows] == ["sent"]
    assert rows[0].payload["type"] == "Reply"


async def test_unknown_command(contact: Person, app: App) -> None:
    await contact.send("/start")
    nonce = (await _state(app, contact)).nonce
    out = await contact.send("/frobnicate")
    assert "没有 /frobnicate 这个命令" in texts(out)
    assert "/help" in texts(out)
    assert (await _state(app, contact)).nonce == nonce


async def test_bad_inputs_get_a_reply_and_change_nothing(contact: Person, app: App) -> None:
    await contact.send("/start")
    state = await _state(app, contact)
    nonce = state.nonce
    for text, expected in (
        ("   ", "没有收到内容"),
        ("啊" * 5000, "消息太长（5000 字）"),
        ("😀😀🎉", "只看到表情或符号"),
    ):
        out = await contact.send(text)
        assert expected in texts(out), text[:10]
        assert isinstance(out[-1], Reply) and out[-1].buttons, "every reply offers a next step"
    out = await contact.send_file(b"\xff\xd8\xff" + b"0" * 100, name="a.jpg", kind="photo")
    assert "现在不需要发送文件或照片" in texts(out)
    state = await _state(app, contact)
    assert (state.flow, state.nonce) == (None, nonce)


async def test_a_button_from_a_screen_left_by_restart_changes_nothing(contact: Person, app: App) -> None:
    await contact.send("/restart")
    state = await _state(app, contact)
    out = await contact.press("", data=f"{state.nonce - 1}:x:y")
    assert any(isinstance(a, Toast) and a.text == "这个按钮已过期" for a in out)
    assert "这个按钮来自之前的界面" in texts(out)
    after = await _state(app, contact)
    assert (after.flow, after.step, after.nonce) == (state.flow, state.step, state.nonce)


async def test_garbage_button_data(contact: Person) -> None:
    out = await contact.press("", data="not-ours")
    assert any(isinstance(a, Toast) and "无法识别" in a.text for a in out)


async def test_cancel_when_nothing_in_progress(contact: Person) -> None:
    out = await contact.send("/cancel")
    assert "当前没有进行中的操作" in texts(out)


async def test_a_transport_that_delivers_itself_gets_its_rows_already_claimed(contact: Person, app: App) -> None:
    event = contact.event("command", text="/status", command="status")
    outcome = await app.core.handle(event, claimant="fast-path:here:1")
    async with app.db.reading() as s:
        rows = (await s.scalars(select(OutboxMessage))).all()
    assert [(r.id, r.status, r.claimed_by) for r in rows] == [(outcome.deliveries[0][0], "claimed", "fast-path:here:1")]
    # Without a claimant (console, tests) the rows wait as pending for whoever delivers them.
    await contact.send("/status")
    async with app.db.reading() as s:
        assert (await s.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id))).all() == ["claimed", "sent"]


async def test_a_failing_handler_apologises_and_the_update_is_not_retried(
    contact: Person, app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handlers import routing

    async def broken(ctx: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setitem(routing.COMMANDS, "status", routing.Command(broken))
    event = contact.event("command", text="/status", command="status", update_id="boom-1")
    out = await contact.handle(event)
    assert "抱歉，刚才处理出错了" in texts(out)
    assert await contact.handle(event) == []  # a redelivery of the same update changes nothing
