"""The console transport: chat with the bot in a terminal (`eqa-bot demo`).

Three personas share one bot: the lab contact (bound to a demo lab), the centre's reviewer (in the
review chat) and a new, unbound user. Buttons are numbered and pressed by typing the number; files
are sent from disk. Messages for another persona's chat wait until you switch to it.
"""

from __future__ import annotations

import asyncio
import itertools
import mimetypes
import secrets
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from bot.app import App
from bot.demo_seed import (
    GUEST_NAME,
    GUEST_USER,
    LAB_NAME,
    LAB_USER,
    PLATFORM,
    REVIEW_CHAT,
    REVIEWER_NAME,
    REVIEWER_USER,
)
from conversations.events import (
    Button,
    Edit,
    FileRef,
    Inbound,
    Outbound,
    Outcome,
    Reply,
    SendAlbum,
    SendDocument,
    SendPhoto,
    Toast,
)


@dataclass
class Persona:
    key: str
    user_id: str
    chat_id: str
    name: str
    title: str
    chat_type: str = "private"


@dataclass
class _Message:
    message_id: str
    text: str
    buttons: tuple[tuple[Button, ...], ...]


@dataclass
class _Chat:
    messages: list[_Message] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)


PERSONAS = {
    "lab": Persona("lab", LAB_USER, LAB_USER, LAB_NAME, "con-persona-lab"),
    "reviewer": Persona("reviewer", REVIEWER_USER, REVIEW_CHAT, REVIEWER_NAME, "con-persona-reviewer", "group"),
    "new": Persona("new", GUEST_USER, GUEST_USER, GUEST_NAME, "con-persona-new"),
}


class Console:
    def __init__(self, app: App, *, out: TextIO = sys.stdout, downloads: Path | None = None) -> None:
        self.app = app
        self.out = out
        self.persona = PERSONAS["lab"]
        self.chats: dict[str, _Chat] = {}
        self.downloads = downloads or Path("var/demo-downloads")
        self._updates = itertools.count(1)
        # Update ids are claimed for good in the database: a restarted demo on the same database must not
        # reuse the last run's ids, or its first inputs would be dropped as duplicates.
        self._run = f"{time.time_ns():x}{secrets.token_hex(4)}"
        self._messages = itertools.count(1)
        app.services.fetch_file = self._fetch

    async def _fetch(self, ref: FileRef) -> bytes:
        return await asyncio.to_thread(Path(ref.file_id).read_bytes)

    def print(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def t(self, key: str, /, **args: object) -> str:
        """The console's own words (the chat itself is in each persona's language)."""
        return self.app.services.catalog.t("zh", key, **args)

    # -- input -------------------------------------------------------------------------------------------
    async def run(self, lines: TextIO = sys.stdin) -> None:
        self.print(self.t("con-help"))
        self._announce()
        while True:
            self.out.write(f"\n{self.persona.name}> ")
            self.out.flush()
            line = await asyncio.to_thread(lines.readline)
            if not line:
                self.print()
                return
            if not await self.handle_line(line.rstrip("\n")):
                return

    async def handle_line(self, line: str) -> bool:
        """One line typed by the person; False to stop."""
        stripped = line.strip()
        if stripped.startswith(":"):
            return await self._meta(stripped)
        if stripped.isdigit() and self._button(int(stripped)) is not None:
            message, button = self._button(int(stripped))  # type: ignore[misc]
            await self._send(
                self._event(
                    "button",
                    button=button.data,
                    message_id=message.message_id,
                    callback_id=f"cb{self._run}-{next(self._updates)}",
                )
            )
            return True
        if stripped.startswith("/"):
            name, _, args = stripped[1:].partition(" ")
            await self._send(self._event("command", text=stripped, command=name.split("@")[0].lower(), args=args))
            return True
        await self._send(self._event("text", text=line))
        return True

    async def _meta(self, line: str) -> bool:
        try:
            parts = shlex.split(line)
        except ValueError:
            parts = line.split()
        verb, args = parts[0], parts[1:]
        if verb in (":quit", ":q", ":exit"):
            return False
        if verb == ":help":
            self.print(self.t("con-help"))
        elif verb == ":as" and args and args[0] in PERSONAS:
            self.persona = PERSONAS[args[0]]
            self._announce()
        elif verb in (":photo", ":file", ":album") and args:
            paths = [Path(a).expanduser() for a in args]
            missing = [str(p) for p in paths if not p.is_file()]
            if missing:
                self.print("  " + self.t("con-file-missing", paths=", ".join(missing)))
                return True
            group = f"album-{self._run}-{next(self._updates)}" if verb == ":album" and len(paths) > 1 else None
            for path in paths if group else paths[:1]:
                mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                ref = FileRef(file_id=str(path.resolve()), size=path.stat().st_size, mime=mime, name=path.name)
                kind = "document" if verb == ":file" else "photo"
                await self._send(self._event(kind, file=ref, media_group_id=group))
            if group:
                for outcome in await self.app.core.flush_albums(force=True):
                    await self._deliver(outcome)
        else:
            self.print("  " + self.t("con-unknown"))
        return True

    def _event(self, kind: str, **kw: object) -> Inbound:
        p = self.persona
        return Inbound(
            platform=PLATFORM,
            update_id=f"console-{self._run}-{next(self._updates)}",
            chat_id=p.chat_id,
            user_id=p.user_id,
            kind=kind,  # type: ignore[arg-type]
            user_name=p.name,
            chat_type=p.chat_type,
            **kw,  # type: ignore[arg-type]
        )

    def _button(self, number: int) -> tuple[_Message, Button] | None:
        chat = self.chats.get(self.persona.chat_id)
        for message in reversed(chat.messages if chat else []):
            flat = [b for row in message.buttons for b in row]
            if flat:
                return (message, flat[number - 1]) if 1 <= number <= len(flat) else None
        return None

    # -- output ------------------------------------------------------------------------------------------
    async def _send(self, event: Inbound) -> None:
        await self._deliver(await self.app.core.handle(event))

    async def _deliver(self, outcome: Outcome) -> None:
        for toast in outcome.toasts:
            if toast.text:
                self.print(f"  💬 {toast.text}")
        for _, action in outcome.deliveries:
            self.show(action)
        await self.app.core.mark_sent([i for i, _ in outcome.deliveries])

    def show(self, action: Outbound) -> None:
        if isinstance(action, Toast):
            return
        chat_id = str(action.chat_id)
        chat = self.chats.setdefault(chat_id, _Chat())
        rendered = self._render(action, chat)
        if chat_id == self.persona.chat_id:
            self.print(rendered)
        else:
            chat.unread.append(rendered)
            owner = next((p for p in PERSONAS.values() if p.chat_id == chat_id), None)
            if owner:
                self.print("  " + self.t("con-waiting", title=self.t(owner.title), key=owner.key))
            else:
                self.print("  " + self.t("con-waiting-chat", chat=chat_id))

    def _render(self, action: Outbound, chat: _Chat) -> str:
        if isinstance(action, Edit):
            for m in chat.messages:
                if m.message_id == action.message_id:
                    m.text, m.buttons = action.text, action.buttons
            return self._box(self.t("con-bot-edited"), action.text, action.buttons)
        if isinstance(action, Reply):
            chat.messages.append(_Message(str(next(self._messages)), action.text, action.buttons))
            return self._box(self.t("con-bot"), action.text, action.buttons)
        if isinstance(action, SendDocument | SendPhoto):
            saved = self._save(
                action.file.filename,
                action.file.data or self.app.services.store.get(action.file.stored or ""),
            )
            chat.messages.append(_Message(str(next(self._messages)), action.caption, action.buttons))
            body = self.t("con-saved", file=action.file.filename, path=str(saved))
            body += f"\n{action.caption}" if action.caption else ""
            return self._box(self.t("con-bot"), body, action.buttons)
        if isinstance(action, SendAlbum):
            names = []
            for item in action.items:
                names.append(
                    str(
                        self._save(
                            item.file.filename,
                            item.file.data or self.app.services.store.get(item.file.stored or ""),
                        )
                    )
                )
            return self._box(
                self.t("con-bot"),
                "🖼 " + "\n🖼 ".join(names) + (f"\n{action.items[0].caption}" if action.items[0].caption else ""),
                (),
            )
        return ""

    def _save(self, filename: str, data: bytes) -> Path:
        self.downloads.mkdir(parents=True, exist_ok=True)
        path = self.downloads / Path(filename).name
        path.write_bytes(data)
        return path

    @staticmethod
    def _box(who: str, text: str, buttons: tuple[tuple[Button, ...], ...]) -> str:
        lines = [f"┌─ {who}", *("│ " + line for line in text.splitlines())]
        n = 0
        for row in buttons:
            cells = []
            for b in row:
                n += 1
                cells.append(f"[{n}] {b.label}" if b.data else f"{b.label} <{b.url}>")
            lines.append("│ " + "   ".join(cells))
        lines.append("└─")
        return "\n".join(lines)

    def _announce(self) -> None:
        p = self.persona
        self.print("\n" + self.t("con-now-as", name=p.name, title=self.t(p.title)))
        chat = self.chats.get(p.chat_id)
        if chat and chat.unread:
            for text in chat.unread:
                self.print(text)
            chat.unread.clear()
