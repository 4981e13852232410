"""The application end to end over real HTTP: python-telegram-bot and aiogram against the fake Bot API.

Every test runs once per transport; what a person sees is read from the fake server's record."""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import Iterator

import aiohttp
import pytest
from PIL import Image
from sqlalchemy import func, select

from bot.app import App
from bot.telegram.inbound import PLATFORM
from conversations import flow as flows
from conversations.context import Ctx
from conversations.flow import Flow, Step
from storage.models import Contact, ProcessedUpdate
from storage.repos.conversations import load_state
from tests.e2e.conftest import ADMIN_ID, REVIEW_CHAT_ID, WEBHOOK_SECRET, RunningBot, user
from tests.factories import bind, make_lab
from tests.fake_telegram import AlbumDocument, FakeTelegram, FakeUser

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.timeout(60),
]


def t(bot: RunningBot, key: str, lang: str = "zh", **args: object) -> str:
    return bot.app.services.catalog.t(lang, key, **args)


def sent_ok(tg: FakeTelegram, method: str, chat: FakeUser | int) -> int:
    return len(tg.calls(method, chat, ok=True))


# -- commands, buttons, languages ----------------------------------------------------------------------------
async def test_start_shows_the_welcome_with_buttons(bot: RunningBot, tg: FakeTelegram) -> None:
    u = tg.user(1001, "王", last_name="检验", language_code="zh-hans")
    await u.send_command("start")
    reply = await u.wait_for_message()
    assert reply.kind == "new"
    assert "室间质" in reply.text
    assert reply.buttons, "the welcome ends with what to do next"
    # The person's name (through the typed-name check: no space inside a Chinese name) and language came through.
    from storage.models import UserProfile

    async with bot.app.db.reading() as s:
        person = await s.scalar(select(UserProfile).where(UserProfile.user_id == "1001"))
    assert person is not None and person.display_name == "王检验"


async def test_start_with_a_deep_link_payload(bot: RunningBot, tg: FakeTelegram) -> None:
    u = user(tg, 1002, "李")
    await u.send_command("start", "BIND-ABC123", mention_bot=True)  # /start@eqa_test_bot BIND-ABC123
    reply = await u.wait_for_message()
    assert reply.text
    async with bot.app.db.reading() as s:
        state = await load_state(s, PLATFORM, "1002", "1002")
    if "bind" in flows.REGISTRY:
        # The payload went to the binding flow (as a code typed by the person would).
        assert state.flow == "bind"
        assert state.data.get("payload") == "BIND-ABC123" or "BIND-ABC123" not in reply.text


async def test_command_for_another_bot_is_ignored(bot: RunningBot, tg: FakeTelegram) -> None:
    g = tg.group("另一个群")
    u = user(tg, 1003, "赵").in_group(g)
    await u.send_text("/start@some_other_bot", entities=[{"type": "bot_command", "offset": 0, "length": 21}])
    await u.send_command("status", mention_bot=True)
    reply = await u.wait_for_message()
    assert t(bot, "status-unbound").split("\n")[0][:10] in reply.text
    await asyncio.sleep(0.2)
    assert sent_ok(tg, "sendMessage", g) == 1


async def test_faq_and_a_button_press(bot: RunningBot, tg: FakeTelegram) -> None:
    u = user(tg, 1004, "钱")
    await u.send_command("faq")
    menu = await u.wait_for_message()
    assert len(menu.buttons) > 3
    topic = menu.buttons[0]
    query = await u.press(topic)
    answer = await u.wait_for_message()
    assert answer.kind == "edit" and answer.message_id == menu.message_id  # the screen changes in place
    assert answer.text != menu.text
    assert await u.wait_for_answer(query) is not None  # the spinner stops


async def test_an_edit_that_changes_nothing_is_a_success(bot: RunningBot, tg: FakeTelegram) -> None:
    from conversations.events import Button, Edit, Reply

    u = user(tg, 1006, "冯")
    assert bot.transport is not None
    keys = ((Button("好", "g:faq:"),),)
    sent = await bot.transport.send(Reply("屏幕", keys, chat_id=str(u.chat_id)))
    edit = Edit(str(sent["message_ids"][0]), "屏幕", keys, chat_id=str(u.chat_id))
    assert await bot.transport.send(edit) == sent  # "message is not modified": a double tap, not an error
    assert tg.calls("editMessageText", u)[0].status == 400


async def test_status_and_language(bot: RunningBot, tg: FakeTelegram) -> None:
    u = tg.user(1005, "孙", language_code="zh-hans")
    await u.send_command("status")
    status = await u.wait_for_message()
    assert t(bot, "status-unbound").split("\n")[0] in status.text
    await u.send_command("lang", "en")
    done = await u.wait_for_message()
    assert done.text == t(bot, "lang-set", "en")
    await u.send_command("status")
    english = await u.wait_for_message()
    assert t(bot, "status-unbound", "en").split("\n")[0] in english.text


async def test_command_menus_per_scope_and_language(bot: RunningBot, tg: FakeTelegram) -> None:
    contacts = {c["command"] for c in tg.commands()}
    assert {"start", "status", "faq", "lang", "help"} <= contacts
    assert tg.commands(None, "en") and tg.commands(None, "zh")
    assert all(c["description"].isascii() for c in tg.commands(None, "en") if c["command"] != "lang")
    for chat in (REVIEW_CHAT_ID, ADMIN_ID):
        reviewers = {c["command"] for c in tg.commands({"type": "chat", "chat_id": chat}, "en")}
        assert contacts <= reviewers


# -- files --------------------------------------------------------------------------------------------------
@pytest.fixture
def upload_flow() -> Iterator[str]:
    """A one-step flow that takes files and says what it received (the journey's upload steps are tested
    by their owners; here the question is whether bytes arrive intact through each transport)."""

    async def show(ctx: Ctx) -> None:
        ctx.say("send a file")

    async def on_file(ctx: Ctx) -> None:
        data = await ctx.download()
        f = ctx.event.file
        assert f is not None
        ctx.say(
            f"{ctx.event.kind} {len(data)} {hashlib.sha256(data).hexdigest()[:16]} "
            f"name={f.name} mime={f.mime} group={ctx.event.media_group_id or '-'}"
        )

    flows.REGISTRY["e2e_upload"] = Flow("e2e_upload", "file", {"file": Step(show, on_file=on_file)})
    yield "e2e_upload"
    flows.REGISTRY.pop("e2e_upload", None)


async def enter(bot: RunningBot, user: FakeUser, flow: str) -> None:
    async with bot.app.db.transaction() as s:
        row = await load_state(s, PLATFORM, str(user.chat_id), str(user.user_id))
        row.flow, row.step, row.nonce = flow, "file", row.nonce + 1


def jpeg(width: int = 1600, height: int = 1200) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buf, "JPEG")
    return buf.getvalue()


async def test_photo_document_and_album_arrive_intact(bot: RunningBot, tg: FakeTelegram, upload_flow: str) -> None:
    u = user(tg, 1010, "周")
    await enter(bot, u, upload_flow)
    photo = jpeg()
    await u.send_photo(photo)
    got = await u.wait_for_message()
    assert got.text.startswith(f"photo {len(photo)} {hashlib.sha256(photo).hexdigest()[:16]}")  # the largest size
    pdf = b"%PDF-1.4\n" + b"x" * 5000
    await u.send_document(pdf, "协议.pdf", "application/pdf")
    got = await u.wait_for_message()
    assert got.text.startswith(f"document {len(pdf)} {hashlib.sha256(pdf).hexdigest()[:16]} name=协议.pdf")
    assert "mime=application/pdf" in got.text
    await u.send_album([jpeg(800, 600), AlbumDocument(pdf, "许可证.pdf", "application/pdf")])
    first = await u.wait_for_message()
    second = await u.wait_for_message()
    assert first.text.startswith("photo") and second.text.startswith("document")  # in the order sent
    assert first.text.split("group=")[1] == second.text.split("group=")[1] != "-"


async def test_file_over_20_mb_is_refused_without_get_file(bot: RunningBot, tg: FakeTelegram, upload_flow: str) -> None:
    u = user(tg, 1011, "吴")
    await enter(bot, u, upload_flow)
    await u.send_document(b"\0" * (20 * 1024 * 1024 + 1), "huge.pdf", "application/pdf")
    refusal = await u.wait_for_message()
    assert refusal.text == t(bot, "file-too-big", limit=20)
    assert tg.calls("getFile") == []


async def test_bot_sends_documents_photos_and_albums(bot: RunningBot, tg: FakeTelegram) -> None:
    """Outbound files from bytes, from the document store, and again by Telegram file id."""
    from conversations.events import AlbumItem, FileOut, SendAlbum, SendDocument, SendPhoto

    u = user(tg, 1012, "郑")
    key = bot.app.services.store.put(b"%PDF-1.4 stored agreement")
    assert bot.transport is not None
    chat = str(u.chat_id)
    first = await bot.transport.send(
        SendDocument(FileOut("协议.pdf", "application/pdf", stored=key), "请签字盖章", chat_id=chat)
    )
    photo = await bot.transport.send(SendPhoto(FileOut("p.jpg", "image/jpeg", data=jpeg(64, 64)), chat_id=chat))
    again = await bot.transport.send(
        SendDocument(FileOut("协议.pdf", "application/pdf", platform_file_id=first["file_ids"][0]), chat_id=chat)
    )
    album = await bot.transport.send(
        SendAlbum(
            (
                AlbumItem("photo", FileOut("a.jpg", "image/jpeg", data=jpeg(32, 32)), "两张"),
                AlbumItem("photo", FileOut("b.jpg", "image/jpeg", platform_file_id=photo["file_ids"][0])),
            ),
            chat_id=chat,
        )
    )
    files = tg.sent_files(u)
    assert [f.method for f in files] == [
        "sendDocument",
        "sendPhoto",
        "sendDocument",
        "sendMediaGroup",
        "sendMediaGroup",
    ]
    assert files[0].data == files[2].data == b"%PDF-1.4 stored agreement" and files[0].filename == "协议.pdf"
    assert files[0].caption == "请签字盖章"
    assert len(album["message_ids"]) == 2 and again["message_ids"]


# -- injected errors -----------------------------------------------------------------------------------------
async def test_a_429_storm_delays_replies_but_loses_and_doubles_nothing(bot: RunningBot, tg: FakeTelegram) -> None:
    users = [user(tg, 2000 + i, f"用户{i}") for i in range(6)]
    tg.fail("getUpdates", 429, retry_after=1, times=1)
    storm = tg.fail("sendMessage", 429, retry_after=1, times=3)
    for u in users:
        await u.send_command("start")
    for u in users:
        await u.wait_for_message(timeout=15)
    assert storm.hits == 3
    assert bot.gate.pauses >= 1
    for u in users:
        assert sent_ok(tg, "sendMessage", u) == 1, f"user {u.user_id} got a doubled or missing reply"
        await bot.wait_outbox(u.chat_id, "sent")
    assert tg.pending_updates() == [] or await _eventually(lambda: tg.pending_updates() == [])


async def test_a_blocked_user_does_not_stop_the_others(bot: RunningBot, tg: FakeTelegram) -> None:
    blocker, other = user(tg, 3001, "拉黑"), user(tg, 3002, "正常")
    lab = await make_lab(bot.app)
    await bind(bot.app, bot.person(blocker), lab)  # type: ignore[arg-type]
    tg.block(blocker)
    await blocker.send_command("status")
    await other.send_command("start")
    assert (await other.wait_for_message()).text
    rows = await bot.wait_outbox(blocker.chat_id, "blocked")
    assert rows and sent_ok(tg, "sendMessage", blocker) == 0
    async with bot.app.db.reading() as s:
        contact = await s.scalar(select(Contact).where(Contact.user_id == "3001"))
    assert contact is not None and contact.active is False
    # ... and the bot is still there for the other person.
    await other.send_command("faq")
    assert (await other.wait_for_message()).buttons


async def test_a_duplicate_update_is_handled_once_even_after_a_restart(bot: RunningBot, tg: FakeTelegram) -> None:
    u = user(tg, 4001, "重复")
    raw = {
        "message_id": 77,
        "from": u.user,
        "chat": {"id": u.chat_id, "type": "private", "first_name": u.first_name},
        "date": 1739152800,
        "text": "/faq",
        "entities": [{"type": "bot_command", "offset": 0, "length": 4}],
    }
    update_id = tg.inject_update({"message": raw})
    await u.wait_for_message()
    tg.inject_update({"update_id": update_id, "message": raw})  # Telegram delivers it again
    await _eventually(lambda: tg.pending_updates() == [])
    await bot.restart()  # a fresh process remembers nothing in memory: the database decides
    tg.inject_update({"update_id": update_id, "message": raw})
    await u.send_command("status")  # replies come in order per chat: a doubled /faq would show first
    after = await u.wait_for_message()
    assert after.text.startswith(t(bot, "status-unbound").split("\n")[0][:8])
    assert sent_ok(tg, "sendMessage", u) == 2
    async with bot.app.db.reading() as s:
        n = await s.scalar(select(func.count()).select_from(ProcessedUpdate).where(ProcessedUpdate.chat_id == "4001"))
    assert n == 2


async def test_slow_telegram_for_one_chat_does_not_hold_the_others(bot: RunningBot, tg: FakeTelegram) -> None:
    tg.slow("answerCallbackQuery", 1.0)
    slow, quick = user(tg, 5001, "慢"), user(tg, 5002, "快")
    await slow.send_command("faq")
    await slow.wait_for_message()
    await slow.press((slow.buttons() or ["?"])[0])
    await asyncio.sleep(0.1)
    started = asyncio.get_running_loop().time()
    await quick.send_command("start")
    await quick.wait_for_message(timeout=5)
    assert asyncio.get_running_loop().time() - started < 0.7


# -- webhook -------------------------------------------------------------------------------------------------
async def test_webhook_serves_and_refuses_a_wrong_secret(webhook_bot: RunningBot, tg: FakeTelegram) -> None:
    assert webhook_bot.webhook is not None
    u = user(tg, 6001, "钩子")
    await u.send_command("start")
    reply = await u.wait_for_message()
    assert reply.buttons
    assert {d.status for d in tg.webhook_deliveries} == {200}
    body = {
        "update_id": 999_999,
        "message": {
            "message_id": 5,
            "date": 1739152800,
            "from": u.user,
            "chat": {"id": u.chat_id, "type": "private"},
            "text": "/faq",
        },
    }
    async with aiohttp.ClientSession() as http:
        for headers in ({"X-Telegram-Bot-Api-Secret-Token": "wrong"}, {}):
            async with http.post(webhook_bot.webhook.url, json=body, headers=headers) as resp:
                assert resp.status == 403
        assert await processed(webhook_bot, u) == {str(tg.webhook_deliveries[0].update_id)}  # nothing new
        assert len(u.messages) == 1
        good = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        async with http.post(webhook_bot.webhook.url, json=body, headers=good) as resp:
            assert resp.status == 200
        # 200 came only once the update was committed.
        assert "999999" in await processed(webhook_bot, u)


async def processed(bot: RunningBot, u: FakeUser) -> set[str]:
    async with bot.app.db.reading() as s:
        q = select(ProcessedUpdate.update_id).where(ProcessedUpdate.chat_id == str(u.chat_id))
        return set(await s.scalars(q))


async def _eventually(check: object, timeout: float = 5) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
    return True


async def test_start_up_waits_out_an_unreachable_bot_api(app: App, tg: FakeTelegram, transport_name: str) -> None:
    tg.fail("getMe", 502, times=1)  # Telegram's front end has a bad moment as the bot starts
    running = RunningBot(tg, app, transport_name)
    await running.start()
    try:
        u = user(tg, 9101, "开机")
        await u.send_command("start")
        assert (await u.wait_for_message()).buttons
    finally:
        await running.stop()
