"""The Telegram transport both libraries implement (python-telegram-bot, aiogram), so both behave the same,
and the webhook secret. What it uses is in its own modules: `inbound` (updates → `Inbound`), `outbound`
(`Outbound` → Bot API calls), `errors` (Telegram errors → delivery errors), `menus` (setMyCommands)."""

from __future__ import annotations

import abc
import asyncio
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Iterable, Mapping
from typing import Any, TypeVar

from bot.delivery import DeliveryError, Rejected, RetryAfter
from bot.telegram.errors import (
    ErrorKind,
    delivery_error,
    is_not_modified,
    is_wrong_file_id,
    maybe_sent,
    needs_new_message,
)
from bot.telegram.inbound import PLATFORM, update_to_inbound
from bot.telegram.menus import CommandMenu
from bot.telegram.outbound import ApiCall, can_upload_instead, plan, result_of
from conversations.events import (
    FileRef,
    Inbound,
    Outbound,
    Toast,
)
from storage.files import DocumentStore

log = logging.getLogger(__name__)

T = TypeVar("T")

# Telegram refuses getFile above this; the core refuses such files before asking (Services.max_download).
MAX_DOWNLOAD = 20 * 1024 * 1024


def webhook_secret_ok(given: str | None, expected: str) -> bool:
    """Constant-time comparison of the X-Telegram-Bot-Api-Secret-Token header."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def derived_webhook_secret(token: str) -> str:
    """A webhook secret when none is configured: stable across restarts and workers, never the token."""
    return hashlib.sha256(b"eqa-bot webhook\0" + token.encode()).hexdigest()


# -- the transport both stacks implement ------------------------------------------------------------------
class Unauthorized(Exception):
    """The token was refused (401): nothing will work until someone fixes the configuration."""


class Conflict(Exception):
    """Another consumer of this token is polling, or a webhook is set (409)."""


class FileTooBig(Exception):
    """A file above Telegram's download limit: refused before any download."""


class TelegramTransport(abc.ABC):
    """The Bot API as the runner, poller and webhook need it. Subclasses execute calls with their library
    and say what a library error means (`_classify`); everything else is decided here, once."""

    platform = PLATFORM
    name = "telegram"

    def __init__(self, token: str, api_root: str, store: DocumentStore | None = None) -> None:
        self.token = token
        self.api_root = api_root.rstrip("/")
        self.store = store
        self.username: str | None = None
        self.bot_id: int | None = None

    # -- what each library provides -------------------------------------------------------------------
    @abc.abstractmethod
    async def start(self) -> None:
        """Open the HTTP session and call getMe (sets `username` and `bot_id`)."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def _get_updates(self, offset: int | None, timeout: float, limit: int) -> list[dict[str, Any]]: ...

    @abc.abstractmethod
    def parse_update(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """A webhook body through the library's Update type (validated), back as Bot API JSON."""

    @abc.abstractmethod
    async def _execute(self, call: ApiCall) -> list[Any]:
        """Carry out the call; the sent Message objects."""

    @abc.abstractmethod
    async def _answer(self, toast: Toast) -> None: ...

    @abc.abstractmethod
    async def _download(self, file_id: str) -> bytes:
        """getFile, then the download; FileTooBig when getFile reports a size above the limit."""

    @abc.abstractmethod
    async def _set_commands(self, menu: CommandMenu) -> None: ...

    @abc.abstractmethod
    async def _set_webhook(self, url: str, secret: str, max_connections: int) -> None: ...

    @abc.abstractmethod
    async def _delete_webhook(self) -> None: ...

    @abc.abstractmethod
    def _classify(self, exc: BaseException) -> tuple[ErrorKind, str, float | None] | None:
        """What a library exception means, or None when it is not a Telegram/network error."""

    # -- shared behaviour -----------------------------------------------------------------------------
    async def _guard(self, coro: Awaitable[T]) -> T:
        """Run a library call; its errors come out as delivery errors, Unauthorized or Conflict."""
        try:
            return await coro
        except (DeliveryError, Unauthorized, Conflict, FileTooBig):
            raise
        except Exception as exc:
            classified = self._classify(exc)
            if classified is None:
                raise
            kind, description, retry_after = classified
            if kind == "network" and maybe_sent(exc):
                kind = "maybe_sent"
            if kind == "auth":
                raise Unauthorized(description) from exc
            if kind == "conflict":
                raise Conflict(description) from exc
            raise delivery_error(kind, description, retry_after) from exc

    async def get_updates(self, offset: int | None, timeout: float, limit: int = 100) -> list[dict[str, Any]]:
        return await self._guard(self._get_updates(offset, timeout, limit))

    async def send(self, action: Outbound) -> dict[str, Any]:
        call = await plan(action, self.store)
        try:
            return result_of(await self._guard(self._execute(call)))
        except Rejected as exc:
            text = str(exc)
            if call.method == "editMessageText" and is_not_modified(text):
                return {"message_ids": [call.message_id]}  # a double tap: the screen already shows this
            if call.method == "editMessageText" and needs_new_message(text):
                log.info("edit of message %s impossible (%s): sending the screen anew", call.message_id, text)
                fresh = ApiCall("sendMessage", call.chat_id, text=call.text, keyboard=call.keyboard)
                return result_of(await self._guard(self._execute(fresh)))
            if is_wrong_file_id(text) and can_upload_instead(action):
                log.info("file id refused (%s): uploading the file instead", text)
                upload = await plan(action, self.store, prefer_upload=True)
                return result_of(await self._guard(self._execute(upload)))
            raise

    async def answer(self, toast: Toast) -> None:
        await self._guard(self._answer(toast))

    async def fetch_file(self, ref: FileRef) -> bytes:
        """The bytes of a file a person sent; nothing is fetched for a file above Telegram's limit."""
        if ref.size is not None and ref.size > MAX_DOWNLOAD:
            raise FileTooBig(f"{ref.size} bytes")
        data = await self._guard(self._download(ref.file_id))
        if len(data) > MAX_DOWNLOAD:
            raise FileTooBig(f"{len(data)} bytes")
        return data

    async def set_commands(self, menus: Iterable[CommandMenu]) -> None:
        """Every menu; one refused (an admin who never opened the bot: "chat not found") spoils none."""
        for menu in menus:
            try:
                await self._guard(self._set_commands(menu))
            except RetryAfter as exc:
                await asyncio.sleep(exc.seconds)
                await self._guard(self._set_commands(menu))
            except DeliveryError as exc:
                log.warning("setMyCommands for %s (%s) refused: %s", menu.scope, menu.language_code or "-", exc)

    async def set_webhook(self, url: str, secret: str, max_connections: int = 40) -> None:
        await self._guard(self._set_webhook(url, secret, max_connections))

    async def delete_webhook(self) -> None:
        await self._guard(self._delete_webhook())

    def to_inbound(self, update: Mapping[str, Any]) -> Inbound | None:
        return update_to_inbound(update, self.username)
