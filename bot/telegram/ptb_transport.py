"""The python-telegram-bot transport (the default): the Bot API through `telegram.Bot`.

PTB's Application/Updater are not used: the Updater confirms updates when it fetches the next batch,
whether or not they were handled, and ConversationHandler keeps state in memory. Polling is ours
(`bot.runner.Poller`), state is in the database; PTB does the HTTP, the types and the parsing.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import telegram
from telegram import error as tg_error
from telegram.request import HTTPXRequest

from bot.telegram.common import MAX_DOWNLOAD, FileTooBig, TelegramTransport
from bot.telegram.errors import ErrorKind
from bot.telegram.inbound import ALLOWED_UPDATES
from bot.telegram.menus import CommandMenu
from bot.telegram.outbound import ApiCall, InputFileSpec
from conversations.events import Keyboard, Toast
from storage.files import DocumentStore


class PTBTransport(TelegramTransport):
    name = "ptb"

    def __init__(self, token: str, api_root: str, store: DocumentStore | None = None, *, pool: int = 64) -> None:
        super().__init__(token, api_root, store)
        self.bot = telegram.Bot(
            token,
            base_url=self.api_root + "/bot",
            base_file_url=self.api_root + "/file/bot",
            # Uploads of up to 50 MB need a generous write timeout; the pool serves concurrent chats.
            request=HTTPXRequest(
                connection_pool_size=pool, read_timeout=30, write_timeout=120, connect_timeout=10, pool_timeout=30
            ),
            get_updates_request=HTTPXRequest(connection_pool_size=2, read_timeout=10, connect_timeout=10),
        )

    async def start(self) -> None:
        await self._guard(self.bot.initialize())
        me = self.bot.bot
        self.username, self.bot_id = me.username, me.id

    async def close(self) -> None:
        await self.bot.shutdown()

    async def _get_updates(self, offset: int | None, timeout: float, limit: int) -> list[dict[str, Any]]:
        updates = await self.bot.get_updates(
            offset=offset, limit=limit, timeout=int(timeout), allowed_updates=ALLOWED_UPDATES
        )
        return [u.to_dict() for u in updates]

    def parse_update(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        update = telegram.Update.de_json(dict(raw), self.bot)
        if update is None:
            raise ValueError("not an update")
        return update.to_dict()

    # -- sending --------------------------------------------------------------------------------------
    @staticmethod
    def _markup(buttons: Keyboard) -> telegram.InlineKeyboardMarkup | None:
        rows = [
            [
                telegram.InlineKeyboardButton(b.label, callback_data=b.data)
                if b.data
                else telegram.InlineKeyboardButton(b.label, url=b.url)
                for b in row
            ]
            for row in buttons
            if row
        ]
        return telegram.InlineKeyboardMarkup(rows) if rows else None

    @staticmethod
    def _file(spec: InputFileSpec, *, attach: bool = False) -> str | telegram.InputFile:
        if spec.data is None:
            return spec.file_id or ""
        return telegram.InputFile(spec.data, filename=spec.filename, attach=attach)

    async def _execute(self, call: ApiCall) -> list[Any]:
        bot, markup = self.bot, self._markup(call.keyboard)
        if call.method == "sendMessage":
            return [await bot.send_message(call.chat_id, call.text or "", reply_markup=markup)]
        if call.method == "editMessageText":
            edited = await bot.edit_message_text(
                call.text or "", chat_id=call.chat_id, message_id=call.message_id, reply_markup=markup
            )
            return [edited] if isinstance(edited, telegram.Message) else []
        if call.method == "sendDocument" and call.file is not None:
            return [
                await bot.send_document(call.chat_id, self._file(call.file), caption=call.caption, reply_markup=markup)
            ]
        if call.method == "sendPhoto" and call.file is not None:
            return [
                await bot.send_photo(call.chat_id, self._file(call.file), caption=call.caption, reply_markup=markup)
            ]
        if call.method == "sendMediaGroup":
            media: list[telegram.InputMediaPhoto | telegram.InputMediaDocument] = [
                telegram.InputMediaPhoto(self._file(m.file, attach=True), caption=m.caption)
                if m.kind == "photo"
                else telegram.InputMediaDocument(self._file(m.file, attach=True), caption=m.caption)
                for m in call.media
            ]
            return list(await bot.send_media_group(call.chat_id, media))  # type: ignore[arg-type]
        raise ValueError(f"cannot execute {call.method}")

    async def _answer(self, toast: Toast) -> None:
        await self.bot.answer_callback_query(toast.callback_id, text=toast.text or None, show_alert=toast.alert)

    async def _download(self, file_id: str) -> bytes:
        file = await self.bot.get_file(file_id)
        if file.file_size is not None and file.file_size > MAX_DOWNLOAD:
            raise FileTooBig(f"{file.file_size} bytes")
        return bytes(await file.download_as_bytearray())

    async def _set_commands(self, menu: CommandMenu) -> None:
        scope = telegram.BotCommandScope.de_json(dict(menu.scope), self.bot)
        await self.bot.set_my_commands(
            [telegram.BotCommand(name, text) for name, text in menu.commands],
            scope=scope,
            language_code=menu.language_code,
        )

    async def _set_webhook(self, url: str, secret: str, max_connections: int) -> None:
        await self.bot.set_webhook(
            url, secret_token=secret, max_connections=max_connections, allowed_updates=ALLOWED_UPDATES
        )

    async def _delete_webhook(self) -> None:
        await self.bot.delete_webhook(drop_pending_updates=False)

    def _classify(self, exc: BaseException) -> tuple[ErrorKind, str, float | None] | None:
        text = str(getattr(exc, "message", None) or exc)
        if isinstance(exc, tg_error.RetryAfter):
            return "retry_after", text, _seconds(exc)
        if isinstance(exc, tg_error.Forbidden):
            return "forbidden", text, None
        if isinstance(exc, tg_error.InvalidToken):
            return "auth", text, None
        if isinstance(exc, tg_error.Conflict):
            return "conflict", text, None
        if isinstance(exc, tg_error.ChatMigrated):
            return "bad_request", f"{text} (update EQA_REVIEW_CHAT_ID if this is the review chat)", None
        if isinstance(exc, tg_error.BadRequest):  # before NetworkError: BadRequest is one in PTB
            return "bad_request", text, None
        if isinstance(exc, tg_error.EndPointNotFound):
            return "not_found", text, None
        if isinstance(exc, tg_error.TelegramError | OSError | TimeoutError):
            return "network", text, None
        return None


def _seconds(exc: tg_error.RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB 22 warns that retry_after becomes a timedelta
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
