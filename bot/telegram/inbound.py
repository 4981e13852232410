"""A Bot API update (a plain dict, after the library parsed and validated it) → the core's `Inbound`;
Telegram's chat ids."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from conversations.events import (
    FileRef,
    Inbound,
)

PLATFORM = "telegram"
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
