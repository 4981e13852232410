"""The aiogram transport: the Bot API through `aiogram.Bot` on an aiohttp session.

aiogram's Dispatcher and FSM storage are not used: `Dispatcher.start_polling` confirms updates as it
fetches them, and state lives in our database. Polling is ours (`bot.runner.Poller`); aiogram does the
HTTP, the types and the parsing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram import Bot, types
from aiogram import exceptions as ag_errors
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.telegram.common import MAX_DOWNLOAD, FileTooBig, TelegramTransport
from bot.telegram.errors import ErrorKind
from bot.telegram.inbound import ALLOWED_UPDATES
from bot.telegram.menus import CommandMenu
from bot.telegram.outbound import ApiCall, InputFileSpec
from conversations.events import Keyboard, Toast
from storage.files import DocumentStore

_SCOPES: dict[str, type[Any]] = {
    "default": types.BotCommandScopeDefault,
    "all_private_chats": types.BotCommandScopeAllPrivateChats,
    "all_group_chats": types.BotCommandScopeAllGroupChats,
    "all_chat_administrators": types.BotCommandScopeAllChatAdministrators,
    "chat": types.BotCommandScopeChat,
    "chat_administrators": types.BotCommandScopeChatAdministrators,
    "chat_member": types.BotCommandScopeChatMember,
}


class AiogramTransport(TelegramTransport):
    name = "aiogram"

    def __init__(self, token: str, api_root: str, store: DocumentStore | None = None, *, pool: int = 64) -> None:
        super().__init__(token, api_root, store)
        session = AiohttpSession(api=TelegramAPIServer.from_base(self.api_root), limit=pool)
        self.bot = Bot(token, session=session)

    async def start(self) -> None:
        me = await self._guard(self.bot.get_me())
        self.username, self.bot_id = me.username, me.id

    async def close(self) -> None:
        await self.bot.session.close()

    async def _get_updates(self, offset: int | None, timeout: float, limit: int) -> list[dict[str, Any]]:
        updates = await self.bot.get_updates(
            offset=offset,
            limit=limit,
            timeout=int(timeout),
            allowed_updates=ALLOWED_UPDATES,
            request_timeout=int(timeout) + 10,
        )
        return [_dump(u) for u in updates]

    def parse_update(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        return _dump(types.Update.model_validate(dict(raw), context={"bot": self.bot}))

    # -- sending --------------------------------------------------------------------------------------
    @staticmethod
    def _markup(buttons: Keyboard) -> types.InlineKeyboardMarkup | None:
        rows = [
            [
                types.InlineKeyboardButton(text=b.label, callback_data=b.data)
                if b.data
                else types.InlineKeyboardButton(text=b.label, url=b.url)
                for b in row
            ]
            for row in buttons
            if row
        ]
        return types.InlineKeyboardMarkup(inline_keyboard=rows) if rows else None

    @staticmethod
    def _file(spec: InputFileSpec) -> str | types.BufferedInputFile:
        if spec.data is None:
            return spec.file_id or ""
        return types.BufferedInputFile(spec.data, filename=spec.filename)

    async def _execute(self, call: ApiCall) -> list[Any]:
        bot, markup = self.bot, self._markup(call.keyboard)
        if call.method == "sendMessage":
            return [await bot.send_message(call.chat_id, call.text or "", reply_markup=markup)]
        if call.method == "editMessageText":
            edited = await bot.edit_message_text(
                text=call.text or "", chat_id=call.chat_id, message_id=call.message_id, reply_markup=markup
            )
            return [edited] if isinstance(edited, types.Message) else []
        if call.method == "sendDocument" and call.file is not None:
            return [
                await bot.send_document(call.chat_id, self._file(call.file), caption=call.caption, reply_markup=markup)
            ]
        if call.method == "sendPhoto" and call.file is not None:
            return [
                await bot.send_photo(call.chat_id, self._file(call.file), caption=call.caption, reply_markup=markup)
            ]
        if call.method == "sendMediaGroup":
            media: list[Any] = [
                types.InputMediaPhoto(media=self._file(m.file), caption=m.caption)
                if m.kind == "photo"
                else types.InputMediaDocument(media=self._file(m.file), caption=m.caption)
                for m in call.media
            ]
            return list(await bot.send_media_group(call.chat_id, media))
        raise ValueError(f"cannot execute {call.method}")

    async def _answer(self, toast: Toast) -> None:
        await self.bot.answer_callback_query(toast.callback_id, text=toast.text or None, show_alert=toast.alert)

    async def _download(self, file_id: str) -> bytes:
        file = await self.bot.get_file(file_id)
        if file.file_size is not None and file.file_size > MAX_DOWNLOAD:
            raise FileTooBig(f"{file.file_size} bytes")
        if not file.file_path:
            raise FileTooBig("Telegram gave no file path")
        buffer = await self.bot.download_file(file.file_path, timeout=120)
        assert buffer is not None
        return buffer.read()

    async def _set_commands(self, menu: CommandMenu) -> None:
        scope_cls = _SCOPES[menu.scope["type"]]
        scope = scope_cls(**{k: v for k, v in menu.scope.items() if k != "type"})
        await self.bot.set_my_commands(
            [types.BotCommand(command=name, description=text) for name, text in menu.commands],
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
        if isinstance(exc, ag_errors.TelegramRetryAfter):
            return "retry_after", text, float(exc.retry_after)
        if isinstance(exc, ag_errors.TelegramForbiddenError):
            return "forbidden", text, None
        if isinstance(exc, ag_errors.TelegramUnauthorizedError):
            return "auth", text, None
        if isinstance(exc, ag_errors.TelegramConflictError):
            return "conflict", text, None
        if isinstance(exc, ag_errors.TelegramMigrateToChat):
            return "bad_request", f"{text} (update EQA_REVIEW_CHAT_ID if this is the review chat)", None
        if isinstance(exc, ag_errors.TelegramBadRequest | ag_errors.TelegramEntityTooLarge):
            return "bad_request", text, None
        if isinstance(exc, ag_errors.TelegramNotFound):
            return "not_found", text, None
        if isinstance(exc, ag_errors.TelegramServerError):
            return "server", text, None
        if isinstance(exc, ag_errors.AiogramError | OSError | TimeoutError):
            return "network", text, None
        return None


def _dump(update: types.Update) -> dict[str, Any]:
    return update.model_dump(mode="json", by_alias=True, exclude_none=True)
