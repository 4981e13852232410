"""The neutral events: what a person did (Inbound) and what the bot does in return (Outbound).

Transports translate their platform's updates into `Inbound` and carry `Outbound` actions out; nothing
here knows Telegram. Outbound actions round-trip through plain dicts so they can wait in the outbox.
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

# "album": several files sent at once, collected in the database and handed over together.
InboundKind = Literal["text", "command", "button", "photo", "document", "album"]

# Telegram's limits, which the core respects for every transport (the console has none, but a reply
# that works there must work on a phone too).
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_BUTTON_DATA = 64


@dataclass(frozen=True)
class FileRef:
    """A file the person sent; `file_id` is whatever the transport needs to fetch it."""

    file_id: str
    size: int | None = None
    mime: str | None = None
    name: str | None = None
    width: int | None = None
    height: int | None = None
    unique_id: str | None = None
    stored: str | None = None  # already in our document store (parts of an album)


@dataclass(frozen=True)
class Inbound:
    platform: str
    update_id: str
    chat_id: str
    user_id: str
    kind: InboundKind
    text: str = ""
    command: str | None = None  # lower-case, without the slash or a @botname suffix
    args: str = ""
    button: str | None = None  # the pressed button's data
    message_id: str | None = None  # the message a pressed button sits on
    callback_id: str | None = None
    file: FileRef | None = None
    media_group_id: str | None = None
    files: tuple[FileRef, ...] = ()  # the parts of an album, in the order they arrived
    language: str | None = None  # the client's language hint, e.g. "zh-hans"
    user_name: str | None = None
    chat_type: str = "private"

    @property
    def is_file(self) -> bool:
        return self.kind in ("photo", "document")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Inbound:
        values = dict(data)
        if values.get("file"):
            values["file"] = FileRef(**values["file"])
        values["files"] = tuple(FileRef(**f) for f in values.get("files") or ())
        return cls(**values)


@dataclass(frozen=True)
class Button:
    label: str
    data: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if (self.data is None) == (self.url is None):
            raise ValueError("a button carries either data or a url")
        if self.data is not None and not 0 < len(self.data.encode()) <= MAX_BUTTON_DATA:
            raise ValueError(f"button data over {MAX_BUTTON_DATA} bytes: {self.data!r}")


GLOBAL_MARK = "g"  # button data "g:<action>:<arg>": works whenever pressed (menus, FAQ, decisions)


def global_data(action: str, arg: str = "") -> str:
    """The data of a button that works whenever it is pressed; `Ctx.gbtn` and code without a Ctx share it."""
    return f"{GLOBAL_MARK}:{action}:{arg}"


def global_button(label: str, action: str, arg: str = "") -> Button:
    return Button(label, global_data(action, arg))


Keyboard = tuple[tuple[Button, ...], ...]


def keyboard(*rows: list[Button] | tuple[Button, ...]) -> Keyboard:
    return tuple(tuple(r) for r in rows if r)


@dataclass(frozen=True)
class Reply:
    """A new text message with optional inline buttons."""

    text: str
    buttons: Keyboard = ()
    chat_id: str | None = None  # None: the chat the event came from
    platform: str | None = None
    # Carries a secret (a binding code): the outbox keeps only its kind once delivered.
    secret: bool = False

    def __post_init__(self) -> None:
        _check_text(self.text, MAX_TEXT)


@dataclass(frozen=True)
class Edit:
    """Replace the text and buttons of a message the bot sent earlier."""

    message_id: str
    text: str
    buttons: Keyboard = ()
    chat_id: str | None = None
    platform: str | None = None

    def __post_init__(self) -> None:
        _check_text(self.text, MAX_TEXT)


@dataclass(frozen=True)
class Toast:
    """The short answer to a button press (a callback answer on Telegram). Never queued: it is only
    meaningful within seconds of the press."""

    callback_id: str
    text: str = ""
    alert: bool = False


@dataclass(frozen=True)
class FileOut:
    """A file to send: bytes in hand, a key into the document store, or a platform file id."""

    filename: str
    mime: str = "application/octet-stream"
    data: bytes | None = None
    stored: str | None = None
    platform_file_id: str | None = None

    def __post_init__(self) -> None:
        if (self.data, self.stored, self.platform_file_id) == (None, None, None):
            raise ValueError("a file needs bytes, a stored key or a platform file id")


@dataclass(frozen=True)
class SendDocument:
    file: FileOut
    caption: str = ""
    buttons: Keyboard = ()
    chat_id: str | None = None
    platform: str | None = None

    def __post_init__(self) -> None:
        _check_text(self.caption, MAX_CAPTION, allow_empty=True)


@dataclass(frozen=True)
class SendPhoto:
    file: FileOut
    caption: str = ""
    buttons: Keyboard = ()
    chat_id: str | None = None
    platform: str | None = None

    def __post_init__(self) -> None:
        _check_text(self.caption, MAX_CAPTION, allow_empty=True)


@dataclass(frozen=True)
class AlbumItem:
    kind: Literal["photo", "document"]
    file: FileOut
    caption: str = ""


@dataclass(frozen=True)
class SendAlbum:
    """2–10 photos or documents shown together (a media group on Telegram)."""

    items: tuple[AlbumItem, ...]
    chat_id: str | None = None
    platform: str | None = None

    def __post_init__(self) -> None:
        if not 2 <= len(self.items) <= 10:
            raise ValueError("an album holds 2 to 10 items")


Outbound = Reply | Edit | Toast | SendDocument | SendPhoto | SendAlbum
_TYPES: dict[str, type] = {t.__name__: t for t in (Reply, Edit, Toast, SendDocument, SendPhoto, SendAlbum)}


def _check_text(text: str, limit: int, *, allow_empty: bool = False) -> None:
    if not allow_empty and not text.strip():
        raise ValueError("empty message text")
    if len(text) > limit:
        raise ValueError(f"text over {limit} characters")


def retarget(action: Outbound, *, platform: str, chat_id: str) -> Outbound:
    """Fill in the destination of an action addressed to "the chat the event came from"."""
    if isinstance(action, Toast):
        return action
    return replace(
        action,
        chat_id=action.chat_id if action.chat_id is not None else chat_id,
        platform=action.platform or platform,
    )


# -- (de)serialisation for the outbox ---------------------------------------------------------------------
def to_payload(action: Outbound) -> dict[str, Any]:
    return {"type": type(action).__name__, **_encode(action)}


def from_payload(payload: dict[str, Any]) -> Outbound:
    data = dict(payload)
    cls = _TYPES[data.pop("type")]
    return _decode(cls, data)


def _encode(obj: Any) -> Any:
    if isinstance(obj, bytes):
        return {"__b64__": base64.b64encode(obj).decode()}
    if hasattr(obj, "__dataclass_fields__"):
        return {f.name: _encode(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, tuple | list):
        return [_encode(x) for x in obj]
    return obj


def _decode(cls: type, data: dict[str, Any]) -> Any:
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if f.name == "buttons":
            value = tuple(tuple(Button(**b) for b in row) for row in value)
        elif f.name == "file" and value is not None:
            value = _decode(FileOut, value)
        elif f.name == "items":
            value = tuple(_decode(AlbumItem, item) for item in value)
        elif isinstance(value, dict) and "__b64__" in value:
            value = base64.b64decode(value["__b64__"])
        kwargs[f.name] = value
    return cls(**kwargs)


@dataclass
class Outcome:
    """What handling one event produced, for the transport to carry out."""

    toasts: list[Toast] = field(default_factory=list)
    # (outbox row id, action) in sending order; the ids let the transport mark each one sent.
    deliveries: list[tuple[int, Outbound]] = field(default_factory=list)
    duplicate: bool = False

    @property
    def actions(self) -> list[Outbound]:
        return [*self.toasts, *(a for _, a in self.deliveries)]
