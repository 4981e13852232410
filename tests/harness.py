"""Transcript testing: people talk to the core, the harness plays the transport.

Each `Person` sends events and gets back what the bot did in their chat; everything the bot sent is
kept per chat, with edits applied, so a test can press a button by its label as a person would.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from conversations.events import (
    Button,
    Edit,
    FileRef,
    Inbound,
    Outbound,
    Reply,
    SendAlbum,
    SendDocument,
    SendPhoto,
    Toast,
)
from handlers.core import Core

_update_ids = itertools.count(1)


@dataclass
class Shown:
    """A message as the person sees it now."""

    message_id: str
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    files: list[tuple[str, bytes]] = field(default_factory=list)
    edits: int = 0

    @property
    def labels(self) -> list[str]:
        return [b.label for row in self.buttons for b in row]


class Transcript:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.chats: dict[str, list[Shown]] = {}
        self.toasts: list[Toast] = []
        self.files: dict[str, bytes] = {}  # file_id -> bytes, for the core's downloads
        self._ids = itertools.count(1000)

    async def fetch(self, ref: FileRef) -> bytes:
        return self.files[ref.file_id]

    def deliver(self, actions: list[tuple[int, Outbound]]) -> list[Outbound]:
        for _, action in actions:
            chat = str(getattr(action, "chat_id", ""))
            shown = self.chats.setdefault(chat, [])
            if isinstance(action, Reply):
                shown.append(Shown(str(next(self._ids)), action.text, action.buttons))
            elif isinstance(action, Edit):
                target = next((m for m in shown if m.message_id == action.message_id), None)
                assert target is not None, f"edit of unknown message {action.message_id}"
                target.text, target.buttons = action.text, action.buttons
                target.edits += 1
            elif isinstance(action, SendDocument | SendPhoto):
                data = action.file.data or self.core.services.store.get(action.file.stored or "")
                shown.append(
                    Shown(str(next(self._ids)), action.caption, action.buttons, [(action.file.filename, data)])
                )
            elif isinstance(action, SendAlbum):
                files = [
                    (i.file.filename, i.file.data or self.core.services.store.get(i.file.stored or ""))
                    for i in action.items
                ]
                shown.append(Shown(str(next(self._ids)), action.items[0].caption, (), files))
        return [a for _, a in actions]


class Person:
    def __init__(
        self,
        transcript: Transcript,
        user_id: str,
        chat_id: str | None = None,
        *,
        name: str = "测试用户",
        language: str | None = "zh-hans",
        platform: str = "test",
    ) -> None:
        self.t = transcript
        self.user_id = user_id
        self.chat_id = chat_id or user_id
        self.name = name
        self.language = language
        self.platform = platform

    # -- what the person sees ------------------------------------------------------------------------
    @property
    def messages(self) -> list[Shown]:
        return self.t.chats.get(self.chat_id, [])

    @property
    def last(self) -> Shown:
        assert self.messages, "the bot has not said anything in this chat"
        return self.messages[-1]

    def find_button(self, label: str, *, exact: bool = False) -> tuple[Shown, Button]:
        for message in reversed(self.messages):
            for row in message.buttons:
                for b in row:
                    if (b.label == label) if exact else (label in b.label):
                        return message, b
        available = [m.labels for m in self.messages[-3:]]
        raise AssertionError(f"no button {label!r}; latest buttons: {available}")

    # -- what the person does ------------------------------------------------------------------------
    def event(self, kind: str, **kw: Any) -> Inbound:
        return Inbound(
            platform=self.platform,
            update_id=kw.pop("update_id", None) or str(next(_update_ids)),
            chat_id=self.chat_id,
            user_id=self.user_id,
            kind=kind,  # type: ignore[arg-type]
            language=self.language,
            user_name=self.name,
            **kw,
        )

    async def handle(self, event: Inbound) -> list[Outbound]:
        outcome = await self.t.core.handle(event)
        self.t.toasts += outcome.toasts
        delivered = self.t.deliver(outcome.deliveries)
        await self.t.core.mark_sent([i for i, _ in outcome.deliveries])
        return [*outcome.toasts, *delivered]

    async def send(self, text: str, **kw: Any) -> list[Outbound]:
        if text.startswith("/"):
            name, _, args = text[1:].partition(" ")
            return await self.handle(self.event("command", text=text, command=name.lower(), args=args, **kw))
        return await self.handle(self.event("text", text=text, **kw))

    async def press(self, label: str, *, exact: bool = False, data: str | None = None) -> list[Outbound]:
        if data is not None:
            message_id = self.last.message_id if self.messages else "0"
        else:
            message, button = self.find_button(label, exact=exact)
            message_id, data = message.message_id, button.data
        return await self.handle(
            self.event("button", button=data, message_id=message_id, callback_id=str(next(_update_ids)))
        )

    async def send_file(
        self,
        data: bytes,
        *,
        name: str = "scan.jpg",
        mime: str = "image/jpeg",
        kind: str = "document",
        media_group_id: str | None = None,
        size: int | None = None,
    ) -> list[Outbound]:
        file_id = f"f{next(_update_ids)}"
        self.t.files[file_id] = data
        ref = FileRef(file_id=file_id, size=len(data) if size is None else size, mime=mime, name=name)
        return await self.handle(self.event(kind, file=ref, media_group_id=media_group_id))


def texts(actions: list[Outbound]) -> str:
    """Everything the person could read in these actions, joined (for assertions)."""
    parts = []
    for a in actions:
        if isinstance(a, Reply | Edit | Toast):
            parts.append(a.text)
        elif isinstance(a, SendDocument | SendPhoto):
            parts.append(a.caption)
    return "\n".join(parts)
