"""The user side: people who write to the bot, press its buttons and wait for its answers.

Actions queue updates for the bot (getUpdates or webhook). They are thread-safe, so a test can
drive users from its own event loop while the server runs in a background thread.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .formatting import bot_command_entities, utf16_len
from .media import StoredFile, guess_mime, make_photo
from .models import BotMessage, ChatState, StoredMessage

if TYPE_CHECKING:
    from .server import FakeTelegram


@dataclass(frozen=True)
class AlbumPhoto:
    data: bytes
    caption: str | None = None


@dataclass(frozen=True)
class AlbumDocument:
    data: bytes
    filename: str
    mime_type: str | None = None
    caption: str | None = None


AlbumItem = bytes | AlbumPhoto | AlbumDocument


class FakeUser:
    """A person in one chat: their private chat with the bot, or a group (``FakeGroup.member``)."""

    def __init__(self, tg: FakeTelegram, user: dict[str, Any], chat: ChatState) -> None:
        self.tg = tg
        self.user = user  # the Bot API User object sent as "from"
        self._chat = chat
        self._cursor = 0  # event seq of the user's last action; wait_for_message looks after it

    def __repr__(self) -> str:
        return f"FakeUser(id={self.user_id}, first_name={self.first_name!r}, chat_id={self.chat_id})"

    @property
    def user_id(self) -> int:
        return int(self.user["id"])

    @property
    def chat_id(self) -> int:
        return self._chat.id

    @property
    def first_name(self) -> str:
        return str(self.user["first_name"])

    @property
    def language_code(self) -> str | None:
        return self.user.get("language_code")

    def _mark(self) -> None:
        with self.tg._lock:
            self._cursor = self.tg._event_seq

    def _send(self, content: dict[str, Any], reply_to: int | BotMessage | None = None) -> dict[str, Any]:
        self._mark()
        target = reply_to.message_id if isinstance(reply_to, BotMessage) else reply_to
        return self.tg._add_user_message(self.user, self._chat, content, target)

    # ------------------------------------------------------------------ actions

    async def send_text(
        self,
        text: str,
        *,
        entities: list[dict[str, Any]] | None = None,
        reply_to: int | BotMessage | None = None,
    ) -> dict[str, Any]:
        """Send a text message; /commands in it get bot_command entities as on Telegram."""
        content: dict[str, Any] = {"text": text}
        ents = entities if entities is not None else bot_command_entities(text)
        if ents:
            content["entities"] = ents
        return self._send(content, reply_to)

    async def send_command(
        self, command: str, payload: str | None = None, *, mention_bot: bool = False
    ) -> dict[str, Any]:
        """``/command payload`` with a bot_command entity at offset 0 (``/start@bot`` if mention_bot)."""
        head = "/" + command.lstrip("/")
        if mention_bot:
            head += "@" + self.tg.bot_username
        text = f"{head} {payload}" if payload else head
        entity = {"offset": 0, "length": utf16_len(head), "type": "bot_command"}
        return self._send({"text": text, "entities": [entity]})

    async def press(self, label: str, *, substring: bool = False, message: BotMessage | int | None = None) -> str:
        """Press an inline button on the newest bot message that has it; returns the query id."""
        with self.tg._lock:
            candidates = self._bot_messages_newest_first()
            if message is not None:
                mid = message.message_id if isinstance(message, BotMessage) else message
                candidates = [m for m in candidates if m.raw["message_id"] == mid]
            for stored in candidates:
                button = BotMessage.of(stored).button(label, substring=substring)
                if button is None:
                    continue
                if "callback_data" not in button:
                    kinds = [k for k in button if k != "text"]
                    raise LookupError(f"button {label!r} has no callback_data (it is a {'/'.join(kinds)} button)")
                self._mark()
                return self.tg._add_callback_query(self.user, self._chat, stored, button["callback_data"])
            available = [
                f"#{m.raw['message_id']}: {BotMessage.of(m).buttons}"
                for m in candidates
                if m.raw.get("reply_markup", {}).get("inline_keyboard")
            ]
        how = "containing" if substring else "labelled"
        raise LookupError(
            f"no inline button {how} {label!r} in chat {self.chat_id}; buttons on bot messages "
            f"(newest first): {available or 'none'}"
        )

    async def choose(self, label: str) -> dict[str, Any]:
        """Tap a reply-keyboard button: sends its text, or the contact if it requests one."""
        with self.tg._lock:
            keyboard = self._chat.reply_keyboard
            rows = (keyboard or {}).get("keyboard") or []
        for row in rows:
            for button in row:
                text = button if isinstance(button, str) else button.get("text")
                if text != label:
                    continue
                if isinstance(button, dict) and button.get("request_contact"):
                    return await self.send_contact(f"+86138{self.user_id % 10**8:08d}")
                return await self.send_text(label)
        labels = [b if isinstance(b, str) else b.get("text") for row in rows for b in row]
        raise LookupError(f"no reply keyboard button {label!r} in chat {self.chat_id}; shown: {labels or 'none'}")

    async def send_contact(self, phone_number: str, *, own: bool = True) -> dict[str, Any]:
        contact: dict[str, Any] = {"phone_number": phone_number, "first_name": self.first_name}
        if own:
            contact["user_id"] = self.user_id
        return self._send({"contact": contact})

    async def send_photo(
        self, data: bytes, caption: str | None = None, media_group_id: str | None = None
    ) -> dict[str, Any]:
        """Send a photo; the message carries 2-3 PhotoSizes (the largest holds ``data`` as is)."""
        with self.tg._lock:
            photo = self.tg._register_photo(make_photo(data, require_image=False))
        content: dict[str, Any] = {}
        if media_group_id:
            content["media_group_id"] = media_group_id
        content["photo"] = photo.as_list()
        if caption:
            content["caption"] = caption
        return self._send(content)

    async def send_document(
        self,
        data: bytes,
        filename: str,
        mime_type: str | None = None,
        caption: str | None = None,
        media_group_id: str | None = None,
    ) -> dict[str, Any]:
        with self.tg._lock:
            f = self.tg._register(
                StoredFile("document", data, file_name=filename, mime_type=mime_type or guess_mime(filename, None))
            )
        content: dict[str, Any] = {}
        if media_group_id:
            content["media_group_id"] = media_group_id
        content["document"] = f.document()
        if caption:
            content["caption"] = caption
        return self._send(content)

    async def send_album(self, items: Sequence[AlbumItem], caption: str | None = None) -> list[dict[str, Any]]:
        """2-10 photos/documents sharing one media_group_id, as separate updates (like Telegram)."""
        if not 2 <= len(items) <= 10:
            raise ValueError("an album has 2-10 items")
        group_id = str(10**17 + secrets.randbelow(9 * 10**17))
        sent = []
        for i, item in enumerate(items):
            first_caption = caption if i == 0 else None
            if isinstance(item, bytes):
                sent.append(await self.send_photo(item, first_caption, group_id))
            elif isinstance(item, AlbumPhoto):
                sent.append(await self.send_photo(item.data, item.caption or first_caption, group_id))
            else:
                sent.append(
                    await self.send_document(
                        item.data, item.filename, item.mime_type, item.caption or first_caption, group_id
                    )
                )
        return sent

    # ------------------------------------------------------------------ observing the bot

    def _bot_messages_newest_first(self) -> list[StoredMessage]:
        return [m for m in reversed(self._chat.messages.values()) if m.from_bot and not m.deleted]

    @property
    def messages(self) -> list[BotMessage]:
        """All the bot's messages in this chat, current state (after edits), oldest first."""
        return self.tg.bot_messages(self.chat_id)

    @property
    def last_message(self) -> BotMessage | None:
        """The bot's newest message in this chat, current state."""
        with self.tg._lock:
            newest = self._bot_messages_newest_first()
            return BotMessage.of(newest[0]) if newest else None

    def buttons(self) -> list[str]:
        """Inline button labels on the newest bot message that has any."""
        with self.tg._lock:
            for m in self._bot_messages_newest_first():
                labels = BotMessage.of(m).buttons
                if labels:
                    return labels
        return []

    def reply_keyboard(self) -> list[str]:
        """Labels of the reply keyboard currently shown to the user."""
        with self.tg._lock:
            rows = (self._chat.reply_keyboard or {}).get("keyboard") or []
            return [b if isinstance(b, str) else b["text"] for row in rows for b in row]

    async def wait_for_message(
        self, predicate: Callable[[BotMessage], bool] | None = None, timeout: float = 5.0
    ) -> BotMessage:
        """The next bot message or edit in this chat after the user's last action (or the
        previous wait), as it was at that moment (``.kind`` is "new" or "edit")."""
        tg, chat_id, after = self.tg, self.chat_id, self._cursor

        def check() -> BotMessage | None:
            for ev in tg._events.get(chat_id, []):
                if ev.seq > after and (predicate is None or predicate(ev.message)):
                    self._cursor = ev.seq
                    return ev.message
            return None

        def describe() -> str:
            seen = [
                f"{ev.message.kind} #{ev.message.message_id}: {ev.message.content[:80]!r}"
                + (f" {ev.message.buttons}" if ev.message.buttons else "")
                for ev in tg._events.get(chat_id, [])
                if ev.seq > after
            ]
            refused = [f"{c.method}: {c.error}" for c in tg._calls[-50:] if not c.ok and not c.injected]
            return (
                f"no matching bot message in chat {chat_id} within {timeout}s. "
                f"Seen since the last action: {seen or 'nothing'}. Recent refused calls: {refused or 'none'}"
            )

        return await tg._wait_until(check, timeout, describe)

    async def wait_for_answer(self, query_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The bot's answerCallbackQuery parameters for a press() (text, show_alert, ...)."""
        tg = self.tg
        return await tg._wait_until(
            lambda: copy.deepcopy(tg._callback_answers.get(query_id)),
            timeout,
            lambda: f"callback query {query_id} was not answered within {timeout}s",
        )

    def in_group(self, group: FakeGroup) -> FakeUser:
        """This person acting in a group chat."""
        return group.member(self)


class FakeGroup:
    """A group chat with the bot; ``g.member(u)`` gives a FakeUser acting in it."""

    def __init__(self, tg: FakeTelegram, chat: ChatState) -> None:
        self.tg = tg
        self._chat = chat
        self._members: dict[int, FakeUser] = {}

    def __repr__(self) -> str:
        return f"FakeGroup(chat_id={self.chat_id}, title={self._chat.title!r})"

    @property
    def chat_id(self) -> int:
        return self._chat.id

    @property
    def title(self) -> str | None:
        return self._chat.title

    def member(self, user: FakeUser) -> FakeUser:
        with self.tg._lock:
            if user.user_id not in self._members:
                self._members[user.user_id] = FakeUser(self.tg, user.user, self._chat)
            return self._members[user.user_id]

    @property
    def messages(self) -> list[BotMessage]:
        return self.tg.bot_messages(self.chat_id)

    @property
    def last_message(self) -> BotMessage | None:
        msgs = self.messages
        return msgs[-1] if msgs else None
