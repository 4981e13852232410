"""The fake Bot API server, exercised through python-telegram-bot and aiogram (and raw HTTP)."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import telegram
import telegram.error
from aiogram import Bot as AiogramBot
from aiogram import exceptions as aiogram_errors
from aiogram import types as aiogram_types
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web
from PIL import Image

from tests.fake_telegram import (
    AlbumDocument,
    FakeTelegram,
    FakeTelegramTimeout,
    RateLimits,
)
from tests.fake_telegram.formatting import parse_html, parse_markdown_v2, render

REPO = Path(__file__).resolve().parents[1]
pytest_plugins = ["tests.fake_telegram.pytest_plugin"]  # fake_telegram / fake_telegram_thread fixtures
pytestmark = [
    pytest.mark.timeout(30),
    # PTB 22 warns when RetryAfter.retry_after is read as an int, and about do_api_request.
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBUserWarning"),
]


def png(width: int = 400, height: int = 300, color: str = "red") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


# ---------------------------------------------------------------------------- library adapters
# One small adapter per client library, so each scenario runs unchanged through both.


class PTBClient:
    name = "ptb"
    BadRequest: type[Exception] = telegram.error.BadRequest
    Forbidden: type[Exception] = telegram.error.Forbidden
    RetryAfter: type[Exception] = telegram.error.RetryAfter
    Conflict: type[Exception] = telegram.error.Conflict

    def __init__(self, tg: FakeTelegram) -> None:
        self.bot = telegram.Bot(tg.token, base_url=tg.root + "/bot", base_file_url=tg.root + "/file/bot")

    async def __aenter__(self) -> PTBClient:
        await self.bot.initialize()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.bot.shutdown()

    @staticmethod
    def retry_after(exc: Exception) -> int:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PTB 22 warns about the int/timedelta migration
            value = exc.retry_after  # type: ignore[attr-defined]
        return int(value.total_seconds()) if isinstance(value, dt.timedelta) else int(value)

    async def get_me(self) -> Any:
        return await self.bot.get_me()

    async def send_message(
        self, chat_id: int, text: str, buttons: Sequence[tuple[str, str]] = (), parse_mode: str | None = None
    ) -> Any:
        markup = None
        if buttons:
            markup = telegram.InlineKeyboardMarkup(
                [[telegram.InlineKeyboardButton(label, callback_data=data)] for label, data in buttons]
            )
        return await self.bot.send_message(chat_id, text, reply_markup=markup, parse_mode=parse_mode)

    async def edit_text(self, chat_id: int, message_id: int, text: str, buttons: Sequence[tuple[str, str]] = ()) -> Any:
        markup = None
        if buttons:
            markup = telegram.InlineKeyboardMarkup(
                [[telegram.InlineKeyboardButton(label, callback_data=data)] for label, data in buttons]
            )
        return await self.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id, reply_markup=markup)

    async def answer(self, query_id: str, text: str) -> bool:
        return await self.bot.answer_callback_query(query_id, text=text, show_alert=True)

    async def send_document(self, chat_id: int, data: bytes, filename: str, caption: str | None = None) -> Any:
        return await self.bot.send_document(chat_id, data, filename=filename, caption=caption)

    async def send_document_id(self, chat_id: int, file_id: str) -> Any:
        return await self.bot.send_document(chat_id, file_id)

    async def send_photo(self, chat_id: int, data: bytes, caption: str | None = None) -> Any:
        return await self.bot.send_photo(chat_id, data, caption=caption)

    async def send_media_group(self, chat_id: int, photos: list[bytes], caption: str) -> Sequence[Any]:
        media = [telegram.InputMediaPhoto(p, caption=caption if i == 0 else None) for i, p in enumerate(photos)]
        return await self.bot.send_media_group(chat_id, media)

    async def get_updates(self, offset: int | None = None, timeout: int = 0, **kw: Any) -> Sequence[Any]:
        return await self.bot.get_updates(offset=offset, timeout=timeout, **kw)

    async def download(self, file_id: str) -> bytes:
        f = await self.bot.get_file(file_id)
        return bytes(await f.download_as_bytearray())

    async def set_webhook(self, url: str, secret: str) -> bool:
        return await self.bot.set_webhook(url, secret_token=secret, max_connections=2)

    async def delete_webhook(self) -> bool:
        return await self.bot.delete_webhook()

    async def webhook_info(self) -> Any:
        return await self.bot.get_webhook_info()

    async def set_commands(self, commands: list[tuple[str, str]], chat_id: int, language_code: str) -> bool:
        return await self.bot.set_my_commands(
            [telegram.BotCommand(c, d) for c, d in commands],
            scope=telegram.BotCommandScopeChat(chat_id),
            language_code=language_code,
        )

    async def get_commands(self, chat_id: int, language_code: str) -> list[tuple[str, str]]:
        cmds = await self.bot.get_my_commands(scope=telegram.BotCommandScopeChat(chat_id), language_code=language_code)
        return [(c.command, c.description) for c in cmds]


class AiogramClient:
    name = "aiogram"
    BadRequest: type[Exception] = aiogram_errors.TelegramBadRequest
    Forbidden: type[Exception] = aiogram_errors.TelegramForbiddenError
    RetryAfter: type[Exception] = aiogram_errors.TelegramRetryAfter
    Conflict: type[Exception] = aiogram_errors.TelegramConflictError

    def __init__(self, tg: FakeTelegram) -> None:
        self.bot = AiogramBot(tg.token, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.root)))

    async def __aenter__(self) -> AiogramClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.bot.session.close()

    @staticmethod
    def retry_after(exc: Exception) -> int:
        return int(exc.retry_after)  # type: ignore[attr-defined]

    @staticmethod
    def _markup(buttons: Sequence[tuple[str, str]]) -> aiogram_types.InlineKeyboardMarkup | None:
        if not buttons:
            return None
        return aiogram_types.InlineKeyboardMarkup(
            inline_keyboard=[[aiogram_types.InlineKeyboardButton(text=t, callback_data=d)] for t, d in buttons]
        )

    async def get_me(self) -> Any:
        return await self.bot.get_me()

    async def send_message(
        self, chat_id: int, text: str, buttons: Sequence[tuple[str, str]] = (), parse_mode: str | None = None
    ) -> Any:
        return await self.bot.send_message(chat_id, text, reply_markup=self._markup(buttons), parse_mode=parse_mode)

    async def edit_text(self, chat_id: int, message_id: int, text: str, buttons: Sequence[tuple[str, str]] = ()) -> Any:
        return await self.bot.edit_message_text(
            text=text, chat_id=chat_id, message_id=message_id, reply_markup=self._markup(buttons)
        )

    async def answer(self, query_id: str, text: str) -> bool:
        return await self.bot.answer_callback_query(query_id, text=text, show_alert=True)

    async def send_document(self, chat_id: int, data: bytes, filename: str, caption: str | None = None) -> Any:
        return await self.bot.send_document(chat_id, aiogram_types.BufferedInputFile(data, filename), caption=caption)

    async def send_document_id(self, chat_id: int, file_id: str) -> Any:
        return await self.bot.send_document(chat_id, file_id)

    async def send_photo(self, chat_id: int, data: bytes, caption: str | None = None) -> Any:
        return await self.bot.send_photo(chat_id, aiogram_types.BufferedInputFile(data, "photo.png"), caption=caption)

    async def send_media_group(self, chat_id: int, photos: list[bytes], caption: str) -> Sequence[Any]:
        media = [
            aiogram_types.InputMediaPhoto(
                media=aiogram_types.BufferedInputFile(p, f"p{i}.png"), caption=caption if i == 0 else None
            )
            for i, p in enumerate(photos)
        ]
        return await self.bot.send_media_group(chat_id, media)  # type: ignore[arg-type]

    async def get_updates(self, offset: int | None = None, timeout: int = 0, **kw: Any) -> Sequence[Any]:
        return await self.bot.get_updates(offset=offset, timeout=timeout, **kw)

    async def download(self, file_id: str) -> bytes:
        f = await self.bot.get_file(file_id)
        assert f.file_path is not None
        buf = await self.bot.download_file(f.file_path)
        assert buf is not None
        return buf.getvalue()

    async def set_webhook(self, url: str, secret: str) -> bool:
        return await self.bot.set_webhook(url, secret_token=secret, max_connections=2)

    async def delete_webhook(self) -> bool:
        return await self.bot.delete_webhook()

    async def webhook_info(self) -> Any:
        return await self.bot.get_webhook_info()

    async def set_commands(self, commands: list[tuple[str, str]], chat_id: int, language_code: str) -> bool:
        return await self.bot.set_my_commands(
            [aiogram_types.BotCommand(command=c, description=d) for c, d in commands],
            scope=aiogram_types.BotCommandScopeChat(chat_id=chat_id),
            language_code=language_code,
        )

    async def get_commands(self, chat_id: int, language_code: str) -> list[tuple[str, str]]:
        cmds = await self.bot.get_my_commands(
            scope=aiogram_types.BotCommandScopeChat(chat_id=chat_id), language_code=language_code
        )
        return [(c.command, c.description) for c in cmds]


Client = PTBClient | AiogramClient


@pytest.fixture(params=[PTBClient, AiogramClient], ids=["ptb", "aiogram"])
async def client(request: pytest.FixtureRequest, tg: FakeTelegram) -> AsyncIterator[Client]:
    async with request.param(tg) as c:
        yield c


def ci(text: str) -> str:
    """A case-insensitive literal pattern: PTB capitalises descriptions ("Query is too old...")."""
    return "(?i)" + re.escape(text)


async def eventually(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def raw_call(tg: FakeTelegram, method: str, token: str | None = None, **params: Any) -> tuple[int, dict]:
    """POST a method as JSON, the way neither library does, to test the third encoding."""
    async with (
        aiohttp.ClientSession() as s,
        s.post(f"{tg.root}/bot{token or tg.token}/{method}", json=params) as resp,
    ):
        return resp.status, await resp.json()


# ---------------------------------------------------------------------------- both libraries


async def test_get_me(tg: FakeTelegram, client: Client) -> None:
    me = await client.get_me()
    assert me.id == tg.bot_id and me.is_bot and me.username == "eqa_test_bot"
    assert tg.calls("getMe", ok=True) and tg.errors() == []


async def test_send_message_with_keyboard_edit_and_callback(tg: FakeTelegram, client: Client) -> None:
    u = tg.user(user_id=1001, first_name="张三", language_code="zh-hans")
    await u.send_command("start")
    sent = await client.send_message(u.chat_id, "<b>选择</b> 实验室", [("确认", "ok"), ("取消", "no")], "HTML")
    assert sent.text == "选择 实验室" and sent.entities[0].type == "bold" and sent.entities[0].length == 2
    assert sent.reply_markup.inline_keyboard[0][0].callback_data == "ok"

    seen = await u.wait_for_message()
    assert seen.kind == "new" and seen.text == "选择 实验室" and u.buttons() == ["确认", "取消"]

    qid = await u.press("确认")
    updates = await client.get_updates(timeout=1)
    query = updates[-1].callback_query
    assert query.id == qid and query.data == "ok" and query.message.message_id == sent.message_id
    assert query.from_user.id == 1001
    assert await client.answer(qid, "已确认") is True
    assert (await u.wait_for_answer(qid)) == {"text": "已确认", "show_alert": True}
    with pytest.raises(client.BadRequest, match=ci("query is too old")):
        await client.answer(qid, "twice")

    edited = await client.edit_text(u.chat_id, sent.message_id, "已确认 ✅")
    assert edited.text == "已确认 ✅" and edited.edit_date is not None
    change = await u.wait_for_message()
    assert change.kind == "edit" and change.text == "已确认 ✅" and change.buttons == []  # no markup: removed
    assert [m.text for m in u.messages] == ["已确认 ✅"] and tg.bot_messages(u.chat_id)[0].edited

    with pytest.raises(client.BadRequest, match=ci("message is not modified: specified new message content")):
        await client.edit_text(u.chat_id, sent.message_id, "已确认 ✅")
    with pytest.raises(client.BadRequest, match=ci("message to edit not found")):
        await client.edit_text(u.chat_id, 9999, "x")
    with pytest.raises(client.BadRequest, match=ci("chat not found")):
        await client.send_message(424242, "nobody there")


async def test_user_updates_reach_the_bot_and_photo_downloads(tg: FakeTelegram, client: Client) -> None:
    u = tg.user(2002, "Li")
    photo_bytes = png(800, 600)
    await u.send_text("hello")
    await u.send_command("start", "lab-42")
    await client.send_message(u.chat_id, "pick", [("A", "a")])
    await u.press("A")
    await u.send_photo(photo_bytes, caption="my lab")

    updates = await client.get_updates(timeout=1)
    assert [x.update_id for x in updates] == sorted(x.update_id for x in updates) and len(updates) == 4
    text, command, press, photo = updates
    assert text.message.text == "hello" and text.message.chat.id == 2002 and text.message.chat.type == "private"
    assert command.message.text == "/start lab-42"
    assert (command.message.entities[0].type, command.message.entities[0].offset) == ("bot_command", 0)
    assert press.callback_query.data == "a"
    sizes = photo.message.photo
    assert len(sizes) == 3 and (sizes[-1].width, sizes[-1].height) == (800, 600) and sizes[0].width == 90
    assert photo.message.caption == "my lab"
    assert await client.download(sizes[-1].file_id) == photo_bytes
    thumb = await client.download(sizes[0].file_id)
    assert Image.open(io.BytesIO(thumb)).size == (90, 68)

    # Not confirmed yet: asking again returns the same updates; confirming with offset drops them.
    again = await client.get_updates()
    assert [x.update_id for x in again] == [x.update_id for x in updates]
    assert list(await client.get_updates(offset=updates[-1].update_id + 1)) == []
    assert tg.pending_updates() == []


async def test_send_document_photo_and_resend_by_file_id(tg: FakeTelegram, client: Client) -> None:
    u = tg.user(3003, "Wang")
    pdf = b"%PDF-1.4\n% fake report\n%%EOF\n"
    doc = await client.send_document(u.chat_id, pdf, "报名表.pdf", caption="请查收")
    assert doc.document.file_name == "报名表.pdf" and doc.document.mime_type == "application/pdf"
    assert doc.document.file_size == len(pdf) and doc.caption == "请查收"
    again = await client.send_document_id(u.chat_id, doc.document.file_id)
    assert again.document.file_unique_id == doc.document.file_unique_id
    photo = await client.send_photo(u.chat_id, png(1000, 500), caption="chart")
    assert (photo.photo[-1].width, photo.photo[-1].height) == (1000, 500)

    files = tg.sent_files(u)
    assert [(f.kind, f.filename) for f in files] == [
        ("document", "报名表.pdf"),
        ("document", "报名表.pdf"),
        ("photo", None),
    ]
    assert files[0].data == pdf and files[0].mime_type == "application/pdf" and files[0].caption == "请查收"
    assert await client.download(doc.document.file_id) == pdf
    assert (await u.wait_for_message()).document["file_name"] == "报名表.pdf"

    with pytest.raises(client.BadRequest, match=ci("IMAGE_PROCESS_FAILED")):
        await client.send_photo(u.chat_id, b"not an image")
    with pytest.raises(client.BadRequest, match=ci("wrong file identifier")):
        await client.send_document_id(u.chat_id, "NoSuchFileId")


async def test_send_media_group(tg: FakeTelegram, client: Client) -> None:
    u = tg.user(4004, "Zhao")
    msgs = await client.send_media_group(u.chat_id, [png(color="red"), png(color="blue"), png(color="green")], "三张")
    assert len(msgs) == 3 and len({m.media_group_id for m in msgs}) == 1 and msgs[0].media_group_id
    assert msgs[0].caption == "三张" and msgs[1].caption is None
    assert [f.kind for f in tg.sent_files(u)] == ["photo"] * 3
    assert len({f.data for f in tg.sent_files(u)}) == 3
    with pytest.raises(client.BadRequest, match=ci("2-10 items")):
        await client.send_media_group(u.chat_id, [png()], "one")
    with pytest.raises(client.BadRequest, match=ci("too many messages to send as an album")):
        await client.send_media_group(u.chat_id, [png(10, 10)] * 11, "eleven")


async def test_webhook_with_secret_redelivers_until_2xx(tg: FakeTelegram, client: Client) -> None:
    received: list[tuple[dict[str, Any], str | None]] = []
    statuses = iter([500])  # the first delivery fails, then the handler answers 200

    async def handler(request: web.Request) -> web.Response:
        received.append((await request.json(), request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        return web.Response(status=next(statuses, 200))

    app = web.Application()
    app.router.add_post("/hook", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        u = tg.user(5005, "Sun")
        assert await client.set_webhook(f"http://127.0.0.1:{port}/hook", "s3cr3t-token") is True
        with pytest.raises(client.Conflict, match=ci("can't use getUpdates method while webhook is active")):
            await client.get_updates()
        await u.send_text("via webhook")
        await eventually(lambda: len(received) >= 2 and not tg.pending_updates())
        assert [r[0]["message"]["text"] for r in received] == ["via webhook", "via webhook"]
        assert {r[1] for r in received} == {"s3cr3t-token"}
        assert [d.status for d in tg.webhook_deliveries] == [500, 200]
        info = await client.webhook_info()
        assert info.url.endswith("/hook") and info.pending_update_count == 0 and info.max_connections == 2
        assert "500" in (info.last_error_message or "")
        assert await client.delete_webhook() is True
        assert list(await client.get_updates()) == []
    finally:
        await runner.cleanup()


async def test_set_my_commands_per_scope_and_language(tg: FakeTelegram, client: Client) -> None:
    u = tg.user(6006, "Qian")
    assert await client.set_commands([("start", "开始"), ("help", "帮助")], u.chat_id, "zh") is True
    assert await client.get_commands(u.chat_id, "zh") == [("start", "开始"), ("help", "帮助")]
    assert await client.get_commands(u.chat_id, "en") == []
    assert tg.commands({"type": "chat", "chat_id": u.chat_id}, "zh")[0]["command"] == "start"
    with pytest.raises(client.BadRequest, match=ci("BOT_COMMAND_INVALID")):
        await client.set_commands([("Bad-Command", "x")], u.chat_id, "zh")


async def test_injected_429_is_retry_after(tg: FakeTelegram, client: Client) -> None:
    u = tg.user(7007, "Zhou")
    fault = tg.fail("sendMessage", status=429, retry_after=3, times=1)
    with pytest.raises(client.RetryAfter) as caught:
        await client.send_message(u.chat_id, "first")
    assert client.retry_after(caught.value) == 3
    assert (await client.send_message(u.chat_id, "second")).text == "second"
    assert fault.hits == 1
    failed = tg.calls("sendMessage", ok=False)[0]
    assert failed.status == 429 and failed.error == "Too Many Requests: retry after 3" and failed.injected
    assert tg.errors() == []  # injected failures are not the bot's mistakes


async def test_blocked_user_is_forbidden(tg: FakeTelegram, client: Client) -> None:
    u = tg.user(8008, "Wu")
    tg.block(u)
    with pytest.raises(client.Forbidden, match=ci("bot was blocked by the user")):
        await client.send_message(u.chat_id, "hello?")
    tg.unblock(u)
    assert (await client.send_message(u.chat_id, "hello!")).text == "hello!"


async def test_overlapping_get_updates_conflict(tg: FakeTelegram, client: Client) -> None:
    other = type(client)(tg)  # a second bot instance with the same token
    async with other:
        first = asyncio.create_task(client.get_updates(timeout=5))
        await eventually(lambda: tg.long_poll_active)
        with pytest.raises(client.Conflict, match=ci("terminated by other getUpdates request")):
            await asyncio.gather(first, other.get_updates(timeout=0))
        assert list(await other.get_updates()) == []


async def test_file_too_big_for_get_file(tg: FakeTelegram, client: Client) -> None:
    u = tg.user(9009, "Zheng")
    msg = await u.send_document(b"\0" * (20 * 1024 * 1024 + 1), "scan.tif", "image/tiff")
    with pytest.raises(client.BadRequest, match=ci("file is too big")):
        await client.download(msg["document"]["file_id"])


async def test_rate_limit_enforcer_answers_429(client: Client) -> None:
    limits = RateLimits(per_second_global=30, per_second_per_chat=1, per_minute_per_group=20, scale=1.0)
    async with FakeTelegram(rate_limits=limits) as tg, type(client)(tg) as c:
        u = tg.user(1111, "Feng")
        await c.send_message(u.chat_id, "one")
        with pytest.raises(c.RetryAfter) as caught:
            await c.send_message(u.chat_id, "two")
        assert c.retry_after(caught.value) == 1
        other = tg.user(2222, "Chen")
        await c.send_message(other.chat_id, "different chat is fine")
        assert tg.rate_limited_count == 1 and limits.hits == 1


async def test_missing_required_parameter(tg: FakeTelegram) -> None:
    tg.user(1212, "Chu")
    bot = telegram.Bot(tg.token, base_url=tg.api_base_url)
    async with bot:
        with pytest.raises(telegram.error.BadRequest, match=ci('parameter "text" is required')):
            await bot.do_api_request("sendMessage", api_kwargs={"chat_id": 1212})
    status, body = await raw_call(tg, "sendMessage", text="no chat")
    assert status == 400 and body == {
        "ok": False,
        "error_code": 400,
        "description": 'Bad Request: parameter "chat_id" is required',
    }


# ---------------------------------------------------------------------------- whole frameworks


async def test_ptb_application_polling_end_to_end(tg: FakeTelegram) -> None:
    from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

    async def start(update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        keyboard = telegram.InlineKeyboardMarkup([[telegram.InlineKeyboardButton("报名", callback_data="enrol")]])
        await update.message.reply_text(f"欢迎 {context.args[0]}", reply_markup=keyboard, do_quote=True)

    async def pressed(update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer("已记录")
        await update.callback_query.edit_message_text("已报名")

    async def photo(update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        data = await (await update.message.photo[-1].get_file()).download_as_bytearray()
        await update.message.reply_document(bytes(data), filename="echo.png")

    app = Application.builder().token(tg.token).base_url(tg.api_base_url).base_file_url(tg.file_base_url).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    app.add_handler(MessageHandler(filters.PHOTO, photo))
    u = tg.user(3131, "张三", language_code="zh-hans")
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=2, drop_pending_updates=True)
        await u.send_command("start", "lab-7")
        welcome = await u.wait_for_message()
        assert welcome.text == "欢迎 lab-7" and welcome.raw["reply_to_message"]["text"] == "/start lab-7"
        query = await u.press("报名")
        assert (await u.wait_for_answer(query))["text"] == "已记录"
        assert (await u.wait_for_message()).text == "已报名"
        image = png(64, 64)
        await u.send_photo(image)
        assert (await u.wait_for_message()).document["file_name"] == "echo.png"
        assert tg.sent_files(u)[-1].data == image
        await app.updater.stop()
        await app.stop()
    assert tg.errors() == []  # the poll PTB abandons on shutdown is not an error


async def test_aiogram_dispatcher_polling_end_to_end(tg: FakeTelegram) -> None:
    from aiogram import Dispatcher, F, Router
    from aiogram.filters import CommandObject, CommandStart

    router = Router()

    @router.message(CommandStart())
    async def start(message: aiogram_types.Message, command: CommandObject) -> None:
        keyboard = aiogram_types.InlineKeyboardMarkup(
            inline_keyboard=[[aiogram_types.InlineKeyboardButton(text="报名", callback_data="enrol")]]
        )
        await message.reply(f"欢迎 {command.args}", reply_markup=keyboard)

    @router.callback_query(F.data == "enrol")
    async def pressed(query: aiogram_types.CallbackQuery) -> None:
        await query.answer("已记录")
        assert isinstance(query.message, aiogram_types.Message)
        await query.message.edit_text("已报名")

    dp = Dispatcher()
    dp.include_router(router)
    bot = AiogramBot(tg.token, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.root)))
    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=2))
    try:
        u = tg.user(3232, "李四")
        await u.send_command("start", "lab-8")
        assert (await u.wait_for_message()).text == "欢迎 lab-8"
        query = await u.press("报名")
        assert (await u.wait_for_answer(query))["text"] == "已记录"
        assert (await u.wait_for_message()).text == "已报名"
    finally:
        await dp.stop_polling()
        await polling
        await bot.session.close()
    assert tg.errors() == []


# ---------------------------------------------------------------------------- protocol details


async def test_tokens_methods_and_encodings(tg: FakeTelegram) -> None:
    u = tg.user(1313, "Wei")
    assert await raw_call(tg, "getMe", token="1:wrong") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    assert (await raw_call(tg, "noSuchMethod"))[0] == 404
    status, body = await raw_call(tg, "SENDMESSAGE", chat_id=u.chat_id, text="json body")
    assert status == 200 and body["result"]["text"] == "json body"
    assert tg.calls("sendMessage")[-1].encoding == "json"
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{tg.root}/bot{tg.token}/sendMessage", params={"chat_id": u.chat_id, "text": "q"}) as r:
            assert (await r.json())["result"]["text"] == "q"
        form = {"chat_id": str(u.chat_id), "text": "form", "reply_markup": json.dumps({"inline_keyboard": []})}
        async with s.post(f"{tg.root}/bot{tg.token}/sendMessage", data=form) as r:
            assert (await r.json())["result"]["text"] == "form"
    assert [c.encoding for c in tg.calls("sendMessage")] == ["json", "query", "urlencoded"]


async def test_strict_unknown_parameters_and_unimplemented_methods(tg: FakeTelegram) -> None:
    u = tg.user(1414, "Jiang")
    status, body = await raw_call(tg, "sendMessage", chat_id=u.chat_id, text="x", parse_mod="HTML")
    assert status == 400 and 'unknown parameter "parse_mod"' in body["description"]
    status, body = await raw_call(tg, "sendPoll", chat_id=u.chat_id)
    assert body["description"] == 'Bad Request: parameter "question" is required'
    status, body = await raw_call(tg, "sendPoll", chat_id=u.chat_id, question="?", options=[{"text": "a"}])
    assert body["description"] == "Bad Request: method not implemented by the fake server"
    assert [c.method for c in tg.unimplemented_calls()] == ["sendPoll"]
    lenient = FakeTelegram(strict_params=False)
    async with lenient:
        v = lenient.user(1, "x")
        status, body = await raw_call(lenient, "sendMessage", chat_id=v.chat_id, text="x", parse_mod="HTML")
        assert status == 200 and lenient.calls()[0].ignored_params == ["parse_mod"]


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"text": ""}, "Bad Request: message text is empty"),
        ({"text": "  \n "}, "Bad Request: message text is empty"),
        ({"text": "x" * 4097}, "Bad Request: message is too long"),
        ({"text": "<b>unclosed", "parse_mode": "HTML"}, "can't parse entities"),
        ({"text": "a < b", "parse_mode": "HTML"}, 'Unsupported start tag "" at byte offset 2'),
        ({"text": "1.5", "parse_mode": "MarkdownV2"}, "Character '.' is reserved"),
        (
            {"text": "x", "reply_markup": {"inline_keyboard": [[{"text": "b", "callback_data": "x" * 65}]]}},
            "Bad Request: BUTTON_DATA_INVALID",
        ),
        (
            {"text": "x", "reply_markup": {"inline_keyboard": [[{"text": "b", "callback_data": "é" * 33}]]}},
            "Bad Request: BUTTON_DATA_INVALID",
        ),
        ({"text": "x", "reply_markup": {"inline_keyboard": [[{"text": "b"}]]}}, "Text buttons are unallowed"),
        ({"text": "x", "reply_markup": {"inline_keyboard": [{"text": "b"}]}}, "should be an Array of Arrays"),
        ({"text": "x", "reply_parameters": {"message_id": 999}}, "message to be replied not found"),
    ],
)
async def test_send_message_limits(tg: FakeTelegram, params: dict[str, Any], error: str) -> None:
    u = tg.user(1515, "Shen")
    status, body = await raw_call(tg, "sendMessage", chat_id=u.chat_id, **params)
    assert status == 400 and error in body["description"]
    assert u.messages == []


async def test_text_of_exactly_4096_chars_and_caption_limit(tg: FakeTelegram) -> None:
    u = tg.user(1616, "Han")
    assert (await raw_call(tg, "sendMessage", chat_id=u.chat_id, text="字" * 4096))[0] == 200
    async with aiohttp.ClientSession() as s:
        form = aiohttp.FormData()
        form.add_field("chat_id", str(u.chat_id))
        form.add_field("caption", "c" * 1025)
        form.add_field("document", b"data", filename="a.txt")
        async with s.post(f"{tg.root}/bot{tg.token}/sendDocument", data=form) as r:
            assert (await r.json())["description"] == "Bad Request: message caption is too long"


async def test_upload_size_limits(tg: FakeTelegram) -> None:
    u = tg.user(1717, "Yang")
    async with aiohttp.ClientSession() as s:
        form = aiohttp.FormData()
        form.add_field("chat_id", str(u.chat_id))
        form.add_field("photo", b"\0" * (10 * 1024 * 1024 + 1), filename="big.jpg")
        async with s.post(f"{tg.root}/bot{tg.token}/sendPhoto", data=form) as r:
            assert "too big for a photo" in (await r.json())["description"]
        form = aiohttp.FormData()
        form.add_field("chat_id", str(u.chat_id))
        form.add_field("document", b"\0" * (50 * 1024 * 1024 + 1), filename="big.bin")
        async with s.post(f"{tg.root}/bot{tg.token}/sendDocument", data=form) as r:
            assert r.status == 413 and (await r.json())["description"] == "Request Entity Too Large"
    assert tg.sent_files() == []


async def test_edit_caption_and_markup_and_delete(tg: FakeTelegram) -> None:
    u = tg.user(1818, "Qin")
    bot = telegram.Bot(tg.token, base_url=tg.api_base_url)
    async with bot:
        keyboard = telegram.InlineKeyboardMarkup([[telegram.InlineKeyboardButton("Go", callback_data="go")]])
        doc = await bot.send_document(u.chat_id, b"abc", filename="a.csv", caption="v1", reply_markup=keyboard)
        await bot.edit_message_caption(u.chat_id, doc.message_id, caption="v2", reply_markup=keyboard)
        assert u.last_message is not None and u.last_message.caption == "v2" and u.buttons() == ["Go"]
        with pytest.raises(telegram.error.BadRequest, match=ci("message is not modified")):
            await bot.edit_message_reply_markup(u.chat_id, doc.message_id, reply_markup=keyboard)
        await bot.edit_message_reply_markup(u.chat_id, doc.message_id, reply_markup=None)
        assert u.buttons() == []
        with pytest.raises(telegram.error.BadRequest, match=ci("there is no text in the message to edit")):
            await bot.edit_message_text("t", u.chat_id, doc.message_id)
        user_msg = await u.send_text("mine")
        with pytest.raises(telegram.error.BadRequest, match=ci("message can't be edited")):
            await bot.edit_message_text("t", u.chat_id, user_msg["message_id"])
        assert await bot.delete_message(u.chat_id, doc.message_id) is True
        assert u.messages == [] and tg.bot_messages(u, include_deleted=True)[0].deleted
        with pytest.raises(telegram.error.BadRequest, match=ci("message to delete not found")):
            await bot.delete_message(u.chat_id, doc.message_id)
        assert await bot.send_chat_action(u.chat_id, "upload_document") is True
        assert await bot.set_chat_menu_button(u.chat_id, telegram.MenuButtonCommands()) is True
        assert tg.menu_button(u.chat_id) == {"type": "commands"}
        assert await bot.close() is True and await bot.log_out() is True
        assert tg.closed and tg.logged_out


async def test_user_helpers_press_errors_albums_groups(tg: FakeTelegram) -> None:
    u = tg.user(1919, "You")
    await raw_call(
        tg,
        "sendMessage",
        chat_id=u.chat_id,
        text="menu",
        reply_markup={
            "inline_keyboard": [
                [{"text": "提交报名表", "callback_data": "submit"}, {"text": "Site", "url": "https://example.org"}]
            ]
        },
    )
    with pytest.raises(LookupError, match=r"no inline button labelled '提交' .*提交报名表"):
        await u.press("提交")
    qid = await u.press("提交", substring=True)
    with pytest.raises(LookupError, match="has no callback_data"):
        await u.press("Site")
    assert tg.pending_updates()[-1]["callback_query"]["id"] == qid
    with pytest.raises(FakeTelegramTimeout, match="no matching bot message"):
        await u.wait_for_message(timeout=0.05)

    sent = await u.send_album([png(color="red"), AlbumDocument(b"doc", "b.pdf")], caption="two")
    assert len({m["media_group_id"] for m in sent}) == 1 and sent[0]["caption"] == "two"

    group = tg.group("EQA 2026", username="eqa_group")
    a, b = group.member(tg.user(1, "A")), group.member(tg.user(2, "B"))
    await a.send_command("help", mention_bot=True)
    await b.send_text("hi all")
    status, body = await raw_call(tg, "sendMessage", chat_id="@eqa_group", text="hello group")
    assert status == 200 and body["result"]["chat"]["type"] == "supergroup"
    assert (await a.wait_for_message()).text == "hello group" and group.last_message is not None
    msgs = [x["message"] for x in tg.pending_updates()[-2:]]
    assert msgs[0]["text"] == "/help@eqa_test_bot" and msgs[0]["entities"][0]["length"] == len("/help@eqa_test_bot")
    assert msgs[1]["from"]["id"] == 2 and msgs[1]["chat"]["id"] == group.chat_id

    ids = [x["update_id"] for x in tg.pending_updates()]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


async def test_reply_keyboard_choose_and_contact(tg: FakeTelegram) -> None:
    u = tg.user(2626, "Tang")
    keyboard = {"keyboard": [[{"text": "分享手机号", "request_contact": True}], ["跳过"]], "resize_keyboard": True}
    status, body = await raw_call(tg, "sendMessage", chat_id=u.chat_id, text="手机号?", reply_markup=keyboard)
    assert status == 200 and "reply_markup" not in body["result"]  # Telegram echoes only inline keyboards
    assert u.reply_keyboard() == ["分享手机号", "跳过"] and u.last_message is not None
    assert u.last_message.reply_buttons == ["分享手机号", "跳过"]
    contact = await u.choose("分享手机号")
    assert contact["contact"]["user_id"] == 2626 and contact["contact"]["phone_number"].startswith("+86")
    assert (await u.choose("跳过"))["text"] == "跳过"
    with pytest.raises(LookupError, match="no reply keyboard button"):
        await u.choose("其他")
    await raw_call(tg, "sendMessage", chat_id=u.chat_id, text="好的", reply_markup={"remove_keyboard": True})
    assert u.reply_keyboard() == []


async def test_duplicate_update_injection_and_allowed_updates(tg: FakeTelegram) -> None:
    u = tg.user(2020, "Xu")
    await u.send_text("first")
    bot = telegram.Bot(tg.token, base_url=tg.api_base_url)
    async with bot:
        [first] = await bot.get_updates()
        await bot.get_updates(offset=first.update_id + 1)
        dup = tg.inject_update(first.to_dict())
        assert dup == first.update_id
        [again] = await bot.get_updates(offset=first.update_id + 1)
        assert again.update_id == first.update_id and again.message.text == "first"
        assert await bot.get_updates(offset=first.update_id + 1) == ()

        await u.send_text("ignored")
        await bot.send_message(
            u.chat_id,
            "pick",
            reply_markup=telegram.InlineKeyboardMarkup([[telegram.InlineKeyboardButton("X", callback_data="x")]]),
        )
        await u.press("X")
        only_queries = await bot.get_updates(allowed_updates=["callback_query"])
        assert [x.callback_query.data for x in only_queries] == ["x"]


async def test_long_poll_wakes_on_new_update_and_slow_methods(tg: FakeTelegram) -> None:
    u = tg.user(2121, "He")
    bot = telegram.Bot(tg.token, base_url=tg.api_base_url)
    async with bot:
        started = time.monotonic()
        poll = asyncio.create_task(bot.get_updates(timeout=10))
        await asyncio.sleep(0.1)
        await u.send_text("wake up")
        [update] = await poll
        assert update.message.text == "wake up" and time.monotonic() - started < 2
        tg.slow("sendMessage", 0.3)
        started = time.monotonic()
        await bot.send_message(u.chat_id, "slow")
        assert time.monotonic() - started >= 0.3


async def test_server_errors_and_dropped_connections(tg: FakeTelegram) -> None:
    u = tg.user(2222, "Lv")
    tg.fail("sendMessage", status=500, times=1)
    tg.fail("getMe", disconnect=True, times=1)
    ab = AiogramBot(tg.token, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.root)))
    try:
        with pytest.raises(aiogram_errors.TelegramServerError):
            await ab.send_message(u.chat_id, "x")
        with pytest.raises(aiogram_errors.TelegramNetworkError):
            await ab.get_me()
        assert (await ab.get_me()).id == tg.bot_id
    finally:
        await ab.session.close()
    assert [c.status for c in tg.calls()] == [500, 0, 200]


async def test_webhook_response_method_is_executed(tg: FakeTelegram) -> None:
    u = tg.user(2323, "Shi")

    async def handler(request: web.Request) -> web.Response:
        update = await request.json()
        chat = update["message"]["chat"]["id"]
        return web.json_response({"method": "sendMessage", "chat_id": chat, "text": "answered inline"})

    app = web.Application()
    app.router.add_post("/", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        assert (await raw_call(tg, "setWebhook", url=f"http://127.0.0.1:{runner.addresses[0][1]}/"))[0] == 200
        await u.send_text("hi")
        assert (await u.wait_for_message()).text == "answered inline"
        assert tg.calls("sendMessage")[0].encoding == "webhook-response"
    finally:
        await raw_call(tg, "deleteWebhook")
        await runner.cleanup()


async def test_webhook_respects_max_connections(tg: FakeTelegram) -> None:
    active, peak, seen = 0, 0, []

    async def handler(request: web.Request) -> web.Response:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.1)
        seen.append((await request.json())["message"]["text"])
        active -= 1
        return web.Response()

    app = web.Application()
    app.router.add_post("/", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        u = tg.user(2424, "Zhang")
        for i in range(5):
            await u.send_text(f"m{i}")
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
        assert (await raw_call(tg, "setWebhook", url=url, max_connections=2))[0] == 200
        await eventually(lambda: len(seen) == 5)
        assert peak == 2 and sorted(seen) == [f"m{i}" for i in range(5)]
        _, info = await raw_call(tg, "getWebhookInfo")
        assert info["result"]["pending_update_count"] == 0 and "secret" not in json.dumps(info)
    finally:
        await raw_call(tg, "deleteWebhook")
        await runner.cleanup()


async def test_thread_mode_from_the_test_loop() -> None:
    tg = FakeTelegram(bot_username="threaded_bot").start_in_thread()
    try:
        assert tg.running and tg.long_poll_active is False
        u = tg.user(2525, "Ma")
        group = tg.group("Lab group", type="group")
        bot = AiogramBot(tg.token, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.root)))
        try:
            poll = asyncio.create_task(bot.get_updates(timeout=5))
            await eventually(lambda: tg.long_poll_active)
            await u.send_text("from another loop")
            [update] = await poll
            assert update.message is not None and update.message.text == "from another loop"
            await bot.send_message(u.chat_id, "reply", reply_markup=AiogramClient._markup([("OK", "ok")]))
            assert (await u.wait_for_message(timeout=2)).text == "reply"
            qid = await u.press("OK")
            [update] = await bot.get_updates(offset=update.update_id + 1)
            assert update.callback_query is not None and update.callback_query.id == qid
            await bot.answer_callback_query(qid, text="noted")
            assert (await u.wait_for_answer(qid, timeout=2))["text"] == "noted"
            call = await tg.wait_for_call("sendMessage", timeout=2)
            assert call.params["chat_id"] == u.chat_id and call.encoding == "urlencoded"
            tg.block(group)
            with pytest.raises(aiogram_errors.TelegramForbiddenError, match="kicked from the group chat"):
                await bot.send_message(group.chat_id, "hi")
        finally:
            await bot.session.close()
        with pytest.raises(FakeTelegramTimeout):
            await u.wait_for_message(timeout=0.05)
        with pytest.raises(LookupError, match="unknown chat"):
            tg.block(999)
    finally:
        tg.stop()
    assert not tg.running


async def test_pytest_plugin_fixtures(fake_telegram: FakeTelegram, fake_telegram_thread: FakeTelegram) -> None:
    for server in (fake_telegram, fake_telegram_thread):
        status, body = await raw_call(server, "getMe")
        assert status == 200 and body["result"]["username"] == "eqa_test_bot"
    assert fake_telegram.root != fake_telegram_thread.root


def test_rate_limits_scale_and_group_window() -> None:
    limits = RateLimits(per_second_global=1000, per_second_per_chat=1000, per_minute_per_group=20, scale=60)
    for i in range(20):
        assert limits.peek(-5, is_group=True, now=100.0 + i * 0.001) is None
        limits.record(-5, is_group=True, now=100.0 + i * 0.001)
    assert limits.peek(-5, is_group=True, now=100.5) == 1  # scaled: 20 per second, at least 1 s
    assert limits.peek(-5, is_group=True, now=101.1) is None
    slow = RateLimits(per_minute_per_group=20)
    for _ in range(20):
        slow.record(-6, is_group=True, now=0.0)
    assert slow.peek(-6, is_group=True, now=30.0) == 30 and slow.hits == 1


def test_formatting_matches_telegram() -> None:
    assert parse_html('<b>粗</b> <a href="https://x.org">l&amp;nk</a>') == (
        "粗 l&nk",
        [
            {"type": "bold", "offset": 0, "length": 1},
            {"type": "text_link", "offset": 2, "length": 4, "url": "https://x.org"},
        ],
    )
    text, ents = parse_markdown_v2(r"😀 *bold* \. `co\`de`")
    assert text == "😀 bold . co`de"
    assert ents == [{"type": "bold", "offset": 3, "length": 4}, {"type": "code", "offset": 10, "length": 5}]
    assert render("  <i>x</i>  ", "HTML", None) == ("x", [{"type": "italic", "offset": 0, "length": 1}])


# ---------------------------------------------------------------------------- thread mode, subprocess bot

ECHO_BOT = textwrap.dedent(
    """
    import asyncio, sys, aiohttp

    async def main(root, token, crash):
        api = f"{root}/bot{token}/"
        offset = None
        async with aiohttp.ClientSession() as s:
            while True:
                params = {"timeout": 5, **({"offset": offset} if offset else {})}
                async with s.post(api + "getUpdates", data=params) as r:
                    updates = (await r.json())["result"]
                for u in updates:
                    text = u["message"]["text"]
                    if text == "crash" and crash:
                        await asyncio.sleep(30)  # killed here, before confirming the offset
                    data = {"chat_id": u["message"]["chat"]["id"], "text": "echo: " + text}
                    async with s.post(api + "sendMessage", data=data) as r:
                        assert r.status == 200
                    offset = u["update_id"] + 1

    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] == "crash"))
    """
)


def start_bot(tg: FakeTelegram, mode: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", ECHO_BOT, tg.root, tg.token, mode], cwd=REPO)


async def test_thread_mode_with_a_bot_subprocess_that_crashes() -> None:
    tg = FakeTelegram.start_in_thread()
    bot = start_bot(tg, "crash")
    try:
        u = tg.user(3030, "Kong")
        await u.send_text("hello")
        assert (await u.wait_for_message(timeout=10)).text == "echo: hello"
        since = len(tg.calls())
        await u.send_text("crash")
        await tg.wait_for_call("getUpdates", predicate=lambda c: bool(c.result), since=since, timeout=10)
        bot.send_signal(signal.SIGKILL)  # dies while "handling" the update, before confirming it
        bot.wait(5)
        bot = start_bot(tg, "normal")  # the restarted bot receives the unconfirmed update again
        await u.send_text("after restart")
        seen = [(await u.wait_for_message(timeout=10)).text for _ in range(2)]
        assert seen == ["echo: crash", "echo: after restart"]
    finally:
        bot.kill()
        bot.wait(5)
        tg.stop()


def test_standalone_cli_starts() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_telegram", "--port", "0"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert line.startswith("fake Telegram Bot API on http://127.0.0.1:")
    finally:
        proc.terminate()
        proc.wait(5)
