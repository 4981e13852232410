"""Records and views the fake server exposes to tests."""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any

from .media import StoredFile
from .spec import UploadedFile


@dataclass
class Call:
    """One Bot API request as the fake server saw and answered it."""

    method: str  # canonical name from api.json (or as requested when unknown)
    params: dict[str, Any]  # decoded; uploads appear as UploadedFile
    files: dict[str, UploadedFile]  # multipart file parts by part name
    time: float  # time.time() when the request arrived
    encoding: str  # "none", "query", "urlencoded", "json" or "multipart"
    http_method: str = "POST"
    status: int = 200
    error: str | None = None  # the error description answered, if any
    result: Any = None
    duration: float = 0.0
    injected: bool = False  # the error came from tg.fail()/tg.block()/rate limits, not from validation
    ignored_params: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> int | str | None:
        return self.params.get("chat_id")

    def __repr__(self) -> str:
        outcome = "ok" if self.ok else f"{self.status} {self.error}"
        return f"Call({self.method}, {self.params!r} -> {outcome})"


@dataclass
class ChatState:
    id: int
    type: str  # "private", "group", "supergroup" or "channel"
    title: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    blocked: bool = False
    reply_keyboard: dict[str, Any] | None = None  # the custom keyboard the user currently sees
    menu_button: dict[str, Any] | None = None
    last_action: str | None = None
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    def next_message_id(self) -> int:
        return next(self._ids)

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "type": self.type}
        for key in ("title", "username", "first_name", "last_name"):
            value = getattr(self, key)
            if value is not None:
                d[key] = value
        return d


@dataclass
class StoredMessage:
    raw: dict[str, Any]
    from_bot: bool
    deleted: bool = False
    reply_keyboard: dict[str, Any] | None = None  # ReplyKeyboardMarkup sent with it (not echoed)


@dataclass(frozen=True)
class BotMessage:
    """Snapshot of a bot message as the user sees it (after edits, when taken from ``messages``)."""

    raw: dict[str, Any]
    kind: str = "current"  # "new" / "edit" for wait_for_message results, else "current"
    reply_keyboard: dict[str, Any] | None = None
    deleted: bool = False

    @property
    def message_id(self) -> int:
        return int(self.raw["message_id"])

    @property
    def chat_id(self) -> int:
        return int(self.raw["chat"]["id"])

    @property
    def text(self) -> str | None:
        return self.raw.get("text")

    @property
    def caption(self) -> str | None:
        return self.raw.get("caption")

    @property
    def content(self) -> str:
        """Text or caption, whichever the message has ("" for neither)."""
        return self.raw.get("text") or self.raw.get("caption") or ""

    @property
    def entities(self) -> list[dict[str, Any]]:
        return list(self.raw.get("entities") or self.raw.get("caption_entities") or [])

    @property
    def edited(self) -> bool:
        return "edit_date" in self.raw

    @property
    def inline_keyboard(self) -> list[list[dict[str, Any]]]:
        return list((self.raw.get("reply_markup") or {}).get("inline_keyboard") or [])

    @property
    def buttons(self) -> list[str]:
        """Labels of the inline buttons, row by row."""
        return [b["text"] for row in self.inline_keyboard for b in row]

    @property
    def reply_buttons(self) -> list[str]:
        """Labels of a ReplyKeyboardMarkup sent with this message."""
        rows = (self.reply_keyboard or {}).get("keyboard") or []
        return [b if isinstance(b, str) else b["text"] for row in rows for b in row]

    def button(self, label: str, *, substring: bool = False) -> dict[str, Any] | None:
        for row in self.inline_keyboard:
            for b in row:
                if b["text"] == label or (substring and label in b["text"]):
                    return b
        return None

    def callback_data(self, label: str) -> str | None:
        b = self.button(label)
        return b.get("callback_data") if b else None

    @property
    def document(self) -> dict[str, Any] | None:
        return self.raw.get("document")

    @property
    def photo(self) -> list[dict[str, Any]] | None:
        return self.raw.get("photo")

    @property
    def media_group_id(self) -> str | None:
        return self.raw.get("media_group_id")

    @staticmethod
    def of(stored: StoredMessage, kind: str = "current") -> BotMessage:
        return BotMessage(copy.deepcopy(stored.raw), kind, stored.reply_keyboard, stored.deleted)


@dataclass(frozen=True)
class MessageEvent:
    """A bot message appearing or changing in a chat; drives the users' wait_for_message."""

    seq: int
    chat_id: int
    message: BotMessage


@dataclass(frozen=True)
class SentFile:
    """A file the bot sent (upload or re-send by file_id) and the message that carried it."""

    chat_id: int
    message_id: int
    kind: str  # "photo" or "document"
    file: StoredFile
    caption: str | None = None
    method: str = ""

    @property
    def data(self) -> bytes:
        return self.file.data

    @property
    def filename(self) -> str | None:
        return self.file.file_name

    @property
    def mime_type(self) -> str | None:
        return self.file.mime_type

    @property
    def size(self) -> int:
        return self.file.size

    @property
    def file_id(self) -> str:
        return self.file.file_id


@dataclass
class Fault:
    """An injected failure; see FakeTelegram.fail(). Cancel it with ``cancel()``."""

    method: str  # lower-case method name or "*"
    status: int
    description: str
    retry_after: int | None
    times: int | None  # None: forever
    chat_id: int | str | None
    disconnect: bool = False
    hits: int = 0
    active: bool = True

    def matches(self, method: str, params: dict[str, Any]) -> bool:
        if not self.active or (self.method != "*" and self.method != method.lower()):
            return False
        return self.chat_id is None or str(params.get("chat_id")) == str(self.chat_id)

    def consume(self) -> None:
        self.hits += 1
        if self.times is not None and self.hits >= self.times:
            self.active = False

    def cancel(self) -> None:
        self.active = False


@dataclass(frozen=True)
class WebhookDelivery:
    update_id: int
    status: int | None  # HTTP status, None when the connection failed
    error: str | None
    time: float
