"""The WeChat endpoint over real HTTP against the fake WeChat API, in plaintext and safe mode: what it refuses
(and that nothing refused is processed), duplicates, the inbound kinds, and each API error's handling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.wechat import window
from conversations.clock import FixedClock
from conversations.events import Reply, to_payload
from storage.models import Contact, OutboxMessage, ProcessedUpdate, WeChatPeer, WeChatToken
from tests.fake_wechat.running import ADMIN_OPENID, RunningWeChat, running_wechat

pytestmark = [pytest.mark.timeout(60)]


@pytest.fixture(params=["plain", "safe"])
async def wx(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path, clock: FixedClock
) -> AsyncIterator[RunningWeChat]:
    async with running_wechat(database_url, tmp_path / "data", clock, safe=request.param == "safe") as bot:
        yield bot


async def processed(wx: RunningWeChat) -> int:
    async with wx.app.db.reading() as s:
        return int(await s.scalar(select(func.count()).select_from(ProcessedUpdate)) or 0)


# -- what is refused -------------------------------------------------------------------------------------------
async def test_url_verification_echoes_only_a_right_signature(wx: RunningWeChat) -> None:
    assert wx.fake.calls == []  # nothing is sent (not even a token fetched) at start-up
    u = wx.user("o_verify")
    query, _ = u.query()
    good = await wx.client.get(wx.url, params={**query, "echostr": "echo-123"})
    assert good.status_code == 200 and good.text == "echo-123"
    bad = await wx.client.get(wx.url, params={**query, "signature": "0" * 40, "echostr": "echo-123"})
    assert bad.status_code == 403 and "echo" not in bad.text


async def test_refused_requests_are_403_or_400_and_nothing_is_processed(wx: RunningWeChat) -> None:
    u = wx.user("o_refused")
    body = u.xml("text", MsgId="1", Content="你好")
    query, wire = u.query(body)

    async def post(params: dict[str, str], content: str | bytes) -> int:
        r = await wx.client.post(
            wx.url, params=params, content=content if isinstance(content, bytes) else content.encode()
        )
        return r.status_code

    assert await post({**query, "signature": "f" * 40}, wire) == 403
    if wx.safe:
        assert await post({**query, "msg_signature": "f" * 40}, wire) == 403
        # Safe mode is encrypted only: a plaintext body with a good signature is refused.
        assert await post({k: v for k, v in query.items() if k not in ("encrypt_type", "msg_signature")}, body) == 403
    # A timestamp more than 5 minutes from the bot's clock (a replay), signed correctly.
    u._time_shift = -301
    stale, stale_wire = u.query(body)
    assert await post(stale, stale_wire) == 403
    u._time_shift = 0
    # Malformed XML and entity tricks: 400, unread.
    for evil in (
        "<xml><ToUserName>",
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><xml><Content>&b;</Content></xml>',
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Content>&e;</Content></xml>',
    ):
        q, w = u.query(evil)
        assert await post(q, w) in (400, 403) if wx.safe else await post(q, w) == 400
    # An oversize body is refused before it is read.
    q, _ = u.query(body)
    assert await post(q, b"<xml>" + b"x" * 70_000 + b"</xml>") == 413
    assert await processed(wx) == 0
    assert wx.server is not None and wx.server.refused >= 6


async def test_another_app_id_is_refused_in_safe_mode(database_url: str, tmp_path: Path, clock: FixedClock) -> None:
    async with running_wechat(database_url, tmp_path / "data", clock, safe=True) as wx:
        u = wx.user("o_other_app")
        wx.fake.app_id, real = "wx-another-app", wx.fake.app_id  # the sender encrypts for another account
        answer = await u.send_text("你好")
        wx.fake.app_id = real
        assert answer.status == 403
        assert await processed(wx) == 0


# -- inbound kinds ---------------------------------------------------------------------------------------------
async def test_follow_welcomes_within_the_event_window_and_a_retry_is_ignored(wx: RunningWeChat) -> None:
    u = wx.user("o_follow")
    answer = await u.follow()
    assert answer.status == 200 and answer.text == "success"
    await wx.settled()
    assert len(u.inbox) == 1 and u.last.kind == "msgmenu" and u.last.window == "event"
    assert "1." in u.last.items[0]["content"]
    # WeChat's retry of the same message (same MsgId) changes nothing.
    body = u.xml("text", MsgId="777", Content="你好")
    first = await u.post(body)
    await wx.settled()
    count = len(u.inbox)
    again = await u.post(body)
    await wx.settled()
    assert first.status == again.status == 200 and len(u.inbox) == count


async def test_unsupported_kinds_get_a_passive_reply_and_unfollow_deactivates(wx: RunningWeChat) -> None:
    from tests.factories import make_lab

    u = wx.user("o_voice")
    await u.follow()
    await wx.settled()
    voice = await u.send_voice()
    assert voice.status == 200 and "打字" in voice.text and "<MsgType><![CDATA[text]]>" in voice.text
    location = await u.send_location()
    assert "照片" in location.text
    lab_id = await make_lab(wx.app)
    async with wx.app.db.transaction() as s:
        s.add(Contact(lab_id=lab_id, platform="wechat", user_id=u.openid, chat_id=u.openid, active=True))
    assert (await u.unfollow()).text == "success"
    async with wx.app.db.reading() as s:
        contact = await s.scalar(select(Contact).where(Contact.user_id == u.openid))
        peer = await s.get(WeChatPeer, u.openid)
    assert contact is not None and not contact.active
    assert peer is not None and not peer.following


async def test_a_menu_tap_and_a_typed_number_press_the_buttons(wx: RunningWeChat) -> None:
    u = wx.user("o_numbers")
    await u.follow()
    await wx.settled()
    await u.choose("联系中心")  # a msgmenu tap comes back as a text message with bizmsgmenuid
    await wx.settled()
    assert "0371-67966305" in u.last.text
    helpful = next(i["id"] for i in u.last.items if "有帮助" in i["content"])
    before = len(u.inbox)
    await u.send_text(helpful)  # the same number typed
    await wx.settled()
    assert len(u.inbox) == before + 1 and "有帮助" not in u.last.text.split("\n")[0]
    async with wx.app.db.reading() as s:
        from storage.models import FaqVote

        votes = list(await s.scalars(select(FaqVote).where(FaqVote.user_id == u.openid)))
    assert [v.helpful for v in votes] == [True]


# -- API errors ---------------------------------------------------------------------------------------------
async def push(wx: RunningWeChat, openid: str, text: str, *, broadcast: bool = False) -> int:
    async with wx.app.db.transaction() as s:
        row = OutboxMessage(
            platform="wechat", chat_id=openid, payload=to_payload(Reply(text, chat_id=openid, platform="wechat"))
        )
        s.add(row)
        await s.flush()
        return row.id


async def test_token_is_shared_in_the_database_and_refreshed_on_40001_and_42001(
    wx: RunningWeChat, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    u = wx.user("o_token")
    await u.follow()
    await wx.settled()
    async with wx.app.db.reading() as s:
        stored = await s.get(WeChatToken, wx.fake.app_id)
    assert stored is not None and stored.token.startswith("ACCESS_")
    fetches = wx.fake.token_fetches
    wx.fake.invalidate_tokens()
    await u.send_text("/help")
    await wx.settled()
    assert ("custom_send", 40001) in wx.fake.refused and wx.fake.token_fetches == fetches + 1
    wx.fake.expire_tokens()
    await u.send_text("/help")
    await wx.settled()
    assert ("custom_send", 42001) in wx.fake.refused and wx.fake.token_fetches == fetches + 2
    assert len(u.inbox) == 3  # the welcome and both answers arrived
    # The token is a secret: not in any log record (httpx's request log, which prints ?access_token=, is quiet).
    tokens = [t for t in wx.fake._tokens]
    assert tokens and not any(t in caplog.text for t in tokens) and wx.fake.app_secret not in caplog.text


async def test_outside_the_window_a_result_goes_as_template_and_without_one_it_waits(wx: RunningWeChat) -> None:
    u = wx.user("o_template")
    await u.send_text("你好")
    await wx.settled()
    wx.clock.advance(timedelta(hours=49))
    await push(wx, u.openid, "审核通过\n您的 2025 年申报已通过。")
    await wx.settled()
    assert u.last.kind == "template" and u.last.body["template_id"] == "TPL_RESULT"
    assert not [r for r in wx.fake.refused if r[1] in (45015, 45047)]
    # Without a template configured, the push waits until the person writes.
    wx.sender.template_result = None
    row_id = await push(wx, u.openid, "第二条结果")
    await wx.settled()
    async with wx.app.db.reading() as s:
        row = await s.get(OutboxMessage, row_id)
        assert row is not None and row.status == window.WAITING
    # /stats (from any channel) counts what waits for a lab to open the chat.
    admin = wx.user(ADMIN_OPENID)
    await admin.send_text("/stats")
    await wx.settled()
    assert "等待实验室打开对话后才能送达的消息：1 条" in admin.last.text
    sent = len(u.inbox)
    await u.send_text("在吗")
    await wx.settled(timeout=15)
    assert any("第二条结果" in m.text for m in u.inbox[sent:])
    assert not [r for r in wx.fake.refused if r[1] in (45015, 45047)]


async def status_of(wx: RunningWeChat, row_id: int) -> str:
    async with wx.app.db.reading() as s:
        row = await s.get(OutboxMessage, row_id)
        assert row is not None
        return row.status


async def test_45015_45047_43004_and_45009_from_wechat(wx: RunningWeChat, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.wechat.api

    monkeypatch.setattr(bot.wechat.api, "FREQUENCY_WAIT", 0.5)
    wx.sender.template_result = None  # no template: what cannot go now must wait
    u = wx.user("o_errors")
    for code in (45047, 45015):
        # WeChat says no (another tool used the window, or the clocks disagree) although we counted sends left:
        # the row waits, and the bot tries nothing more until the person writes.
        await u.send_text(f"你好 {code}")
        await wx.settled()
        wx.fake.fail_next("custom_send", code)
        first = await push(wx, u.openid, f"消息 {code}")
        await wx.settled()
        assert await status_of(wx, first) == window.WAITING, code
        tries = wx.fake.calls.count("custom_send")
        second = await push(wx, u.openid, f"又一条 {code}")
        await wx.settled()
        assert await status_of(wx, second) == window.WAITING and wx.fake.calls.count("custom_send") == tries
    await u.send_text("再来")  # the person writes: what waited goes out
    await wx.settled(timeout=20)
    texts = "\n".join(u.texts())
    assert all(f"消息 {c}" in texts and f"又一条 {c}" in texts for c in (45047, 45015))

    # 43004: they unfollowed (and we had not heard yet): marked unfollowed, the push waits.
    wx.fake.follower(u.openid).following = False
    gone = await push(wx, u.openid, "取关之后")
    await wx.settled()
    assert await status_of(wx, gone) == window.WAITING and ("custom_send", 43004) in wx.fake.refused
    async with wx.app.db.reading() as s:
        peer = await s.get(WeChatPeer, u.openid)
    assert peer is not None and not peer.following

    # 45009 (frequency): everyone waits a moment, then the message goes out once.
    await u.follow()
    await wx.settled()
    wx.fake.fail_next("custom_send", 45009)
    slow = await push(wx, u.openid, "限频之后")
    await wx.settled(timeout=20)
    assert await status_of(wx, slow) == "sent" and ("custom_send", 45009) in wx.fake.refused
    assert u.texts().count("限频之后") == 1
    assert not [
        r
        for r in wx.fake.refused
        if r[1] in (45015, 45047) and r not in ((("custom_send", 45015)), ("custom_send", 45047))
    ]


async def test_a_reply_that_cannot_go_now_is_not_lost(wx: RunningWeChat) -> None:
    """WeChat busy (-1) when the reply goes out: the event was committed and acknowledged, the reply row
    goes back to the queue and the outbox worker delivers it, once."""
    u = wx.user("o_busy")
    wx.fake.fail_next("custom_send", -1)
    answer = await u.send_text("/help")
    assert answer.status == 200 and answer.text == "success"
    await wx.settled(timeout=20)
    assert len(u.inbox) == 1 and ("custom_send", -1) in wx.fake.refused
    rows = [r for r in await wx.outbox() if r.chat_id == u.openid]
    assert [r.status for r in rows] == ["sent"]
