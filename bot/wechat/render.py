"""The core's neutral actions under WeChat's rules, as customer-service messages.

- Few messages: a turn's replies are merged into one text (WeChat grants 5 sends per 48 h after a message,
  3 per minute after a click, follow or scan), split only where a text would pass 2,048 bytes of UTF-8.
- Buttons become one msgmenu (head, numbered items, tail) on the turn's last message; the same numbers typed
  as text press them too. URL buttons become "label: link" lines. Past `MAX_MENU` items the list is plain
  numbered text (msgmenu is meant for a handful of choices).
- No edits on WeChat: an edit becomes a new message only when its text changed; a pure keyboard refresh sends
  nothing (the numbered items are still updated, so typed numbers press the fresh buttons).
- Documents become signed links to the bot's own endpoint; photos go as images (temporary media), or as links
  when the window has no send left for them; albums become links.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

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
)

MAX_BYTES = 2000  # WeChat refuses text over 2,048 bytes of UTF-8; a margin for the menu's numbering
MAX_MENU = 10
Link = Callable[[FileOut], str]  # a document's signed URL


def message_id(text: str) -> str:
    """WeChat has no message ids we could edit; ours name the text, so an edit can tell whether it changed."""
    return "wx" + hashlib.sha1(text.encode()).hexdigest()[:14]


@dataclass
class Wire:
    kind: str  # "text" | "image"
    text: str = ""
    items: list[tuple[str, str]] = field(default_factory=list)  # (label, button data)
    tail: str = ""
    file: FileOut | None = None
    mid: str = ""  # the id the rows it completes report as theirs
    rows: list[int] = field(default_factory=list)  # outbox rows complete once this message is out

    def body(self, openid: str, *, max_menu: int = MAX_MENU) -> dict[str, object]:
        if self.kind == "image":
            raise ValueError("an image needs its media id first (see body_image)")
        if self.items and len(self.items) <= max_menu:
            return {
                "touser": openid,
                "msgtype": "msgmenu",
                "msgmenu": {
                    "head_content": self.text,
                    "list": [{"id": str(n), "content": f"{n}. {label}"} for n, (label, _) in enumerate(self.items, 1)],
                    "tail_content": self.tail,
                },
            }
        text = self.text
        if self.items:
            text += "\n\n" + "\n".join(f"{n}. {label}" for n, (label, _) in enumerate(self.items, 1)) + "\n" + self.tail
        return {"touser": openid, "msgtype": "text", "text": {"content": text}}

    @staticmethod
    def body_image(openid: str, media_id: str) -> dict[str, object]:
        return {"touser": openid, "msgtype": "image", "image": {"media_id": media_id}}


@dataclass
class Plan:
    wires: list[Wire]
    dropped: list[int]  # rows that send nothing (an unchanged edit): sent as far as the outbox is concerned
    menu: tuple[str, list[str]] | None  # (mid, item data) to remember for typed numbers


def utf8_len(text: str) -> int:
    return len(text.encode())


def split_text(text: str, limit: int = MAX_BYTES) -> list[str]:
    """Pieces of `text` each under `limit` bytes, cut at paragraph, then line, then character boundaries."""
    if utf8_len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while utf8_len(line) > limit:  # one line longer than a message: cut it by characters
            cut = len(line)
            while utf8_len(line[:cut]) > limit:
                cut = cut * limit // max(utf8_len(line[:cut]), 1) or cut - 1
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:cut])
            line = line[cut:]
        candidate = f"{current}\n{line}" if current else line
        if utf8_len(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current:
        pieces.append(current)
    return [p for p in pieces if p.strip()]


def _buttons(kb: Keyboard) -> tuple[list[tuple[str, str]], list[str]]:
    items: list[tuple[str, str]] = []
    links: list[str] = []
    for row in kb:
        for b in row:
            if b.url is not None:
                links.append(f"{b.label}：{b.url}")
            elif b.data is not None:
                items.append((b.label, b.data))
    return items, links


def plan(
    actions: Sequence[tuple[int, Outbound]],
    *,
    link: Link,
    tail: str,
    budget: int | None = None,
    document_line: Callable[[str, str], str] = lambda name, url: f"📄 {name}\n{url}",
) -> Plan:
    """The fewest messages that carry `actions`; with `budget` (the sends left), photos give way to links
    first. Rows whose content spans several messages are complete with the last of them."""
    for photos_as_images in (True, False):
        wires, dropped, menu = _plan(actions, link, tail, photos_as_images, document_line)
        if budget is None or len(wires) <= budget or not photos_as_images:
            return Plan(wires, dropped, menu)
    raise AssertionError("unreachable")


def _plan(
    actions: Sequence[tuple[int, Outbound]],
    link: Link,
    tail: str,
    photos_as_images: bool,
    document_line: Callable[[str, str], str],
) -> tuple[list[Wire], list[int], tuple[str, list[str]] | None]:
    blocks: list[str] = []
    images: list[Wire] = []
    items: dict[str, str] = {}  # label -> data (a later button with the same label wins: fresher nonce)
    text_rows: list[int] = []
    dropped: list[int] = []
    mid = ""
    menu: tuple[str, list[str]] | None = None
    for row_id, action in actions:
        kb: Keyboard = getattr(action, "buttons", ())
        if isinstance(action, Edit):
            if message_id(action.text) == action.message_id:
                # Only the keyboard changed: nothing to send; typed numbers press the fresh buttons.
                fresh, _ = _buttons(kb)
                if fresh:
                    menu = (action.message_id, [d for _, d in fresh])
                dropped.append(row_id)
                continue
            blocks.append(action.text)
        elif isinstance(action, Reply):
            blocks.append(action.text)
        elif isinstance(action, SendDocument):
            blocks.append(
                "\n".join(x for x in (action.caption, document_line(action.file.filename, link(action.file))) if x)
            )
        elif isinstance(action, SendPhoto):
            if photos_as_images and action.file.platform_file_id is None:
                images.append(Wire("image", file=action.file, rows=[]))
                if action.caption:
                    blocks.append(action.caption)
            else:
                blocks.append(
                    "\n".join(x for x in (action.caption, document_line(action.file.filename, link(action.file))) if x)
                )
        elif isinstance(action, SendAlbum):
            for item in action.items:
                blocks.append(
                    "\n".join(x for x in (item.caption, document_line(item.file.filename, link(item.file))) if x)
                )
        else:
            dropped.append(row_id)
            continue
        text_rows.append(row_id)
        buttons, urls = _buttons(kb)
        if urls:
            blocks.append("\n".join(urls))
        for label, data in buttons:
            items.pop(label, None)
            items[label] = data
        if buttons and isinstance(action, Reply | Edit):
            mid = message_id(action.text)
    wires = list(images)
    if blocks:
        text = "\n\n".join(b for b in blocks if b.strip())
        menu_items = list(items.items())
        menu_bytes = sum(utf8_len(f"{n}. {label}") + 1 for n, (label, _) in enumerate(menu_items, 1)) + utf8_len(tail)
        pieces = split_text(text, max(200, MAX_BYTES - menu_bytes)) if menu_items else split_text(text)
        mid = mid or message_id(blocks[-1])
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            wires.append(Wire("text", piece, menu_items if last else [], tail if last and menu_items else "", mid=mid))
        if menu_items:
            menu = (mid, [d for _, d in menu_items])
    if wires:
        wires[-1].rows.extend(text_rows)
        wires[-1].mid = wires[-1].mid or mid
    else:
        dropped.extend(text_rows)
    return wires, dropped, menu


__all__ = ["Button", "Plan", "Wire", "message_id", "plan", "split_text"]
