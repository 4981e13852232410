"""The admin's broadcast flow as transcripts: compose → audience → preview with counts → confirm, progress
with refresh and stop, the payment notice; admin-only on every update, forged buttons included."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update

from bot.app import App
from bot.delivery.worker import OutboxWorker
from conversations.events import Edit, Reply, from_payload
from storage.models import Broadcast, OutboxMessage, Staff
from tests.factories import make_reviewer
from tests.harness import Person, Transcript, texts
from tests.test_outbox_support import FakeSender, add_lab, fast_gate

T = datetime(2025, 2, 1, tzinfo=UTC)


@pytest.fixture
async def roster(app: App) -> None:
    await add_lab(app, "L-a", city="洛阳市", backups=1)  # unfinished, two contacts
    await add_lab(app, "L-b", status="returned", returned_items=["licence"])
    await add_lab(app, "L-c", status="approved", city="洛阳市")
    await add_lab(app, "L-d", status="submitted", institution_type="blood_centre")


async def broadcasts(app: App) -> list[Broadcast]:
    async with app.db.reading() as s:
        return list(await s.scalars(select(Broadcast).order_by(Broadcast.id)))


async def recipients_of(app: App, broadcast_id: int) -> dict[str, Reply]:
    async with app.db.reading() as s:
        rows = await s.scalars(select(OutboxMessage).where(OutboxMessage.broadcast_id == broadcast_id))
        return {r.chat_id: from_payload(r.payload) for r in rows}  # type: ignore[misc]


async def test_compose_choose_preview_confirm_and_watch_progress(app: App, admin: Person, roster: None) -> None:
    out = texts(await admin.send("/broadcast"))
    assert "请输入要群发的内容" in out
    out = texts(await admin.send("请尽快完成 2025 年申报，2 月 25 日截止。"))
    assert "发给谁" in out
    out = texts(await admin.press("未完成申报的单位"))
    assert "请尽快完成 2025 年申报" in out and "【河南省临床检验中心通知】" in out
    assert "共 2 家单位，3 位联系人" in out
    assert "确认发送（3 人）" in admin.last.labels[0]
    assert await broadcasts(app) == []  # nothing before the confirmation

    out = texts(await admin.press("确认发送"))
    assert "发送中" in out and "共 3 位联系人" in out
    (bc,) = await broadcasts(app)
    assert bc.kind == "broadcast" and bc.status == "sending" and bc.created_by == "test:admin-1"
    queued = await recipients_of(app, bc.id)
    assert set(queued) == {"L-a-p0", "L-a-b1", "L-b-p0"}
    assert all("请尽快完成" in r.text and r.buttons for r in queued.values())

    sender = FakeSender()
    await OutboxWorker(app.db, sender, fast_gate()).drain()
    assert {c: n for c, n in sender.chats().items() if c.startswith("L-")} == dict.fromkeys(queued, 1)
    # The admin's progress message (the confirmed preview) was edited in place, then the final report came.
    progress_screen = admin.last.message_id if admin.last.text.startswith("群发通知") else None
    edits = [a for a in sender.sent if isinstance(a, Edit)]
    assert edits and edits[-1].chat_id == "review-chat" and "已完成" in edits[-1].text
    assert progress_screen is not None and edits[-1].message_id == progress_screen
    report = [a for a in sender.sent if isinstance(a, Reply) and a.chat_id == "review-chat"]
    assert len(report) == 1 and "已发送 3" in report[0].text and "/broadcast" in report[0].text

    out = texts(await admin.press("刷新"))
    assert "已完成" in out and "已发送 3，失败 0，已屏蔽 0，待发送 0" in out


async def test_by_city_and_by_type(app: App, admin: Person, roster: None) -> None:
    await admin.send("/broadcast")
    await admin.send("洛阳地区通知")
    await admin.press("按城市")
    out = texts(await admin.press("洛阳市", exact=True))
    assert "城市：洛阳市" in out and "共 2 家单位，3 位联系人" in out
    await admin.press("修改对象")
    await admin.press("按单位类型")
    out = texts(await admin.press("血站", exact=False))
    assert "共 1 家单位，1 位联系人" in out
    await admin.press("确认发送")
    (bc,) = await broadcasts(app)
    assert set(await recipients_of(app, bc.id)) == {"L-d-p0"}
    assert bc.audience["kind"] == "type" and bc.audience["value"] == "blood_centre"


async def test_stop_cancels_what_has_not_gone_out(app: App, admin: Person, roster: None) -> None:
    await admin.send("/broadcast")
    await admin.send("全体通知")
    await admin.press("全部单位")
    await admin.press("确认发送")
    out = texts(await admin.press("停止发送"))
    assert "已停止" in out and "取消未发出的 5 条" in out
    (bc,) = await broadcasts(app)
    assert bc.status == "cancelled"
    sender = FakeSender()
    await OutboxWorker(app.db, sender, fast_gate()).drain()
    assert not [a for a in sender.sent if str(a.chat_id).startswith("L-")]


async def test_the_payment_notice_goes_to_approved_labs_with_its_header(app: App, admin: Person, roster: None) -> None:
    out = texts(await admin.send("/payment"))
    assert "缴费通知的内容" in out
    out = texts(await admin.send("收费标准已批复：每个专业 500 元，请于 2025 年 6 月 30 日前对公转账。"))
    assert "【河南省临床检验中心 · 2025 年室间质评缴费通知】" in out and "先参评、后付费" in out
    assert "审核状态：审核已通过" in out and "共 1 家单位，1 位联系人" in out
    await admin.press("确认发送")
    (bc,) = await broadcasts(app)
    assert bc.kind == "payment"
    queued = await recipients_of(app, bc.id)
    assert set(queued) == {"L-c-p0"}
    assert "每个专业 500 元" in queued["L-c-p0"].text and "联系中心" in queued["L-c-p0"].text


async def test_cancel_and_limits_in_the_flow(app: App, admin: Person, roster: None) -> None:
    await admin.send("/broadcast")
    out = texts(await admin.send("长" * 2001))
    assert "（2001 字），最多 2000 字" in out
    out = texts(await admin.press("取消"))
    assert "没有发出任何消息" in out
    assert await broadcasts(app) == []


async def test_nobody_to_write_to_gives_no_confirm_button(app: App, admin: Person) -> None:
    await add_lab(app, "L-x", contacts=0)
    await admin.send("/broadcast")
    await admin.send("通知")
    out = texts(await admin.press("全部单位"))
    assert "没有可以发送的联系人" in out
    assert not any("确认发送" in label for label in admin.last.labels)


async def test_only_admins_may_broadcast(app: App, transcript: Transcript, admin: Person, roster: None) -> None:
    contact = Person(transcript, "L-a-p0")
    reviewer = Person(transcript, "rev-1")
    await make_reviewer(app, reviewer)
    for person in (contact, reviewer):
        out = texts(await person.send("/broadcast"))
        assert "没有权限" in out
        out = texts(await person.send("/payment"))
        assert "没有权限" in out

    # A real broadcast exists; a non-admin forges its stop button.
    await admin.send("/broadcast")
    await admin.send("通知")
    await admin.press("全部单位")
    await admin.press("确认发送")
    (bc,) = await broadcasts(app)
    out = texts(await contact.press("", data=f"g:bc:stop:{bc.id}"))
    assert "没有权限" in out
    out = texts(await reviewer.press("", data=f"g:bc:prog:{bc.id}"))
    assert "没有权限" in out
    (bc,) = await broadcasts(app)
    assert bc.status == "sending"

    # Forged flow buttons from a non-admin: not their screen, nothing happens.
    for data in ("2:send:", "3:aud:all", "1:x:"):
        await contact.press("", data=data)
    assert len(await broadcasts(app)) == 1


async def test_an_admin_demoted_mid_flow_cannot_confirm(app: App, transcript: Transcript, roster: None) -> None:
    boss = Person(transcript, "boss-1")
    await make_reviewer(app, boss, role="admin")
    await boss.send("/broadcast")
    await boss.send("通知")
    await boss.press("全部单位")
    async with app.db.transaction() as s:
        await s.execute(update(Staff).where(Staff.user_id == "boss-1").values(active=False))
    out = texts(await boss.press("确认发送"))
    assert "没有权限" in out
    async with app.db.reading() as s:
        assert await s.scalar(select(func.count()).select_from(Broadcast)) == 0
    # And the flow is over: the screen's buttons are stale now.
    await boss.press("确认发送")
    async with app.db.reading() as s:
        assert await s.scalar(select(func.count()).select_from(Broadcast)) == 0


async def test_everyone_following_the_official_account_bound_or_not(app: App, admin: Person, roster: None) -> None:
    from storage.models import Contact, Lab, WeChatPeer

    await admin.send("/broadcast")
    await admin.send("新参评单位请于 2 月 25 日前注册")
    assert "公众号的全部关注者" not in " ".join(admin.last.labels)  # no WeChat channel in use: not offered
    async with app.db.transaction() as s:
        lab = await s.scalar(select(Lab).where(Lab.code == "L-c"))
        assert lab is not None
        s.add(Contact(lab_id=lab.id, platform="wechat", user_id="o-bound", chat_id="o-bound", name="王检验"))
        s.add_all(
            [WeChatPeer(openid="o-bound"), WeChatPeer(openid="o-new"), WeChatPeer(openid="o-gone", following=False)]
        )
    await admin.send("/broadcast")
    await admin.send("新参评单位请于 2 月 25 日前注册")
    out = texts(await admin.press("公众号的全部关注者"))
    assert "关注公众号的所有人" in out and "共 1 家单位，2 位联系人" in out, out
    await admin.press("确认发送")
    (bc,) = await broadcasts(app)
    queued = await recipients_of(app, bc.id)
    assert set(queued) == {"o-bound", "o-new"}  # the unfollowed one is not written to
    async with app.db.reading() as s:
        platforms = set(await s.scalars(select(OutboxMessage.platform).where(OutboxMessage.broadcast_id == bc.id)))
    assert platforms == {"wechat"}
