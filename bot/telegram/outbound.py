"""`Outbound` → an `ApiCall`: the Bot API method and its parameters, which each transport executes with its
own library (files resolved from bytes, the document store or a Telegram file id)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.delivery import Rejected
from bot.telegram.inbound import api_chat_id
from conversations.events import (
    Button,
    Edit,
    FileOut,
    Keyboard,
    Outbound,
    Reply,
    SendAlbum,
    SendDocument,
    SendPhoto,
    Toast,
)
from storage.files import DocumentStore


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
