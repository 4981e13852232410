"""What the python-telegram-bot and aiogram transports share, so both behave the same.

- Bot API update (as a plain dict, after the library parsed and validated it) → the core's `Inbound`.
- `Outbound` → an `ApiCall`: the Bot API method and its parameters, which each transport executes with
  its own library (files resolved from bytes, the document store or a Telegram file id).
- The command menus for setMyCommands (contacts; reviewers and admins), in Chinese and English.
- Telegram errors → the delivery errors of `bot/delivery.py`.
"""

from __future__ import annotations

import abc
import asyncio
import hashlib
import hmac
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from bot.delivery import Blocked, DeliveryError, Rejected, RetryAfter, Transient, Unconfirmed
from conversations.events import (
    Button,
    Edit,
    FileOut,
    FileRef,
    Inbound,
    Keyboard,
    Outbound,
    Reply,
    SendAlbum,
    SendDocument,
    SendPhoto,
    Toast,
)
from conversations.i18n import Catalog
from storage.files import DocumentStore

log = logging.getLogger(__name__)
T = TypeVar("T")

PLATFORM = "telegram"
# Telegram refuses getFile above this; the core refuses such files before asking (Services.max_download).
MAX_DOWNLOAD = 20 * 1024 * 1024
# Update types the bot asks for; everything else is never fetched (and so never needs acknowledging).
ALLOWED_UPDATES = ["message", "callback_query"]

_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,64}))?(?=\s|$)(?:\s+(.*))?$", re.DOTALL)
# Message contents a person can send that we do not read: answered as an empty message (private chats).
_MEDIA_KEYS = ("sticker", "voice", "video", "video_note", "audio", "animation", "location", "venue", "poll", "dice")


# -- updates → Inbound ------------------------------------------------------------------------------------
def display_name(user: Mapping[str, Any]) -> str | None:
    name = " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p)
    return name or user.get("username") or None


def update_to_inbound(update: Mapping[str, Any], bot_username: str | None = None) -> Inbound | None:
    """The neutral event for one update, or None when the update is nothing for the core (a service
    message, an edit, a command addressed to another bot, a channel post)."""
    update_id = str(update["update_id"])
    if (query := update.get("callback_query")) is not None:
        return _callback(update_id, query)
    message = update.get("message")
    if message is None:
        return None
    return _message(update_id, message, bot_username)


def _callback(update_id: str, query: Mapping[str, Any]) -> Inbound | None:
    user = query.get("from") or {}
    data = query.get("data")
    message = query.get("message") or {}
    chat = message.get("chat") or {}
    if data is None or not user:
        return None  # a game button or an inline-mode message: not ours
    return Inbound(
        platform=PLATFORM,
        update_id=update_id,
        # An inaccessible (very old) message still names its chat; without one, the presser's own chat.
        chat_id=str(chat.get("id", user["id"])),
        user_id=str(user["id"]),
        kind="button",
        button=data,
        message_id=str(message["message_id"]) if "message_id" in message else None,
        callback_id=str(query["id"]),
        language=user.get("language_code"),
        user_name=display_name(user),
        chat_type=chat.get("type", "private"),
    )


def _message(update_id: str, message: Mapping[str, Any], bot_username: str | None) -> Inbound | None:
    user = message.get("from")
    chat = message["chat"]
    if not user or user.get("is_bot") or chat.get("type") == "channel":
        return None
    common: dict[str, Any] = {
        "platform": PLATFORM,
        "update_id": update_id,
        "chat_id": str(chat["id"]),
        "user_id": str(user["id"]),
        "language": user.get("language_code"),
        "user_name": display_name(user),
        "chat_type": chat.get("type", "private"),
        "media_group_id": message.get("media_group_id"),
    }
    private = common["chat_type"] == "private"
    if (photos := message.get("photo")) is not None:
        return Inbound(kind="photo", text=message.get("caption") or "", file=largest_photo(photos), **common)
    if (doc := message.get("document")) is not None:
        ref = FileRef(
            file_id=doc["file_id"],
            size=doc.get("file_size"),
            mime=doc.get("mime_type"),
            name=doc.get("file_name"),
            unique_id=doc.get("file_unique_id"),
        )
        return Inbound(kind="document", text=message.get("caption") or "", file=ref, **common)
    text = message.get("text")
    if text is not None:
        if (m := _COMMAND.match(text)) is not None:
            name, addressee, args = m.group(1), m.group(2), m.group(3) or ""
            if addressee and bot_username and addressee.lower() != bot_username.lower():
                return None  # /cmd@another_bot in a group
            return Inbound(kind="command", text=text, command=name.lower(), args=args.strip(), **common)
        return Inbound(kind="text", text=text, **common)
    if (contact := message.get("contact")) is not None and private:
        # A shared contact answers a question about a mobile number as if it had been typed.
        return Inbound(kind="text", text=str(contact.get("phone_number", "")), **common)
    if private and any(message.get(k) for k in _MEDIA_KEYS):
        return Inbound(kind="text", text="", **common)
    return None  # service messages (members joining, pins, chat created …)


def largest_photo(sizes: Iterable[Mapping[str, Any]]) -> FileRef:
    """Telegram sends every photo in several sizes; the largest is the one worth checking."""
    best = max(sizes, key=lambda s: (s.get("width", 0) * s.get("height", 0), s.get("file_size") or 0))
    return FileRef(
        file_id=best["file_id"],
        size=best.get("file_size"),
        mime="image/jpeg",  # Telegram re-encodes photos as JPEG
        name=None,
        width=best.get("width"),
        height=best.get("height"),
        unique_id=best.get("file_unique_id"),
    )


def chat_key(update: Mapping[str, Any]) -> str:
    """The chat an update belongs to, for keeping each chat's updates in order ("" when none)."""
    if (query := update.get("callback_query")) is not None:
        chat = ((query.get("message") or {}).get("chat") or {}).get("id")
        return str(chat if chat is not None else (query.get("from") or {}).get("id", ""))
    for key in ("message", "edited_message", "channel_post", "edited_channel_post"):
        if (message := update.get(key)) is not None:
            return str(message["chat"]["id"])
    for value in update.values():
        if isinstance(value, Mapping):
            chat = value.get("chat") or value.get("from") or value.get("user") or {}
            if "id" in chat:
                return str(chat["id"])
    return ""


# -- chat ids ---------------------------------------------------------------------------------------------
def api_chat_id(chat_id: str | int) -> int | str:
    """Our chat ids are text; the Bot API takes integers (or "@channelname")."""
    text = str(chat_id)
    try:
        return int(text)
    except ValueError:
        return text


def is_group(chat_id: str | int) -> bool:
    """Groups and supergroups have negative ids on Telegram."""
    return str(chat_id).startswith("-")


# -- Outbound → Bot API calls -----------------------------------------------------------------------------
@dataclass(frozen=True)
class InputFileSpec:
    """A file to upload (`data`) or to re-send by Telegram file id (`file_id`)."""

    filename: str
    mime: str
    data: bytes | None = None
    file_id: str | None = None


@dataclass(frozen=True)
class MediaSpec:
    kind: Literal["photo", "document"]
    file: InputFileSpec
    caption: str | None = None


@dataclass(frozen=True)
class ApiCall:
    """One Bot API call, library-neutral: each transport executes it with its own types."""

    method: Literal["sendMessage", "editMessageText", "sendDocument", "sendPhoto", "sendMediaGroup"]
    chat_id: int | str
    text: str | None = None
    message_id: int | None = None
    keyboard: tuple[tuple[Button, ...], ...] = ()
    file: InputFileSpec | None = None
    caption: str | None = None
    media: tuple[MediaSpec, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


async def plan(action: Outbound, store: DocumentStore | None, *, prefer_upload: bool = False) -> ApiCall:
    """The Bot API call that carries out `action` (not for toasts: those are answerCallbackQuery)."""
    if isinstance(action, Toast):
        raise TypeError("a toast is answered, not sent")
    chat = api_chat_id(action.chat_id or "")
    if isinstance(action, Reply):
        return ApiCall("sendMessage", chat, text=action.text, keyboard=action.buttons)
    if isinstance(action, Edit):
        return ApiCall(
            "editMessageText", chat, text=action.text, message_id=int(action.message_id), keyboard=action.buttons
        )
    if isinstance(action, SendDocument | SendPhoto):
        method: Literal["sendDocument", "sendPhoto"] = (
            "sendDocument" if isinstance(action, SendDocument) else "sendPhoto"
        )
        return ApiCall(
            method,
            chat,
            file=await input_file(action.file, store, prefer_upload=prefer_upload),
            caption=action.caption or None,
            keyboard=action.buttons,
        )
    if isinstance(action, SendAlbum):
        media = [
            MediaSpec(item.kind, await input_file(item.file, store, prefer_upload=prefer_upload), item.caption or None)
            for item in action.items
        ]
        return ApiCall("sendMediaGroup", chat, media=tuple(media))
    raise TypeError(f"cannot send {type(action).__name__}")


async def input_file(file: FileOut, store: DocumentStore | None, *, prefer_upload: bool = False) -> InputFileSpec:
    """A Telegram file id is sent as is (no upload); otherwise the bytes, from the action or the store."""
    if file.platform_file_id and not prefer_upload:
        return InputFileSpec(file.filename, file.mime, file_id=file.platform_file_id)
    data = file.data
    if data is None and file.stored:
        if store is None:
            raise Rejected("a stored file but no document store")
        data = await asyncio.to_thread(store.get, file.stored)
    if data is None:
        return InputFileSpec(file.filename, file.mime, file_id=file.platform_file_id)
    return InputFileSpec(file.filename, file.mime, data=data)


def can_upload_instead(action: Outbound) -> bool:
    """Whether a file sent by Telegram file id could be uploaded from bytes if the id is refused."""
    files: list[FileOut] = []
    if isinstance(action, SendDocument | SendPhoto):
        files = [action.file]
    elif isinstance(action, SendAlbum):
        files = [i.file for i in action.items]
    return any(f.platform_file_id for f in files) and all(f.data is not None or f.stored for f in files)


def keyboard_rows(buttons: Keyboard) -> list[list[dict[str, str]]]:
    """Inline keyboard as Bot API JSON (for libraries or tests that want it raw)."""
    return [
        [{"text": b.label, "callback_data": b.data} if b.data else {"text": b.label, "url": b.url or ""} for b in row]
        for row in buttons
        if row
    ]


def result_of(messages: Iterable[Any]) -> dict[str, Any]:
    """What the outbox keeps of a send: the message ids and the file ids Telegram gave the files (so the
    same file can be sent again without an upload). Works on PTB and aiogram Message objects alike."""
    ids: list[int] = []
    file_ids: list[str] = []
    for m in messages:
        ids.append(int(m.message_id))
        doc = getattr(m, "document", None)
        photo = getattr(m, "photo", None)
        if doc is not None:
            file_ids.append(doc.file_id)
        elif photo:
            file_ids.append(max(photo, key=lambda s: s.width * s.height).file_id)
    result: dict[str, Any] = {"message_ids": ids}
    if file_ids:
        result["file_ids"] = file_ids
    return result


# -- errors -----------------------------------------------------------------------------------------------
ErrorKind = Literal[
    "retry_after", "forbidden", "bad_request", "not_found", "network", "maybe_sent", "server", "conflict", "auth"
]
# Network errors after the request was written (the libraries' own exception names, httpx and aiohttp): the
# message may have been delivered, so it must not be sent again.
_MAYBE_SENT = {
    "ReadTimeout",
    "WriteTimeout",
    "ReadError",
    "WriteError",
    "RemoteProtocolError",
    "ServerDisconnectedError",
    "ClientPayloadError",
}


def maybe_sent(exc: BaseException) -> bool:
    """Whether a network error happened once the request may have reached Telegram."""
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            return False
        if type(seen).__name__ in _MAYBE_SENT or "Request timeout error" in str(seen):  # the last: aiogram's
            return True
        seen = seen.__cause__ or seen.__context__
    return False


NOT_MODIFIED = "message is not modified"
# An edit that cannot happen (a file message, an old or deleted one): show the screen as a new message.
_EDIT_FALLBACK = (
    "there is no text in the message to edit",
    "message to edit not found",
    "message can't be edited",
    "message_id_invalid",
)
_TOO_OLD_QUERY = ("query is too old", "query id is invalid")
_WRONG_FILE_ID = ("wrong file identifier", "wrong remote file identifier", "can't use file of type")


def is_not_modified(description: str) -> bool:
    return NOT_MODIFIED in description.lower()


def needs_new_message(description: str) -> bool:
    lowered = description.lower()
    return any(s in lowered for s in _EDIT_FALLBACK)


def is_stale_query(description: str) -> bool:
    lowered = description.lower()
    return any(s in lowered for s in _TOO_OLD_QUERY)


def is_wrong_file_id(description: str) -> bool:
    lowered = description.lower()
    return any(s in lowered for s in _WRONG_FILE_ID)


def delivery_error(kind: ErrorKind, description: str, retry_after: float | None = None) -> DeliveryError:
    """A Telegram error as one of the delivery errors the runner and the outbox worker act on."""
    if kind == "retry_after":
        return RetryAfter(float(retry_after if retry_after is not None else 1))
    if kind == "forbidden":
        return Blocked(description)
    if kind in ("bad_request", "not_found"):
        return Rejected(description)
    if kind == "maybe_sent":
        return Unconfirmed(description)
    return Transient(description)


# -- command menus ----------------------------------------------------------------------------------------
# Descriptions come from the catalogue (`cmd-<name>`, conversations/locales/*/commands.ftl), so a module
# adding a command describes it without touching the transport; `cmd-other` covers any left undescribed.
Describe = Callable[[str, str], "str | None"]  # (language, command) -> menu text


def catalog_describer(catalog: Catalog) -> Describe:
    def describe(lang: str, name: str) -> str | None:
        key = f"cmd-{name}"
        return catalog.t(lang, key) if catalog.has(key, lang) else None

    return describe


CONTACT_ORDER = ("start", "status", "faq", "lang", "help", "cancel", "restart")
LANGUAGE_CODES: tuple[str | None, ...] = (None, "zh", "en")  # None: everyone else (Chinese first)


@dataclass(frozen=True)
class CommandMenu:
    scope: dict[str, Any]  # a Bot API BotCommandScope as JSON
    language_code: str | None
    commands: tuple[tuple[str, str], ...]


def command_menus(
    registered: Mapping[str, str],
    *,
    review_chat: str | None,
    staff_chats: Iterable[str],
    describe: Describe,
) -> list[CommandMenu]:
    """Contacts' menu for the default scope; reviewers' menu (everything a contact has, then the desk's
    commands) for the review chat and the private chats of admins and reviewers.

    `registered` maps each command the core knows to its role (anyone | contact | staff | admin);
    `describe(lang, name)` returns a catalogue description or None."""
    everyone = [c for c in CONTACT_ORDER if c in registered and registered[c] in ("anyone", "contact")]
    everyone += sorted(c for c, r in registered.items() if r in ("anyone", "contact") and c not in everyone)
    desk = sorted(c for c, r in registered.items() if r in ("staff", "admin"))
    contact_cmds = [c for c in everyone if describe("zh", c)]
    staff_cmds = contact_cmds + desk

    def described(names: list[str], lang: str) -> tuple[tuple[str, str], ...]:
        out = []
        for name in names:
            text = describe(lang, name) or describe(lang, "other") or name
            out.append((name, text[:256]))
        return tuple(out[:100])

    menus: list[CommandMenu] = []
    scopes: list[tuple[dict[str, Any], list[str]]] = [({"type": "default"}, contact_cmds)]
    chats = list(dict.fromkeys([*([review_chat] if review_chat else []), *staff_chats]))
    scopes += [({"type": "chat", "chat_id": api_chat_id(c)}, staff_cmds) for c in chats]
    for scope, names in scopes:
        for code in LANGUAGE_CODES:
            menus.append(CommandMenu(scope, code, described(names, "en" if code == "en" else "zh")))
    return menus


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
