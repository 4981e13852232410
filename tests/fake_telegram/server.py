"""The fake Bot API server: HTTP front end, chat/message state, updates and webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import copy
import functools
import inspect
import itertools
import json
import logging
import os
import re
import secrets
import threading
import time
import traceback
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp
from aiohttp import web

from .formatting import render
from .media import (
    DOWNLOAD_LIMIT,
    PHOTO_UPLOAD_LIMIT,
    UPLOAD_LIMIT,
    Photo,
    StoredFile,
    clean_filename,
    guess_mime,
    make_photo,
)
from .models import (
    BotMessage,
    Call,
    ChatState,
    Fault,
    MessageEvent,
    SentFile,
    StoredMessage,
    WebhookDelivery,
)
from .ratelimit import RateLimits
from .spec import DEFAULT_SPEC_PATH, SPEC_ENV_VAR, ApiError, ApiSpec, MethodSpec, UploadedFile, bad_request

if TYPE_CHECKING:
    from .user import FakeGroup, FakeUser

log = logging.getLogger("fake_telegram")

T = TypeVar("T")

DEFAULT_TOKEN = "123456789:TEST-fake-token_ABCdefGhIJKlmnop"
_API_RE = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>[A-Za-z0-9_]+)/?$")
_FILE_RE = re.compile(r"^/file/bot(?P<token>[^/]+)/(?P<path>.+)$")
_SECRET_RE = re.compile(r"[A-Za-z0-9_\-]{1,256}")
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")

CONFLICT_POLLING = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same as a "
    "current content and reply markup of the message"
)
CALLBACK_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
# Update types delivered when allowed_updates is unset or empty (Telegram's default).
_OPT_IN_UPDATES = {"chat_member", "message_reaction", "message_reaction_count"}
_CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}
_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


class FakeTelegramTimeout(AssertionError):
    """A wait_for_* helper gave up; the message says what was seen instead."""


class _Disconnect(Exception):
    """Injected fault: drop the connection without an answer."""


class _Abandoned(Exception):
    """The client closed the connection while we were still working on its request."""


# The HTTP request being handled, so a long poll can notice that its client went away.
_REQUEST: contextvars.ContextVar[web.Request | None] = contextvars.ContextVar("fake_tg_request", default=None)
ABANDONED = 499  # status recorded for requests whose client disconnected first (nginx's convention)


@dataclass(frozen=True)
class _Described:
    """A successful result that also carries the envelope's "description" (setWebhook does)."""

    result: Any
    description: str


@dataclass
class _WebhookConfig:
    url: str
    secret_token: str | None
    max_connections: int


class _InstanceOrClassMethod:
    """``FakeTelegram.start_in_thread(**kw)`` builds and starts; ``tg.start_in_thread()`` starts tg."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        functools.update_wrapper(self, func)  # type: ignore[arg-type]

    def __get__(self, obj: Any, owner: type) -> Callable[..., Any]:
        if obj is None:
            return lambda *args, **kwargs: self.func(owner(*args, **kwargs))
        return functools.partial(self.func, obj)


_SPEC_CACHE: dict[str, ApiSpec] = {}


def _load_spec(path: str | None) -> ApiSpec:
    """api.json is ~650 kB: parse each file once per process."""
    key = str(path or os.environ.get(SPEC_ENV_VAR) or DEFAULT_SPEC_PATH)
    if key not in _SPEC_CACHE:
        _SPEC_CACHE[key] = ApiSpec(key)
    return _SPEC_CACHE[key]


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _update_kind(update: dict[str, Any]) -> str:
    return next((k for k in update if k != "update_id"), "")


def _as_chat_id(chat: Any) -> int | str:
    """Accept a raw id or anything with a ``chat_id`` (FakeUser, FakeGroup)."""
    return getattr(chat, "chat_id", chat)


class FakeTelegram:
    """A fake Telegram Bot API server for tests and benchmarks (see the package docstring)."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        spec_path: str | None = None,
        strict_params: bool = True,
        bot_username: str = "eqa_test_bot",
        bot_first_name: str = "EQA Test Bot",
        rate_limits: RateLimits | None = None,
        first_update_id: int = 1,
        auto_create_chats: bool = False,
        strict_media_group_size: bool = True,
        webhook_retry_delay: float = 0.05,
        webhook_timeout: float = 10.0,
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.spec = _load_spec(spec_path)
        self.strict_params = strict_params
        self.rate_limits = rate_limits
        self.auto_create_chats = auto_create_chats
        self.strict_media_group_size = strict_media_group_size
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_timeout = webhook_timeout
        head = token.split(":", 1)[0]
        self.bot_id = int(head) if head.isdigit() else 123456789
        self.bot_username = bot_username
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.logged_out = False
        self.closed = False

        self._lock = threading.RLock()
        self._calls: list[Call] = []
        self._chats: dict[int, ChatState] = {}
        self._users: dict[int, FakeUser] = {}
        self._groups: dict[int, FakeGroup] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(first_update_id)
        self._delivered: set[int] = set()
        self._forced: set[int] = set()
        self._allowed_updates: list[str] | None = None
        self._events: dict[int, list[MessageEvent]] = {}
        self._event_seq = 0
        self._files: dict[str, StoredFile] = {}
        self._photos: dict[str, Photo] = {}
        self._paths: dict[str, StoredFile] = {}
        self._sent_files: list[SentFile] = []
        self._downloads: list[str] = []
        self._callback_queries: dict[str, dict[str, Any]] = {}
        self._callback_answers: dict[str, dict[str, Any]] = {}
        self._query_ids = itertools.count(1)
        self._user_ids = itertools.count(100_000_001)
        self._group_ids = itertools.count(1)
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._menu_buttons: dict[int | None, dict[str, Any]] = {}
        self._faults: list[Fault] = []
        self._slow: dict[str, float] = {}
        self._webhook: _WebhookConfig | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_deliveries: list[WebhookDelivery] = []
        self._webhook_last_error: tuple[int, str] | None = None
        self._active_poll: object | None = None
        self._waiters: list[asyncio.Future[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._closing = False
        self._handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "editMessageCaption": self._edit_message_caption,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "sendMediaGroup": self._send_media_group,
            "sendChatAction": self._send_chat_action,
            "getFile": self._get_file,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "close": self._close,
            "logOut": self._log_out,
        }

    # ------------------------------------------------------------------ lifecycle

    @property
    def root(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:PORT`` (API at ``{root}/bot{token}/{method}``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_base_url(self) -> str:
        """For python-telegram-bot: ``telegram.Bot(token, base_url=tg.api_base_url, ...)``."""
        return f"{self.root}/bot"

    @property
    def file_base_url(self) -> str:
        """For python-telegram-bot: ``base_file_url=tg.file_base_url``."""
        return f"{self.root}/file/bot"

    @property
    def running(self) -> bool:
        return self._runner is not None

    async def start(self) -> FakeTelegram:
        """Serve on the running event loop."""
        if self._runner is not None:
            raise RuntimeError("FakeTelegram is already running")
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._closing = False
        app = web.Application(client_max_size=UPLOAD_LIMIT + 10 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        log.info("fake Telegram Bot API listening on %s", self.root)
        return self

    async def aclose(self) -> None:
        """Stop serving (wakes long polls so they answer before the server goes)."""
        if self._runner is None:
            return
        self._closing = True
        self._wake()
        await self._stop_webhook_loop()
        if self._session is not None:
            await self._session.close()
            self._session = None
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> FakeTelegram:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @_InstanceOrClassMethod
    def start_in_thread(self, timeout: float = 10.0) -> FakeTelegram:
        """Serve from a background thread with its own loop (for bots running in a subprocess).

        ``FakeTelegram.start_in_thread(**init_kwargs)`` or ``FakeTelegram(...).start_in_thread()``.
        """
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:
                errors.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name="fake-telegram", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError("FakeTelegram did not start in time")
        if errors:
            self._thread = None
            raise errors[0]
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop a server started with start_in_thread()."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            raise RuntimeError("not running in a thread; use `await tg.aclose()` instead")
        asyncio.run_coroutine_threadsafe(self.aclose(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._thread = None

    async def _in_loop(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the server's loop, from whichever loop the caller is on."""
        loop = self._loop
        if loop is None:
            coro.close()
            raise RuntimeError("FakeTelegram is not running")
        if asyncio.get_running_loop() is loop:
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))

    # ------------------------------------------------------------------ change notification

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def _notify(self) -> None:
        """Wake everything waiting for state changes; callable from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if threading.get_ident() == self._loop_thread:
            self._wake()
        else:
            loop.call_soon_threadsafe(self._wake)

    async def _wait_change(self, timeout: float | None) -> None:
        """Sleep until _notify() or timeout; only on the server loop."""
        assert self._loop is not None
        fut: asyncio.Future[None] = self._loop.create_future()
        self._waiters.append(fut)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(fut, timeout)

    async def _wait_until(self, check: Callable[[], T | None], timeout: float, describe: Callable[[], str]) -> T:
        async def waiter() -> T:
            assert self._loop is not None
            deadline = self._loop.time() + timeout
            while True:
                with self._lock:
                    found = check()
                if found is not None:
                    return found
                remaining = deadline - self._loop.time()
                if remaining <= 0 or self._closing:
                    raise FakeTelegramTimeout(describe())
                await self._wait_change(remaining)

        return await self._in_loop(waiter())

    # ------------------------------------------------------------------ test-facing API

    def user(
        self,
        user_id: int | None = None,
        first_name: str = "Test",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        is_premium: bool | None = None,
    ) -> FakeUser:
        """A person talking to the bot in a private chat (created once per user_id)."""
        from .user import FakeUser

        with self._lock:
            if user_id is not None and user_id in self._users:
                return self._users[user_id]
            uid = user_id if user_id is not None else next(self._user_ids)
            info: dict[str, Any] = {"id": uid, "is_bot": False, "first_name": first_name}
            if last_name:
                info["last_name"] = last_name
            if username:
                info["username"] = username
            if language_code:
                info["language_code"] = language_code
            if is_premium:
                info["is_premium"] = True
            chat = self._chats.get(uid) or ChatState(
                uid, "private", first_name=first_name, last_name=last_name, username=username
            )
            self._chats[uid] = chat
            u = FakeUser(self, info, chat)
            self._users[uid] = u
            return u

    def group(
        self,
        title: str = "Test group",
        *,
        chat_id: int | None = None,
        type: str = "supergroup",
        username: str | None = None,
    ) -> FakeGroup:
        """A group or supergroup chat the bot is a member of; users act in it via ``g.member(u)``."""
        from .user import FakeGroup

        if type not in ("group", "supergroup"):
            raise ValueError("type must be 'group' or 'supergroup'")
        with self._lock:
            if chat_id is None:
                n = next(self._group_ids)
                chat_id = -(1_000_000_000_000 + n) if type == "supergroup" else -(4_000_000_000 + n)
            if chat_id in self._groups:
                return self._groups[chat_id]
            chat = ChatState(chat_id, type, title=title, username=username)
            self._chats[chat_id] = chat
            g = FakeGroup(self, chat)
            self._groups[chat_id] = g
            return g

    def calls(
        self, method: str | None = None, chat_id: int | str | Any | None = None, *, ok: bool | None = None
    ) -> list[Call]:
        """Recorded Bot API calls, oldest first, optionally filtered."""
        want = method.lower() if method else None
        chat = str(_as_chat_id(chat_id)) if chat_id is not None else None
        with self._lock:
            return [
                c
                for c in self._calls
                if (want is None or c.method.lower() == want)
                and (chat is None or str(c.params.get("chat_id")) == chat)
                and (ok is None or c.ok == ok)
            ]

    def errors(self, *, include_injected: bool = False) -> list[Call]:
        """Calls the fake refused (validation errors, unimplemented methods...).

        Failures injected by fail()/block()/rate limits and long polls abandoned by their client
        (status 499, e.g. PTB cancelling its poll on shutdown) are left out unless asked for.
        """
        return [c for c in self.calls(ok=False) if include_injected or not (c.injected or c.status == ABANDONED)]

    def unimplemented_calls(self) -> list[Call]:
        return [c for c in self.calls(ok=False) if c.error and "not implemented by the fake" in c.error]

    def bot_messages(self, chat_id: int | Any, *, include_deleted: bool = False) -> list[BotMessage]:
        """The bot's messages in a chat as they are now (after edits), oldest first."""
        with self._lock:
            chat = self._chats.get(int(_as_chat_id(chat_id)))
            if chat is None:
                return []
            return [
                BotMessage.of(m) for m in chat.messages.values() if m.from_bot and (include_deleted or not m.deleted)
            ]

    def chat_messages(self, chat_id: int | Any) -> list[dict[str, Any]]:
        """Every message in the chat (users' and bot's), current state, oldest first."""
        with self._lock:
            chat = self._chats.get(int(_as_chat_id(chat_id)))
            return [copy.deepcopy(m.raw) for m in chat.messages.values() if not m.deleted] if chat else []

    def sent_files(self, chat_id: int | Any | None = None) -> list[SentFile]:
        """Files the bot sent (photos: the largest size), optionally in one chat."""
        with self._lock:
            if chat_id is None:
                return list(self._sent_files)
            cid = int(_as_chat_id(chat_id))
            return [f for f in self._sent_files if f.chat_id == cid]

    def file(self, file_id: str) -> StoredFile | None:
        with self._lock:
            return self._files.get(file_id)

    def commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict[str, Any]]:
        """The commands set with setMyCommands for exactly this scope and language."""
        with self._lock:
            return copy.deepcopy(self._commands.get((self._scope_key(scope), language_code or ""), []))

    def menu_button(self, chat_id: int | None = None) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._menu_buttons.get(chat_id, {"type": "default"}))

    def callback_answer(self, query_id: str) -> dict[str, Any] | None:
        """The bot's answerCallbackQuery parameters for a query (None if unanswered)."""
        with self._lock:
            return copy.deepcopy(self._callback_answers.get(query_id))

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed (polling) or acknowledged (webhook)."""
        with self._lock:
            return copy.deepcopy(self._updates)

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        with self._lock:
            return list(self._webhook_deliveries)

    @property
    def long_poll_active(self) -> bool:
        """True while a getUpdates call is waiting for updates."""
        return self._active_poll is not None

    @property
    def rate_limited_count(self) -> int:
        """How many 429s the rate-limit enforcer issued."""
        return self.rate_limits.hits if self.rate_limits else 0

    def inject_update(self, update: dict[str, Any]) -> int:
        """Queue a hand-made update (an update_id is assigned if missing); returns its update_id.

        An update whose id the bot already confirmed is still delivered once, so tests can
        replay a duplicate update id.
        """
        with self._lock:
            upd = copy.deepcopy(update)
            if "update_id" not in upd:
                upd = {"update_id": next(self._update_ids), **upd}
            self._forced.add(upd["update_id"])
            self._delivered.discard(upd["update_id"])
            self._updates.append(upd)
        self._notify()
        return int(upd["update_id"])

    def fail(
        self,
        method: str = "*",
        status: int = 429,
        retry_after: int | None = 3,
        times: int | None = 1,
        chat_id: int | str | Any | None = None,
        *,
        description: str | None = None,
        disconnect: bool = False,
    ) -> Fault:
        """Make the next ``times`` calls of ``method`` ("*": any) fail (times=None: until cancelled).

        429 answers carry ``parameters.retry_after``; ``disconnect=True`` drops the connection
        without an answer instead. Returns the Fault (``.hits``, ``.cancel()``).
        """
        if description is None:
            description = {
                429: f"Too Many Requests: retry after {retry_after}",
                400: "Bad Request: injected failure",
                401: "Unauthorized",
                403: "Forbidden: bot was blocked by the user",
                404: "Not Found",
                409: CONFLICT_POLLING,
                500: "Internal Server Error",
                502: "Bad Gateway",
            }.get(status, f"Error {status}: injected failure")
        fault = Fault(
            method.lower(),
            status,
            description,
            retry_after if status == 429 else None,
            times,
            _as_chat_id(chat_id) if chat_id is not None else None,
            disconnect,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            for f in self._faults:
                f.cancel()
            self._faults.clear()
            self._slow.clear()

    def block(self, chat_id: int | Any) -> None:
        """The user blocks the bot (or the group removes it): sends to the chat answer 403."""
        self._known_chat(chat_id).blocked = True

    def unblock(self, chat_id: int | Any) -> None:
        self._known_chat(chat_id).blocked = False

    def _known_chat(self, chat_id: int | Any) -> ChatState:
        with self._lock:
            chat = self._chats.get(_as_chat_id(chat_id))
        if chat is None:
            raise LookupError(f"unknown chat {chat_id!r}: create it with tg.user() or tg.group() first")
        return chat

    def slow(self, method: str, seconds: float) -> None:
        """Delay answers to ``method`` ("*": any) by ``seconds`` (0 removes the delay)."""
        with self._lock:
            if seconds > 0:
                self._slow[method.lower()] = seconds
            else:
                self._slow.pop(method.lower(), None)

    async def wait_for_call(
        self,
        method: str,
        *,
        predicate: Callable[[Call], bool] | None = None,
        since: int = 0,
        timeout: float = 5.0,
    ) -> Call:
        """The first recorded call of ``method`` at index >= ``since`` (``len(tg.calls())`` earlier)."""
        want = method.lower()

        def check() -> Call | None:
            for c in self._calls[since:]:
                if c.method.lower() == want and (predicate is None or predicate(c)):
                    return c
            return None

        def describe() -> str:
            recent = ", ".join(f"{c.method}:{c.status}" for c in self._calls[since:][-15:])
            return f"no {method} call within {timeout}s; calls since #{since}: [{recent}]"

        return await self._wait_until(check, timeout, describe)

    # ------------------------------------------------------------------ internal state helpers

    def _chat(self, chat_id: Any) -> ChatState:
        chat: ChatState | None = None
        if isinstance(chat_id, int):
            chat = self._chats.get(chat_id)
            if chat is None and self.auto_create_chats and chat_id > 0:
                chat = self._chats[chat_id] = ChatState(chat_id, "private", first_name=f"User {chat_id}")
        elif isinstance(chat_id, str) and chat_id.startswith("@"):
            name = chat_id[1:].lower()
            chat = next((c for c in self._chats.values() if (c.username or "").lower() == name), None)
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _enqueue(self, payload: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            upd = {"update_id": next(self._update_ids), **copy.deepcopy(payload)}
            self._updates.append(upd)
        self._notify()
        return upd

    def _emit(self, chat: ChatState, stored: StoredMessage, kind: str) -> None:
        with self._lock:
            self._event_seq += 1
            ev = MessageEvent(self._event_seq, chat.id, BotMessage.of(stored, kind))
            self._events.setdefault(chat.id, []).append(ev)
        self._notify()

    def _register(self, f: StoredFile) -> StoredFile:
        self._files[f.file_id] = f
        self._paths[f.file_path] = f
        return f

    def _register_photo(self, photo: Photo) -> Photo:
        for size in photo.sizes:
            self._register(size)
            self._photos[size.file_id] = photo
        return photo

    def _add_user_message(
        self, user: dict[str, Any], chat: ChatState, content: dict[str, Any], reply_to: int | None = None
    ) -> dict[str, Any]:
        with self._lock:
            raw: dict[str, Any] = {
                "message_id": chat.next_message_id(),
                "from": copy.deepcopy(user),
                "chat": chat.as_dict(),
                "date": int(time.time()),
            }
            if reply_to is not None and reply_to in chat.messages:
                raw["reply_to_message"] = self._reply_snapshot(chat.messages[reply_to])
            raw.update(content)
            chat.messages[raw["message_id"]] = StoredMessage(raw, from_bot=False)
            self._enqueue({"message": raw})
            return copy.deepcopy(raw)

    def _add_callback_query(self, user: dict[str, Any], chat: ChatState, msg: StoredMessage, data: str) -> str:
        with self._lock:
            qid = str(4_000_000_000_000_000_000 + self.bot_id % 1000 * 1_000_000 + next(self._query_ids))
            query = {
                "id": qid,
                "from": copy.deepcopy(user),
                "message": copy.deepcopy(msg.raw),
                "chat_instance": str(abs(hash((self.bot_id, chat.id))) % 10**19),
                "data": data,
            }
            self._callback_queries[qid] = query
            self._enqueue({"callback_query": query})
            return qid

    @staticmethod
    def _reply_snapshot(stored: StoredMessage) -> dict[str, Any]:
        snap = copy.deepcopy(stored.raw)
        snap.pop("reply_to_message", None)  # Telegram nests only one level
        return snap

    def _scope_key(self, scope: dict[str, Any] | None) -> str:
        scope = scope or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise bad_request("can't parse BotCommandScope JSON object")
        key = {k: scope[k] for k in ("type", "chat_id", "user_id") if k in scope}
        return json.dumps(key, sort_keys=True)

    # ------------------------------------------------------------------ HTTP front end

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        m = _API_RE.match(path)
        if m:
            return await self._handle_api(request, m["token"], m["method"])
        m = _FILE_RE.match(path)
        if m:
            return await self._handle_file(m["token"], m["path"])
        if path.startswith("/_fake/"):
            from .control import handle_control

            return await handle_control(self, request)
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)

    async def _handle_api(self, request: web.Request, token: str, method_name: str) -> web.StreamResponse:
        started = time.monotonic()
        spec = self.spec.lookup(method_name)
        call = Call(spec.name if spec else method_name, {}, {}, time.time(), "none", request.method)
        body: dict[str, Any]
        _REQUEST.set(request)
        try:
            if token != self.token:
                raise ApiError(401, "Unauthorized")
            if spec is None:
                raise ApiError(404, "Not Found")
            raw, call.files, call.encoding = await self._read_params(request)
            call.params = raw
            result = await self._execute(spec, raw, call)
            if isinstance(result, _Described):
                body = {"ok": True, "result": result.result, "description": result.description}
                result = result.result
            else:
                body = {"ok": True, "result": result}
            call.result = result
        except ApiError as exc:
            call.status, call.error = exc.code, exc.description
            body = exc.envelope()
        except _Disconnect:
            call.status, call.error = 0, "connection dropped (injected)"
            self._record(call, started)
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)
        except _Abandoned:
            call.status, call.error = ABANDONED, "client closed the connection before the answer"
            self._record(call, started)
            return web.Response(status=ABANDONED)
        except Exception:
            # A bug in the fake itself: answer 500 and keep the traceback where tests can see it.
            log.exception("fake Telegram failed on %s", call.method)
            call.status, call.error = 500, "Internal Server Error (fake): " + traceback.format_exc(limit=5)
            body = {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        self._record(call, started)
        return web.json_response(body, status=call.status, dumps=_dumps)

    def _record(self, call: Call, started: float) -> None:
        call.duration = time.monotonic() - started
        with self._lock:
            self._calls.append(call)
        self._notify()

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile], str]:
        raw: dict[str, Any] = dict(request.query)
        uploads: dict[str, UploadedFile] = {}
        encoding = "query" if raw else "none"
        if request.method != "POST" or not request.can_read_body:
            return raw, uploads, encoding
        ctype = request.content_type
        try:
            if ctype == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise bad_request("can't parse JSON request body") from None
                if not isinstance(body, dict):
                    raise bad_request("JSON request body must be an object")
                raw.update(body)
                encoding = "json"
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        up = UploadedFile(key, value.filename, value.content_type, value.file.read())
                        uploads[key] = up
                        raw[key] = up
                    else:
                        raw[key] = value
                encoding = "multipart" if ctype == "multipart/form-data" else "urlencoded"
        except web.HTTPRequestEntityTooLarge:
            raise ApiError(413, "Request Entity Too Large") from None
        return raw, uploads, encoding

    async def _execute(self, spec: MethodSpec, raw: dict[str, Any], call: Call) -> Any:
        params, call.ignored_params = self.spec.decode(spec, raw, strict=self.strict_params)
        call.params = params
        name = spec.name
        handler = self._handlers.get(name)
        if handler is None:
            raise bad_request("method not implemented by the fake server")
        with self._lock:
            delay = self._slow.get(name.lower(), self._slow.get("*", 0.0))
        if delay:
            await asyncio.sleep(delay)
        with self._lock:
            fault = next((f for f in self._faults if f.matches(name, params)), None)
            if fault is not None:
                fault.consume()
        if fault is not None:
            call.injected = True
            if fault.disconnect:
                raise _Disconnect()
            raise ApiError(fault.status, fault.description, retry_after=fault.retry_after)
        with self._lock:
            self._check_blocked(name, params, call)
            admitted = self._check_rate_limit(name, params, call)
        if inspect.iscoroutinefunction(handler):
            result = await handler(params)
        else:
            with self._lock:
                result = handler(params)
        if admitted is not None and self.rate_limits is not None:
            chat_id, is_group, count = admitted
            self.rate_limits.record(chat_id, is_group=is_group, count=count)
        return result

    def _check_blocked(self, name: str, params: dict[str, Any], call: Call) -> None:
        if not (name.startswith("send") or name in ("copyMessage", "forwardMessage")) or "chat_id" not in params:
            return
        chat: ChatState | None
        try:
            chat = self._chat(params["chat_id"])
        except ApiError:
            chat = None
        if chat is not None and chat.blocked:
            call.injected = True
            if chat.type == "private":
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            raise ApiError(403, f"Forbidden: bot was kicked from the {chat.type} chat")

    def _check_rate_limit(
        self, name: str, params: dict[str, Any], call: Call
    ) -> tuple[int | str | None, bool, int] | None:
        """Refuse with 429 when over the limits; else what to record once the send succeeded."""
        limits = self.rate_limits
        if limits is None or not limits.applies_to(name):
            return None
        chat_id = params.get("chat_id")
        chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        is_group = chat is not None and chat.type in ("group", "supergroup")
        media = params.get("media")
        count = len(media) if name == "sendMediaGroup" and isinstance(media, list) else 1
        retry = limits.peek(chat_id, is_group=is_group)
        if retry is not None:
            call.injected = True
            raise ApiError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)
        return chat_id, is_group, count

    async def _handle_file(self, token: str, path: str) -> web.StreamResponse:
        with self._lock:
            f = self._paths.get(path) if token == self.token else None
            if f is not None:
                self._downloads.append(path)
        if f is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        return web.Response(body=f.data, content_type="application/octet-stream")

    # ------------------------------------------------------------------ validation helpers

    def _markup(self, markup: Any, *, inline_only: bool = False) -> dict[str, Any] | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("object expected as reply markup")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays')
            if sum(len(r) for r in rows) > 100:
                raise bad_request("reply markup is too long")
            for row in rows:
                for button in row:
                    self._check_inline_button(button)
            return markup
        if inline_only:
            raise bad_request("inline keyboard expected")
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request('field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays')
            for row in rows:
                for button in row:
                    text = button if isinstance(button, str) else (button or {}).get("text")
                    if not isinstance(text, str) or not text:
                        raise bad_request('can\'t parse keyboard button: Field "text" must be of type String')
            return markup
        if markup.get("remove_keyboard") or markup.get("force_reply") or not markup:
            return markup
        raise bad_request("can't parse reply keyboard markup JSON object")

    @staticmethod
    def _check_inline_button(button: Any) -> None:
        if not isinstance(button, dict):
            raise bad_request("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
        text = button.get("text")
        if not isinstance(text, str):
            raise bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
        if not text.strip():
            raise bad_request("BUTTON_TEXT_INVALID")
        actions = [a for a in _INLINE_ACTIONS if a in button]
        if not actions:
            raise bad_request("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
        if len(actions) > 1:
            raise bad_request(f"can't parse inline keyboard button: only one of {', '.join(actions)} may be used")
        if "callback_data" in button:
            data = button["callback_data"]
            if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
                raise bad_request("BUTTON_DATA_INVALID")
        if "url" in button:
            url = button["url"]
            if not isinstance(url, str) or not re.match(r"^(https?|tg)://\S+$", url):
                raise bad_request("BUTTON_URL_INVALID")

    def _text(self, p: dict[str, Any], *, edit: bool = False) -> tuple[str, list[dict[str, Any]]]:
        text, entities = render(str(p.get("text", "")), p.get("parse_mode"), p.get("entities"))
        if not text.strip():
            raise bad_request("message text is empty")
        if len(text) > 4096:
            raise bad_request("MESSAGE_TOO_LONG" if edit else "message is too long")
        return text, entities

    def _caption(self, p: dict[str, Any]) -> dict[str, Any]:
        caption = p.get("caption")
        if caption is None:
            return {}
        text, entities = render(str(caption), p.get("parse_mode"), p.get("caption_entities"))
        if len(text) > 1024:
            raise bad_request("message caption is too long")
        if not text:
            return {}
        content: dict[str, Any] = {"caption": text}
        if entities:
            content["caption_entities"] = entities
        return content

    def _reply_to(self, chat: ChatState, p: dict[str, Any]) -> StoredMessage | None:
        rp = p.get("reply_parameters")
        if not isinstance(rp, dict) or "message_id" not in rp:
            return None
        target = chat.messages.get(int(rp["message_id"]))
        if target is None or target.deleted:
            if rp.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found")
        return target

    def _post_bot_message(
        self,
        chat: ChatState,
        content: dict[str, Any],
        markup: dict[str, Any] | None = None,
        reply_to: StoredMessage | None = None,
    ) -> dict[str, Any]:
        raw: dict[str, Any] = {
            "message_id": chat.next_message_id(),
            "from": dict(self.bot_user),
            "chat": chat.as_dict(),
            "date": int(time.time()),
        }
        if reply_to is not None:
            raw["reply_to_message"] = self._reply_snapshot(reply_to)
        raw.update(content)
        stored = StoredMessage(raw, from_bot=True)
        if markup:
            if markup.get("inline_keyboard"):
                raw["reply_markup"] = copy.deepcopy(markup)
            elif "keyboard" in markup:
                stored.reply_keyboard = copy.deepcopy(markup)
                chat.reply_keyboard = stored.reply_keyboard
            elif markup.get("remove_keyboard"):
                chat.reply_keyboard = None
        chat.messages[raw["message_id"]] = stored
        self._emit(chat, stored, "new")
        return copy.deepcopy(raw)

    def _resolve_file(self, value: Any, kind: str) -> StoredFile | Photo:
        """A file_id (str) the bot re-sends; URLs are refused (the fake never goes online)."""
        if not isinstance(value, str) or not value:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if "." in value or "/" in value:
            raise bad_request("failed to get HTTP URL content (the fake server does not download URLs)")
        f = self._files.get(value)
        if f is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if f.kind != kind:
            raise bad_request(f"can't use file of type {f.kind.title()} as {kind.title()}")
        return self._photos[value] if kind == "photo" else f

    def _upload_document(self, up: UploadedFile) -> StoredFile:
        if up.size > UPLOAD_LIMIT:
            raise ApiError(413, "Request Entity Too Large")
        if up.size == 0:
            raise bad_request("file must be non-empty")
        name = clean_filename(up.filename, "document")
        return self._register(
            StoredFile("document", up.data, file_name=name, mime_type=guess_mime(name, up.content_type))
        )

    def _upload_photo(self, up: UploadedFile) -> Photo:
        if up.size > PHOTO_UPLOAD_LIMIT:
            raise bad_request(
                f"file of size {up.size} bytes is too big for a photo; the maximum size is {PHOTO_UPLOAD_LIMIT} bytes"
            )
        if up.size == 0:
            raise bad_request("file must be non-empty")
        return self._register_photo(make_photo(up.data, require_image=True))

    def _edit_target(self, p: dict[str, Any]) -> tuple[ChatState, StoredMessage]:
        if p.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID (inline messages are not supported by the fake server)")
        if "chat_id" not in p:
            raise bad_request('parameter "chat_id" is required')
        if "message_id" not in p:
            raise bad_request("message identifier is not specified")
        chat = self._chat(p["chat_id"])
        msg = chat.messages.get(p["message_id"])
        if msg is None or msg.deleted:
            raise bad_request("message to edit not found")
        if not msg.from_bot:
            raise bad_request("message can't be edited")
        return chat, msg

    def _apply_edit(self, chat: ChatState, msg: StoredMessage, changes: dict[str, Any], markup: Any) -> dict[str, Any]:
        new_markup = copy.deepcopy(markup) if markup and markup.get("inline_keyboard") else None
        before = {k: msg.raw.get(k) for k in changes} | {"reply_markup": msg.raw.get("reply_markup")}
        after = {k: v or None for k, v in changes.items()} | {"reply_markup": new_markup}
        before = {k: v or None for k, v in before.items()}
        if before == after:
            raise bad_request(NOT_MODIFIED)
        for key, value in after.items():
            if value:
                msg.raw[key] = value
            else:
                msg.raw.pop(key, None)
        msg.raw["edit_date"] = int(time.time())
        self._emit(chat, msg, "edit")
        return copy.deepcopy(msg.raw)

    # ------------------------------------------------------------------ method handlers

    def _get_me(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _confirm(self, offset: int) -> None:
        if offset < 0:
            self._updates = self._updates[offset:]
            return
        self._updates = [
            u
            for u in self._updates
            if u["update_id"] >= offset or (u["update_id"] in self._forced and u["update_id"] not in self._delivered)
        ]

    def _allowed(self, update: dict[str, Any]) -> bool:
        kind = _update_kind(update)
        if self._allowed_updates:
            return kind in self._allowed_updates
        return kind not in _OPT_IN_UPDATES

    def _take_updates(self, limit: int) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        for upd in list(self._updates):
            if not self._allowed(upd):
                self._updates.remove(upd)
                continue
            batch.append(copy.deepcopy(upd))
            self._delivered.add(upd["update_id"])
            if len(batch) >= limit:
                break
        return batch

    async def _get_updates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        assert self._loop is not None
        if self._webhook is not None:
            raise ApiError(409, CONFLICT_WEBHOOK)
        limit = min(max(int(p.get("limit", 100)), 1), 100)
        timeout = max(float(p.get("timeout", 0)), 0.0)
        me = object()
        with self._lock:
            if "allowed_updates" in p:
                self._allowed_updates = list(p["allowed_updates"]) or None
            if self._active_poll is not None:
                self._wake()  # the older long poll notices it was superseded and answers 409
            self._active_poll = me
            if "offset" in p:
                self._confirm(int(p["offset"]))
        deadline = self._loop.time() + timeout
        try:
            while True:
                request = _REQUEST.get()
                if request is not None and (request.transport is None or request.transport.is_closing()):
                    raise _Abandoned()  # nobody to deliver to: leave the updates queued
                if self._active_poll is not me:
                    raise ApiError(409, CONFLICT_POLLING)
                if self._webhook is not None:
                    raise ApiError(409, CONFLICT_WEBHOOK)
                with self._lock:
                    batch = self._take_updates(limit)
                if batch or self._closing:
                    return batch
                remaining = deadline - self._loop.time()
                if remaining <= 0:
                    return []
                await self._wait_change(remaining)
        finally:
            if self._active_poll is me:
                self._active_poll = None

    def _set_webhook(self, p: dict[str, Any]) -> _Described:
        url = str(p["url"]).strip()
        if not url:
            return self._delete_webhook(p)
        if not re.match(r"^https?://", url):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.get("secret_token")
        if secret is not None and not _SECRET_RE.fullmatch(str(secret)):
            raise bad_request("bad webhook: secret token contains unallowed characters")
        max_connections = int(p.get("max_connections", 40))
        if not 1 <= max_connections <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        if "allowed_updates" in p:
            self._allowed_updates = list(p["allowed_updates"]) or None
        if p.get("drop_pending_updates"):
            self._updates.clear()
        same = self._webhook is not None and self._webhook.url == url
        self._webhook = _WebhookConfig(url, secret, max_connections)
        self._webhook_last_error = None
        self._restart_webhook_loop()
        self._wake()  # a pending long poll now answers 409
        return _Described(True, "Webhook is already set" if same else "Webhook was set")

    def _delete_webhook(self, p: dict[str, Any]) -> _Described:
        had = self._webhook is not None
        self._webhook = None
        if p.get("drop_pending_updates"):
            self._updates.clear()
        self._restart_webhook_loop()
        return _Described(True, "Webhook was deleted" if had else "Webhook is already deleted")

    def _get_webhook_info(self, p: dict[str, Any]) -> dict[str, Any]:
        cfg = self._webhook
        info: dict[str, Any] = {
            "url": cfg.url if cfg else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if cfg:
            info["ip_address"] = "127.0.0.1"
            if self._webhook_last_error:
                info["last_error_date"], info["last_error_message"] = self._webhook_last_error
            info["max_connections"] = cfg.max_connections
            if self._allowed_updates:
                info["allowed_updates"] = list(self._allowed_updates)
        return info

    def _send_message(self, p: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(p["chat_id"])
        text, entities = self._text(p)
        markup = self._markup(p.get("reply_markup"))
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        if p.get("link_preview_options"):
            content["link_preview_options"] = p["link_preview_options"]
        return self._post_bot_message(chat, content, markup, self._reply_to(chat, p))

    def _edit_message_text(self, p: dict[str, Any]) -> dict[str, Any]:
        text, entities = self._text(p, edit=True)
        markup = self._markup(p.get("reply_markup"), inline_only=True)
        chat, msg = self._edit_target(p)
        if "text" not in msg.raw:
            raise bad_request("there is no text in the message to edit")
        return self._apply_edit(chat, msg, {"text": text, "entities": entities}, markup)

    def _edit_message_caption(self, p: dict[str, Any]) -> dict[str, Any]:
        caption = self._caption(p)
        markup = self._markup(p.get("reply_markup"), inline_only=True)
        chat, msg = self._edit_target(p)
        if "text" in msg.raw:
            raise bad_request("there is no caption in the message to edit")
        changes = {"caption": caption.get("caption"), "caption_entities": caption.get("caption_entities")}
        return self._apply_edit(chat, msg, changes, markup)

    def _edit_message_reply_markup(self, p: dict[str, Any]) -> dict[str, Any]:
        markup = self._markup(p.get("reply_markup"), inline_only=True)
        chat, msg = self._edit_target(p)
        return self._apply_edit(chat, msg, {}, markup)

    def _delete_message(self, p: dict[str, Any]) -> bool:
        chat = self._chat(p["chat_id"])
        msg = chat.messages.get(p["message_id"])
        if msg is None or msg.deleted:
            raise bad_request("message to delete not found")
        msg.deleted = True
        self._notify()
        return True

    def _answer_callback_query(self, p: dict[str, Any]) -> bool:
        qid = str(p["callback_query_id"])
        if qid not in self._callback_queries or qid in self._callback_answers:
            raise bad_request(CALLBACK_QUERY_INVALID)
        if len(str(p.get("text") or "")) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self._callback_answers[qid] = {k: v for k, v in p.items() if k != "callback_query_id"}
        self._notify()
        return True

    def _send_document(self, p: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(p["chat_id"])
        caption = self._caption(p)
        markup = self._markup(p.get("reply_markup"))
        reply_to = self._reply_to(chat, p)
        doc = p["document"]
        stored = self._upload_document(doc) if isinstance(doc, UploadedFile) else self._resolve_file(doc, "document")
        assert isinstance(stored, StoredFile)
        msg = self._post_bot_message(chat, {"document": stored.document(), **caption}, markup, reply_to)
        self._sent_files.append(
            SentFile(chat.id, msg["message_id"], "document", stored, caption.get("caption"), "sendDocument")
        )
        return msg

    def _send_photo(self, p: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(p["chat_id"])
        caption = self._caption(p)
        markup = self._markup(p.get("reply_markup"))
        reply_to = self._reply_to(chat, p)
        src = p["photo"]
        photo = self._upload_photo(src) if isinstance(src, UploadedFile) else self._resolve_file(src, "photo")
        assert isinstance(photo, Photo)
        content: dict[str, Any] = {"photo": photo.as_list(), **caption}
        if p.get("has_spoiler"):
            content["has_media_spoiler"] = True
        msg = self._post_bot_message(chat, content, markup, reply_to)
        self._sent_files.append(
            SentFile(chat.id, msg["message_id"], "photo", photo.largest, caption.get("caption"), "sendPhoto")
        )
        return msg

    def _send_media_group(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        chat = self._chat(p["chat_id"])
        media = p["media"]
        if not isinstance(media, list):
            raise bad_request("can't parse media JSON object")
        if not media:
            raise bad_request("there are no messages to send")
        if len(media) > 10:
            raise bad_request("too many messages to send as an album")
        if len(media) < 2 and self.strict_media_group_size:
            raise bad_request(
                "media group must include 2-10 items (the fake server is strict: Telegram would send a "
                "single item as an ordinary message)"
            )
        reply_to = self._reply_to(chat, p)
        types = [item.get("type") if isinstance(item, dict) else None for item in media]
        if "document" in types and any(t != "document" for t in types):
            raise bad_request("document can't be mixed with other media types")
        prepared: list[tuple[str, StoredFile | Photo, dict[str, Any]]] = []
        for item in media:  # read every file first: a refused album stores nothing
            if not isinstance(item, dict) or "media" not in item:
                raise bad_request("can't parse InputMedia: media not found")
            kind = item.get("type")
            if kind not in ("photo", "document"):
                raise bad_request(f'can\'t parse InputMedia: type "{kind}" is not supported by the fake server')
            src = item["media"]  # spec decoding already swapped attach://name for the uploaded part
            if isinstance(src, str) and src.startswith("attach://"):
                raise bad_request("can't parse InputMedia: media not found")
            if isinstance(src, UploadedFile):
                stored: StoredFile | Photo = self._upload_photo(src) if kind == "photo" else self._upload_document(src)
            else:
                stored = self._resolve_file(src, kind)
            prepared.append((kind, stored, self._caption(item)))
        group_id = str(10**17 + secrets.randbelow(9 * 10**17))
        messages = []
        for kind, stored, caption in prepared:
            if isinstance(stored, Photo):
                content: dict[str, Any] = {"media_group_id": group_id, "photo": stored.as_list(), **caption}
                file = stored.largest
            else:
                content = {"media_group_id": group_id, "document": stored.document(), **caption}
                file = stored
            msg = self._post_bot_message(chat, content, None, reply_to)
            self._sent_files.append(
                SentFile(chat.id, msg["message_id"], kind, file, caption.get("caption"), "sendMediaGroup")
            )
            messages.append(msg)
        return messages

    def _send_chat_action(self, p: dict[str, Any]) -> bool:
        chat = self._chat(p["chat_id"])
        if p["action"] not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        chat.last_action = p["action"]
        return True

    def _get_file(self, p: dict[str, Any]) -> dict[str, Any]:
        f = self._files.get(str(p["file_id"]))
        if f is None:
            raise bad_request("wrong file_id or the file is temporarily unavailable")
        if f.size > DOWNLOAD_LIMIT:
            raise bad_request("file is too big")
        return f.file_object()

    def _set_my_commands(self, p: dict[str, Any]) -> bool:
        commands = p["commands"]
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("too many commands")
        clean = []
        for c in commands:
            if not isinstance(c, dict) or not _COMMAND_RE.fullmatch(str(c.get("command", "")).lstrip("/")):
                raise bad_request("BOT_COMMAND_INVALID")
            description = str(c.get("description", ""))
            if not 1 <= len(description) <= 256:
                raise bad_request("command description must be 1-256 characters")
            clean.append({"command": str(c["command"]).lstrip("/"), "description": description})
        key = (self._scope_key(p.get("scope")), p.get("language_code") or "")
        if clean:
            self._commands[key] = clean
        else:
            self._commands.pop(key, None)
        return True

    def _get_my_commands(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        return copy.deepcopy(self._commands.get((self._scope_key(p.get("scope")), p.get("language_code") or ""), []))

    def _delete_my_commands(self, p: dict[str, Any]) -> bool:
        self._commands.pop((self._scope_key(p.get("scope")), p.get("language_code") or ""), None)
        return True

    def _set_chat_menu_button(self, p: dict[str, Any]) -> bool:
        button = p.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in ("commands", "web_app", "default"):
            raise bad_request("can't parse menu button JSON object")
        chat_id = p.get("chat_id")
        if chat_id is not None:
            self._chat(chat_id)
        self._menu_buttons[chat_id] = copy.deepcopy(button)
        return True

    def _get_chat_menu_button(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id = p.get("chat_id")
        return copy.deepcopy(self._menu_buttons.get(chat_id, self._menu_buttons.get(None, {"type": "default"})))

    def _close(self, p: dict[str, Any]) -> bool:
        self.closed = True
        return True

    def _log_out(self, p: dict[str, Any]) -> bool:
        self.logged_out = True
        return True

    # ------------------------------------------------------------------ webhook delivery

    def _restart_webhook_loop(self) -> None:
        old = self._webhook_task
        self._webhook_task = None
        if old is not None:
            old.cancel()
        if self._webhook is not None and self._loop is not None:
            self._webhook_task = self._loop.create_task(self._webhook_loop(self._webhook))

    async def _stop_webhook_loop(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _webhook_loop(self, cfg: _WebhookConfig) -> None:
        slots = asyncio.Semaphore(cfg.max_connections)
        in_flight: set[int] = set()
        tasks: set[asyncio.Task[None]] = set()
        try:
            while self._webhook is cfg and not self._closing:
                with self._lock:
                    upd = None
                    for u in list(self._updates):
                        if id(u) in in_flight:
                            continue
                        if not self._allowed(u):
                            self._updates.remove(u)
                            continue
                        upd = u
                        break
                if upd is None:
                    await self._wait_change(None)
                    continue
                await slots.acquire()
                in_flight.add(id(upd))
                task = asyncio.create_task(self._deliver(cfg, upd, slots, in_flight))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _deliver(
        self, cfg: _WebhookConfig, upd: dict[str, Any], slots: asyncio.Semaphore, in_flight: set[int]
    ) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        headers = {"Content-Type": "application/json"}
        if cfg.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = cfg.secret_token
        attempt = 0
        try:
            while self._webhook is cfg and not self._closing:
                status: int | None = None
                error: str | None = None
                try:
                    async with self._session.post(
                        cfg.url,
                        data=_dumps(upd).encode(),
                        headers=headers,
                        timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
                    ) as resp:
                        status = resp.status
                        if 200 <= status < 300:
                            try:
                                await self._webhook_reply(resp)
                            except Exception:  # a bug in the fake must not turn into endless redelivery
                                log.exception("executing the webhook reply failed")
                        else:
                            error = f"Wrong response from the webhook: {status} {resp.reason}"
                except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                    error = f"Connection failed: {type(exc).__name__}: {exc}"
                with self._lock:
                    self._webhook_deliveries.append(WebhookDelivery(upd["update_id"], status, error, time.time()))
                    if error is None:
                        self._updates = [u for u in self._updates if u is not upd]
                    else:
                        self._webhook_last_error = (int(time.time()), error)
                self._notify()
                if error is None:
                    return
                await asyncio.sleep(min(self.webhook_retry_delay * 2**attempt, 2.0))
                attempt += 1
        finally:
            in_flight.discard(id(upd))
            slots.release()

    async def _webhook_reply(self, resp: aiohttp.ClientResponse) -> None:
        """Telegram executes a method the bot returns in the webhook response body."""
        raw: dict[str, Any] = {}
        if resp.content_type == "application/json":
            try:
                body = await resp.json()
            except ValueError:
                return
            if isinstance(body, dict):
                raw = body
        elif resp.content_type == "multipart/form-data":
            reader = aiohttp.MultipartReader.from_response(resp)
            while (part := await reader.next()) is not None:
                if isinstance(part, aiohttp.BodyPartReader) and part.name:
                    data = await part.read(decode=True)
                    raw[part.name] = (
                        UploadedFile(part.name, part.filename, part.headers.get("Content-Type", ""), bytes(data))
                        if part.filename
                        else data.decode()
                    )
        method = raw.pop("method", None)
        if not isinstance(method, str):
            return
        spec = self.spec.lookup(method)
        call = Call(spec.name if spec else method, raw, {}, time.time(), "webhook-response", "POST")
        started = time.monotonic()
        try:
            if spec is None:
                raise ApiError(404, "Not Found")
            call.result = await self._execute(spec, raw, call)
        except ApiError as exc:
            call.status, call.error = exc.code, exc.description
        except _Disconnect:
            call.status, call.error = 0, "connection dropped (injected)"
        self._record(call, started)
