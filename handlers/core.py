"""The core: one event in, one transaction, the replies out.

For every event: claim its update id (a duplicate changes nothing), establish who sent it (roles are
checked here, on the server, for every update), load the person's state, route, then persist the state
and every outgoing message in the same transaction. Messages wait in the outbox until the transport
reports them sent, so a crash delays a reply but never loses it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from conversations.context import Actor, ChatState, Ctx, Services, stamp_nonce
from conversations.events import Inbound, Outcome, Reply, Toast, retarget, to_payload
from conversations.flow import Prepare
from conversations.i18n import DEFAULT_LANGUAGE, normalise_language
from conversations.validators import display_name
from handlers import (  # noqa: F401 - register
    admin,
    admin_codes,
    admin_export,
    admin_roster,
    admin_unbind,
    broadcasts,
    commands,
    faq,
    review_alerts,
    review_desk,
    review_returns,
    routing,
    signals,
)
from handlers.roles import resolve_actor
from storage.db import Database
from storage.models import AlbumItem, OutboxMessage, ProcessedUpdate, utcnow
from storage.repos.conversations import claim_update, load_state
from storage.repos.outbox import NewRow, mark_delivered, pending_replies, queue_replies
from storage.repos.people import profile, sender

log = logging.getLogger(__name__)

# Optimistic-lock conflicts (two contacts of one lab at once) are retried with fresh state.
_ATTEMPTS = 4
# Parts of an album arrive within a second or so of each other; after this long without a new part, the
# album is complete.
ALBUM_QUIET = timedelta(seconds=1.5)
AfterHook = Callable[[AsyncSession], Awaitable[object]]


class _PartsTaken(Exception):
    """An album's parts were handed over by another worker while this one was handling them."""


@dataclass
class _Prepared:
    data: bytes | None = None
    too_big: bool = False
    heavy: dict[str, Any] = field(default_factory=dict)  # the step's heavy work (flows.Prepare)


class Core:
    def __init__(self, db: Database, services: Services) -> None:
        self.db = db
        self.services = services

    async def handle(self, event: Inbound, *, after: AfterHook | None = None, claimant: str | None = None) -> Outcome:
        """Handle one event. A transport that delivers the replies itself names itself as `claimant`: the
        reply rows are then written already claimed by it, so no outbox worker can send them too, and should
        it die they are taken back (at once on this machine, after the lease elsewhere)."""
        prepared = await self._prefetch(event)
        await self._prepare(event, prepared)
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                return await self._handle_once(event, prepared, after, claimant)
            except _PartsTaken:
                raise
            except (StaleDataError, IntegrityError) as exc:
                if attempt == _ATTEMPTS:
                    log.exception("update %s: conflict persisted after %d attempts", event.update_id, attempt)
                    return await self._apologise(event, claimant, after)
                log.info("update %s: concurrent change (%s), retrying", event.update_id, type(exc).__name__)
            except Exception:
                log.exception("update %s: handler failed", event.update_id)
                return await self._apologise(event, claimant, after)
        raise AssertionError("unreachable")

    async def _handle_once(
        self, event: Inbound, prepared: _Prepared, after: AfterHook | None, claimant: str | None
    ) -> Outcome:
        async with self.db.transaction() as session:
            if not await claim_update(session, event.platform, event.update_id, event.chat_id):
                log.info("update %s: duplicate, ignored", event.update_id)
                if after is not None:
                    await after(session)  # an album handled (or apologised for) before: its parts go now
                return Outcome(duplicate=True)
            actor, who = await resolve_actor(session, event, self.services, utcnow())
            row = await load_state(session, event.platform, event.chat_id, event.user_id)
            # Names let reviewers and the audit log show people, not ids; written only when they change, and
            # only as a typed name would pass (they reach exports and cards): a formula is stored as no name.
            name = display_name(event.user_name)
            if event.user_name and who.display_name != name:
                (await profile(session, event.platform, event.user_id)).display_name = name
            lang = who.language or normalise_language(event.language) or DEFAULT_LANGUAGE
            if lang not in ("zh", "en"):
                lang = DEFAULT_LANGUAGE
            state = ChatState(row.flow, row.step, dict(row.data or {}), row.nonce)
            ctx = Ctx(event=event, state=state, session=session, services=self.services, actor=actor, lang=lang)
            ctx.prefetched = prepared.data
            ctx.file_too_big = prepared.too_big
            ctx.prepared = prepared.heavy
            await routing.route(ctx)
            await signals.dispatch(ctx)
            if after is not None:
                await after(session)
            if (row.flow, row.step, row.data, row.nonce) != (state.flow, state.step, state.data, state.nonce):
                row.flow, row.step, row.data, row.nonce = (
                    state.flow,
                    state.step,
                    dict(state.data),
                    state.nonce,
                )
            return await self._persist(ctx, claimant)

    async def _persist(self, ctx: Ctx, claimant: str | None = None) -> Outcome:
        """Queue every outgoing action in the outbox, within the event's transaction."""
        ev = ctx.event
        outcome = Outcome()
        if ev.kind == "button" and ev.callback_id and not ctx.answered:
            ctx.toast()
        rows: list[NewRow] = []
        actions = []
        for action in ctx.out:
            if isinstance(action, Toast):
                outcome.toasts.append(action)
                continue
            if getattr(action, "chat_id", None) is None:
                action = stamp_nonce(action, ctx.state.nonce)
            action = retarget(action, platform=ev.platform, chat_id=ev.chat_id)
            rows.append(NewRow(action.platform, action.chat_id, to_payload(action)))  # type: ignore[union-attr]
            actions.append(action)
        ids = await queue_replies(ctx.session, rows, now=utcnow(), claimant=claimant, claim_platform=ev.platform)
        outcome.deliveries = list(zip(ids, actions, strict=True))
        return outcome

    async def _prefetch(self, event: Inbound) -> _Prepared:
        """Download a file before the transaction (never hold a database lock across the network),
        and only when the person's current step takes files."""
        if not event.is_file or event.file is None or self.services.fetch_file is None:
            return _Prepared()
        if event.file.size is not None and event.file.size > self.services.max_download:
            return _Prepared(too_big=True)
        async with self.db.reading() as session:
            if not await routing.expects_file(session, event):
                return _Prepared()
        try:
            data = await self.services.fetch_file(event.file)
        except Exception:
            log.warning("update %s: download failed", event.update_id, exc_info=True)
            return _Prepared()
        if len(data) > self.services.max_download:
            return _Prepared(too_big=True)
        return _Prepared(data=data)

    async def _prepare(self, event: Inbound, prepared: _Prepared) -> None:
        """Heavy work the event asks for (pre-checks, reading a roster, an export), done here, outside any
        transaction, so that no database lock is held meanwhile. Only computation: what it finds is handed to
        the step, which decides and writes inside the transaction; a failure here leaves the step to cope."""
        if prepared.too_big:
            return
        async with self.db.reading() as session:
            found = await routing.preparer(session, event)
            if found is None:
                return
            done = await session.scalar(
                select(ProcessedUpdate.update_id).where(
                    ProcessedUpdate.platform == event.platform, ProcessedUpdate.update_id == event.update_id
                )
            )
            if done is not None:
                return  # a redelivery: the transaction will see the duplicate
            who = await sender(session, event.platform, event.user_id)
        fn, step = found
        try:
            if event.kind == "album":
                store = self.services.store
                files = tuple([(ref, await asyncio.to_thread(store.get, ref.stored or "")) for ref in event.files])
            elif event.file is not None and prepared.data is not None:
                files = ((event.file, prepared.data),)
            else:
                files = ()
            is_admin = event.user_id in self.services.admin_ids or who.role == "admin"
            lang = who.language or normalise_language(event.language) or DEFAULT_LANGUAGE
            prepared.heavy = await fn(
                Prepare(
                    event=event,
                    services=self.services,
                    step=step,
                    files=files,
                    is_admin=is_admin,
                    is_staff=is_admin or who.role == "reviewer",
                    lang=lang if lang in ("zh", "en") else DEFAULT_LANGUAGE,
                    now=self.services.clock.now(),
                    notify=lambda text: self._notify(event, text),
                    reading=self.db.reading,
                    lab_id=who.lab_id if who.contact_active else None,
                )
            )
        except Exception:
            log.warning("update %s: heavy work before the transaction failed", event.update_id, exc_info=True)

    async def _notify(self, event: Inbound, text: str) -> None:
        """Progress of heavy work, while it runs: a message of its own, for the outbox worker to deliver."""
        async with self.db.transaction() as session:
            reply = Reply(text, chat_id=event.chat_id, platform=event.platform)
            await queue_replies(session, [NewRow(event.platform, event.chat_id, to_payload(reply))], now=utcnow())

    async def _apologise(self, event: Inbound, claimant: str | None = None, after: AfterHook | None = None) -> Outcome:
        """A bug must not turn into silence or a redelivery loop: mark the update handled, say sorry. An album
        that failed is removed with it (its parts would otherwise be handed over again at every flush)."""
        async with self.db.transaction() as session:
            if after is not None:
                await after(session)
            if not await claim_update(session, event.platform, event.update_id, event.chat_id):
                return Outcome(duplicate=True)
            person = await profile(session, event.platform, event.user_id)
            lang = person.language or DEFAULT_LANGUAGE
            if event.kind == "album":  # its parts are gone with this transaction: say they were not kept
                text = self.services.catalog.t(lang, "error-album-failed", count=len(event.files))
            else:
                text = self.services.catalog.t(lang, "error-internal")
            reply = Reply(text, chat_id=event.chat_id, platform=event.platform)
            [row_id] = await queue_replies(
                session,
                [NewRow(event.platform, event.chat_id, to_payload(reply))],
                now=utcnow(),
                claimant=claimant,
                claim_platform=event.platform,
            )
            outcome = Outcome(deliveries=[(row_id, reply)])
            if event.callback_id:
                outcome.toasts.append(Toast(event.callback_id))
            return outcome

    async def flush_albums(
        self, *, quiet_for: timedelta = ALBUM_QUIET, force: bool = False, claimant: str | None = None
    ) -> list[Outcome]:
        """Hand over the albums no part has joined for `quiet_for` (or all, with `force`): each becomes one
        "album" event, handled (and its parts removed) in one transaction like any other event."""
        cutoff = utcnow() - quiet_for
        async with self.db.reading() as session:
            groups = (
                await session.execute(
                    select(AlbumItem.platform, AlbumItem.media_group_id)
                    .group_by(AlbumItem.platform, AlbumItem.media_group_id)
                    .having(true() if force else func.max(AlbumItem.received_at) <= cutoff)
                )
            ).all()
        return [await self.handle_album(platform, group, claimant) for platform, group in groups]

    async def handle_album(self, platform: str, group: str, claimant: str | None = None) -> Outcome:
        """Hand over the parts of an album collected so far as one event. A part handled after its album was
        handed over (a slow download, a busy worker: Telegram gives no count and no end marker) starts the
        next batch of that album under its own update id, rather than being taken for a redelivery of the
        first batch and left behind. Each batch's update id names its earliest part, so two workers reading
        the same parts at once claim the same id and one of them stands down."""
        for _ in range(_ATTEMPTS):
            async with self.db.reading() as session:
                rows = list(
                    await session.scalars(
                        select(AlbumItem)
                        .where(AlbumItem.platform == platform, AlbumItem.media_group_id == group)
                        .order_by(AlbumItem.id)
                    )
                )
            if not rows:
                return Outcome()
            parts = [Inbound.from_dict(r.event) for r in rows]
            # Named by its earliest part's own update id (unique for good, unlike a row id SQLite reuses).
            batch = f"album:{group}:{parts[0].update_id}"
            if all(p.update_id.isdigit() for p in parts):  # Telegram numbers updates in the order sent
                parts.sort(key=lambda p: int(p.update_id))
            if len(batch) > 64:  # the update id column's width; a foreign platform's long group id
                batch = "album:" + hashlib.sha256(batch.encode()).hexdigest()[:40]
            event = replace(
                parts[0],
                update_id=batch,
                kind="album",
                file=None,
                files=tuple(p.file for p in parts if p.file is not None),
            )
            ids = [r.id for r in rows]

            async def remove_parts(session: AsyncSession, ids: list[int] = ids) -> None:
                removed = await session.execute(delete(AlbumItem).where(AlbumItem.id.in_(ids)))
                if removed.rowcount != len(ids):  # type: ignore[attr-defined]
                    raise _PartsTaken  # another worker handed some of these over meanwhile: read again

            try:
                return await self.handle(event, after=remove_parts, claimant=claimant)
            except _PartsTaken:
                log.info("album %s: parts were handed over elsewhere meanwhile; reading them again", group)
        return Outcome(duplicate=True)

    async def mark_sent(self, outbox_ids: Sequence[int], results: Sequence[dict[str, object] | None] = ()) -> None:
        """Rows a channel with nothing in between (the console, test doubles) has shown already."""
        if not outbox_ids:
            return
        async with self.db.transaction() as session:
            await mark_delivered(session, outbox_ids, results, utcnow())

    async def pending(self, platform: str, limit: int = 100) -> list[OutboxMessage]:
        """Messages left unsent (a crash between commit and delivery), oldest first."""
        async with self.db.reading() as session:
            return await pending_replies(session, platform, limit)


__all__ = ["Actor", "Core"]
