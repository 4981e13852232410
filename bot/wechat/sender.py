"""The WeChat `Sender`: carries the core's actions out as customer-service or template messages.

Written against the delivery `Sender` protocol and error classes (bot.delivery) so the outbox worker and the
shared settle policy deliver WeChat rows like any other platform's. Kept in one file on purpose: the delivery
code is moving into a package of its own, and this is the one place to re-point.

How a message goes out, decided up front (never by trying and falling back on 45015/45047):
- inside the person's window (bot.wechat.window): customer-service messages, a turn's replies merged
  (bot.wechat.render), each send taking one unit of the window;
- outside it, a push with a configured template (results: WECHAT_TEMPLATE_RESULT; reminders and broadcasts:
  WECHAT_TEMPLATE_REMINDER) goes as a template message;
- otherwise, and after an unfollow, it raises `Waiting`: the row waits in the outbox (status "waiting") until
  the person next writes.
Errors: 40001/42001 refresh the token and retry once (bot.wechat.api); 45009 is a RetryAfter for everyone;
45015/45047 from WeChat (another tool used the window) use the window up and wait; 43004 marks the person
unfollowed and waits.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.delivery import Rejected, RetryAfter, Transient
from bot.wechat import window
from bot.wechat.api import OutOfWindow, Unfollowed, WeChatAPI
from bot.wechat.links import LinkSigner
from bot.wechat.render import Wire, plan
from conversations.events import (
    AlbumItem,
    Edit,
    FileOut,
    Outbound,
    Reply,
    SendAlbum,
    SendDocument,
    SendPhoto,
    Toast,
)
from conversations.i18n import Catalog
from storage.db import Database
from storage.files import DocumentStore
from storage.models import OutboxMessage, UserProfile
from storage.repos import outbox as outbox_repo

log = logging.getLogger(__name__)
PLATFORM = "wechat"
# The outbox row being sent (set by the WeChat outbox worker): a push's kind picks its template.
CURRENT_ROW: contextvars.ContextVar[OutboxMessage | None] = contextvars.ContextVar("wechat_row", default=None)


class Waiting(Transient):
    """No window and no template for this push: it waits until the person next writes."""


@dataclass
class TurnResult:
    sent: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    retry: list[tuple[int, str]] = field(default_factory=list)
    pause: float = 0.0  # seconds everyone should wait (45009)


class WeChatSender:
    platform = PLATFORM

    def __init__(
        self,
        api: WeChatAPI,
        db: Database,
        store: DocumentStore,
        links: LinkSigner,
        catalog: Catalog,
        clock: Callable[[], datetime],
        *,
        template_result: str | None = None,
        template_reminder: str | None = None,
    ) -> None:
        self.api = api
        self.db = db
        self.store = store
        self.links = links
        self.catalog = catalog
        self.clock = clock
        self.template_result = template_result
        self.template_reminder = template_reminder
        self.waited: set[int] = set()  # outbox rows `send` found no way to deliver yet (the worker parks them)
        self.sends = 0  # customer-service messages sent (tests and benchmarks count them)
        self.templates = 0

    # -- the Sender protocol -------------------------------------------------------------------------------
    async def answer(self, toast: Toast) -> None:
        """WeChat has no button presses to answer; a press is a message and gets a reply."""

    async def send(self, action: Outbound) -> dict[str, Any]:
        """One outbox row (a push, or a reply left to the worker)."""
        openid = str(getattr(action, "chat_id", "") or "")
        result = await self.deliver(openid, [(0, action)], push=True)
        if result.waiting:
            if (row := CURRENT_ROW.get()) is not None:
                self.waited.add(row.id)
            raise Waiting("waiting for the person to open the chat")
        if result.retry:
            raise Transient(result.retry[0][1])
        if result.failed:
            raise Rejected(result.failed[0][1])
        return result.sent[0][1] if result.sent else {"message_ids": []}

    # -- a turn --------------------------------------------------------------------------------------------
    async def deliver(
        self,
        openid: str,
        deliveries: Sequence[tuple[int, Outbound]],
        *,
        push: bool = False,
        on_wire: Callable[[list[int]], Awaitable[bool]] | None = None,
    ) -> TurnResult:
        """Send `deliveries` (one chat's rows, in order) as few messages as the window allows. `on_wire`
        (the fast path) commits a message's rows as on the wire before it goes; False: not ours to send."""
        out = TurnResult()
        now = self.clock()
        async with self.db.reading() as s:
            peer = await s.get(window.WeChatPeer, openid)
            lang = await s.scalar(
                select(UserProfile.language).where(UserProfile.platform == PLATFORM, UserProfile.user_id == openid)
            )
        lang = lang if lang in ("zh", "en") else "zh"
        budget = window.remaining(peer, now)
        actions = [(row_id, await self._prepared(a)) for row_id, a in deliveries if not isinstance(a, Toast)]
        ids = [row_id for row_id, _ in actions]
        if budget == 0:
            template = self._template() if push else None
            if template is None or peer is None or not peer.following:
                out.waiting.extend(ids)
                return out
            return await self._template_send(openid, template, actions, lang, out)
        rendered = plan(
            actions,
            link=lambda f: self.links.url(f.stored or "", f.filename, f.mime, now),
            tail=self.catalog.t(lang, "wx-menu-tail"),
            budget=budget,
            document_line=lambda name, url: self.catalog.t(lang, "wx-file-link", name=name, url=url),
        )
        out.sent.extend((row_id, {"message_ids": [], "dropped": True}) for row_id in rendered.dropped)
        if not rendered.wires:
            if rendered.menu is not None:
                await window.take(self.db, openid, now, 0, menu=rendered.menu)
            return out
        # The sends for the whole turn, and the menu it shows, in one transaction.
        granted = await window.take(self.db, openid, now, len(rendered.wires), menu=rendered.menu)
        for index, wire in enumerate(rendered.wires):
            rest = [r for w in rendered.wires[index:] for r in w.rows]
            if index >= len(granted):  # the window ran out (another worker wrote to them meanwhile)
                out.waiting.extend(rest)
                return out
            if on_wire is not None and not await on_wire(wire.rows):
                await window.give_back(self.db, openid, [granted[index]])
                continue  # taken over by another worker: it sends them
            try:
                await self._send_wire(openid, wire)
            except Waiting:
                out.waiting.extend(rest)
                return out
            except RetryAfter as exc:  # 45009: everyone waits; these rows go again afterwards
                await window.give_back(self.db, openid, granted[index:])
                if push:
                    raise
                out.pause = exc.seconds
                out.retry.extend((r, str(exc)) for r in rest)
                return out
            except Transient as exc:
                await window.give_back(self.db, openid, granted[index:])
                out.retry.extend((r, str(exc)) for r in rest)
                return out
            except Rejected as exc:
                # Refused for good (a 400-like error): this message's rows fail; the next may still go.
                log.warning("WeChat refused a message: %s", exc)
                await window.give_back(self.db, openid, [granted[index]])
                out.failed.extend((r, str(exc)[:500]) for r in wire.rows)
                continue
            except BaseException:
                await window.give_back(self.db, openid, granted[index:])
                raise
            out.sent.extend((r, {"message_ids": [wire.mid]}) for r in wire.rows)
        if len(granted) > len(rendered.wires):
            await window.give_back(self.db, openid, granted[len(rendered.wires) :])
        return out

    async def _send_wire(self, openid: str, wire: Wire) -> None:
        """One message on the wire (its send already taken from the window)."""
        try:
            if wire.kind == "image":
                assert wire.file is not None
                data = await self._bytes(wire.file)
                media_id = await self.api.upload_image(data, wire.file.filename or "image.jpg", wire.file.mime)
                body = Wire.body_image(openid, media_id)
            else:
                body = wire.body(openid)
            await self.api.send_custom(body)
            self.sends += 1
        except OutOfWindow:
            log.info("WeChat says the window of a follower is used up; the rest waits for them")
            await window.use_up(self.db, openid)
            raise Waiting("window used up") from None
        except Unfollowed:
            await self._unfollowed(openid)
            raise Waiting("unfollowed") from None

    async def _unfollowed(self, openid: str) -> None:
        async with self.db.transaction() as s:
            await window.unfollowed(s, openid)
            await outbox_repo.deactivate_chat(s, PLATFORM, openid, None)

    # -- outside the window --------------------------------------------------------------------------------
    def _template(self) -> str | None:
        row = CURRENT_ROW.get()
        if row is not None and row.broadcast_id is not None:
            return self.template_reminder
        return self.template_result

    async def _template_send(
        self, openid: str, template: str, actions: list[tuple[int, Outbound]], lang: str, out: TurnResult
    ) -> TurnResult:
        texts = [t for _, a in actions if (t := _text_of(a))]
        text = "\n".join(texts).strip()
        first, _, rest = text.partition("\n")
        body: dict[str, Any] = {
            "touser": openid,
            "template_id": template,
            "data": {
                "first": {"value": first[:100]},
                "keyword1": {"value": (rest.strip() or first)[:200]},
                "keyword2": {"value": self.clock().astimezone(_SHANGHAI).strftime("%Y-%m-%d %H:%M")},
                "remark": {"value": self.catalog.t(lang, "wx-template-remark")},
            },
        }
        files = [a.file for _, a in actions if isinstance(a, SendDocument) and a.file.stored]
        if files:
            body["url"] = self.links.url(files[0].stored or "", files[0].filename, files[0].mime, self.clock())
        ids = [row_id for row_id, _ in actions]
        try:
            answer = await self.api.send_template(body)
        except Unfollowed:
            await self._unfollowed(openid)
            out.waiting.extend(ids)
            return out
        except Transient as exc:
            out.retry.extend((r, str(exc)) for r in ids)
            return out
        self.templates += 1
        out.sent.extend((r, {"message_ids": [f"tpl{answer.get('msgid', '')}"], "template": True}) for r in ids)
        return out

    # -- files ---------------------------------------------------------------------------------------------
    async def _prepared(self, action: Outbound) -> Outbound:
        """Bytes in hand go into the document store first: a link names a stored document."""
        if isinstance(action, SendDocument | SendPhoto) and action.file.data is not None:
            return replace(action, file=await self._stored(action.file))
        if isinstance(action, SendAlbum):
            items = tuple(
                AlbumItem(i.kind, await self._stored(i.file), i.caption) if i.file.data is not None else i
                for i in action.items
            )
            return replace(action, items=items)
        return action

    async def _stored(self, file: FileOut) -> FileOut:
        assert file.data is not None
        key = await asyncio.to_thread(self.store.put, file.data)
        return FileOut(file.filename, file.mime, stored=key)

    async def _bytes(self, file: FileOut) -> bytes:
        if file.data is not None:
            return file.data
        if file.stored is not None:
            return await asyncio.to_thread(self.store.get, file.stored)
        raise Rejected("a platform file id cannot be sent on WeChat")


def _text_of(action: Outbound) -> str:
    if isinstance(action, Reply | Edit):
        return action.text
    if isinstance(action, SendDocument | SendPhoto):
        return action.caption or action.file.filename
    return ""


_SHANGHAI = ZoneInfo("Asia/Shanghai")  # template times are read in China
