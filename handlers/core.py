"""The core: one event in, one transaction, the replies out.

For every event: claim its update id (a duplicate changes nothing), establish who sent it (roles are
checked here, on the server, for every update), load the person's state, route, then persist the state
and every outgoing message in the same transaction. Messages wait in the outbox until the transport
reports them sent, so a crash delays a reply but never loses it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import delete, func, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from conversations.context import Actor, ChatState, Ctx, Services, stamp_nonce
from conversations.events import Inbound, Outcome, Reply, Toast, retarget, to_payload
from conversations.i18n import DEFAULT_LANGUAGE, normalise_language
from handlers import (  # noqa: F401 - register
    admin,
    admin_codes,
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
from storage.models import AlbumItem, OutboxMessage, utcnow
from storage.repos.conversations import claim_update, load_state
from storage.repos.people import profile

log = logging.getLogger(__name__)

# Optimistic-lock conflicts (two contacts of one lab at once) are retried with fresh state.
_ATTEMPTS = 4
# Parts of an album arrive within a second or so of each other; after this long without a new part, the
# album is complete.
ALBUM_QUIET = timedelta(seconds=1.5)
AfterHook = Callable[[AsyncSession], Awaitable[object]]


@dataclass
class _Prepared:
    data: bytes | None = None
    too_big: bool = False


class Core:
    def __init__(self, db: Database, services: Services) -> None:
        self.db = db
        self.services = services

    async def handle(
        self, event: Inbound, *, after: AfterHook | None = None, claimant: str | None = None
    ) -> Outcome:
        """Handle one event. A transport that delivers the replies itself names itself as `claimant`: the
        reply rows are then written already claimed by it, so no outbox worker can send them too, and should
        it die they are taken back (at once on this machine, after the lease elsewhere)."""
        prepared = await self._prefetch(event)
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                return await self._handle_once(event, prepared, after, claimant)
            except (StaleDataError, IntegrityError) as exc:
                if attempt == _ATTEMPTS:
                    log.exception("update %s: conflict persisted after %d attempts", event.update_id, attempt)
                    return await self._apologise(event, claimant)
                log.info("update %s: concurrent change (%s), retrying", event.update_id, type(exc).__name__)
            except Exception:
                log.exception("update %s: handler failed", event.update_id)
                return await self._apologise(event, claimant)
        raise AssertionError("unreachable")

    async def _handle_once(
        self, event: Inbound, prepared: _Prepared, after: AfterHook | None, claimant: str | None
    ) -> Outcome:
        async with self.db.transaction() as session:
            if not await claim_update(session, event.platform, event.update_id, event.chat_id):
                log.info("update %s: duplicate, ignored", event.update_id)
                return Outcome(duplicate=True)
            actor, who = await resolve_actor(session, event, self.services, utcnow())
            row = await load_state(session, event.platform, event.chat_id, event.user_id)
            if event.user_name and who.display_name != event.user_name:
                # Names let reviewers and the audit log show people, not ids; written only when they change.
                (await profile(session, event.platform, event.user_id)).display_name = event.user_name
            lang = who.language or normalise_language(event.language) or DEFAULT_LANGUAGE
            if lang not in ("zh", "en"):
                lang = DEFAULT_LANGUAGE
            state = ChatState(row.flow, row.step, dict(row.data or {}), row.nonce)
            ctx = Ctx(event=event, state=state, session=session, services=self.services, actor=actor, lang=lang)
            ctx.prefetched = prepared.data
            ctx.file_too_big = prepared.too_big
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
        rows: list[tuple[OutboxMessage, object]] = []
        now = utcnow()
        for action in ctx.out:
            if isinstance(action, Toast):
                outcome.toasts.append(action)
                continue
            if getattr(action, "chat_id", None) is None:
                action = stamp_nonce(action, ctx.state.nonce)
            action = retarget(action, platform=ev.platform, chat_id=ev.chat_id)
            mine = claimant is not None and action.platform == ev.platform  # type: ignore[union-attr]
            row = OutboxMessage(
                platform=action.platform,  # type: ignore[union-attr]
                chat_id=action.chat_id,  # type: ignore[union-attr]
                payload=to_payload(action),
                status="claimed" if mine else "pending",
                claimed_by=claimant if mine else None,
                claimed_at=now if mine else None,
                next_attempt_at=now,
            )
            ctx.session.add(row)
            rows.append((row, action))
        await ctx.session.flush()
        outcome.deliveries = [(row.id, action) for row, action in rows]  # type: ignore[misc]
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

    async def _apologise(self, event: Inbound, claimant: str | None = None) -> Outcome:
        """A bug must not turn into silence or a redelivery loop: mark the update handled, say sorry."""
        async with self.db.transaction() as session:
            if not await claim_update(session, event.platform, event.update_id, event.chat_id):
                return Outcome(duplicate=True)
            person = await profile(session, event.platform, event.user_id)
            lang = person.language or DEFAULT_LANGUAGE
            text = self.services.catalog.t(lang, "error-internal")
            reply = Reply(text, chat_id=event.chat_id, platform=event.platform)
            row = OutboxMessage(
                platform=event.platform,
                chat_id=event.chat_id,
                payload=to_payload(reply),
                status="claimed" if claimant else "pending",
                claimed_by=claimant,
                claimed_at=utcnow() if claimant else None,
            )
            session.add(row)
            await session.flush()
            outcome = Outcome(deliveries=[(row.id, reply)])
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
        event = replace(
            parts[0],
            update_id=f"album:{group}",
            kind="album",
            file=None,
            files=tuple(p.file for p in parts if p.file is not None),
        )
        ids = [r.id for r in rows]

        async def remove_parts(session: AsyncSession) -> None:
            await session.execute(delete(AlbumItem).where(AlbumItem.id.in_(ids)))

        return await self.handle(event, after=remove_parts, claimant=claimant)

    async def mark_sent(self, outbox_ids: Sequence[int], results: Sequence[dict[str, object] | None] = ()) -> None:
        if not outbox_ids:
            return
        async with self.db.transaction() as session:
            now = utcnow()
            for i, outbox_id in enumerate(outbox_ids):
                result = results[i] if i < len(results) else None
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == outbox_id)
                    .values(status="sent", sent_at=now, result=result, attempts=OutboxMessage.attempts + 1)
                )

    async def pending(self, platform: str, limit: int = 100) -> list[OutboxMessage]:
        """Messages left unsent (a crash between commit and delivery), oldest first."""
        async with self.db.reading() as session:
            rows = await session.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.platform == platform,
                    OutboxMessage.status == "pending",
                    OutboxMessage.broadcast_id.is_(None),
                )
                .order_by(OutboxMessage.id)
                .limit(limit)
            )
            return list(rows)


__all__ = ["Actor", "Core"]
