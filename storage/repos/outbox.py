"""The outbox as a work queue: broadcasts and their per-recipient rows, claimed safely by any number of workers.

A row moves through these states:

    pending ──claim──▶ claimed ──mark_sending──▶ sending ──▶ sent | failed | blocked
       ▲                  │  (lease expired:          │       (or back to pending for a retry)
       └──── retry ───────┘   another worker claims)  └─(lease expired) ▶ unconfirmed

`claimed` rows have not touched the network: a worker that died holding them is replaced by another once
the lease expires, and nothing was sent. `sending` is committed *before* the request goes out, so a row
that was (perhaps) on the wire when its worker died is never sent again: it becomes `unconfirmed` (almost
always delivered; reported apart). That is how a crash neither loses nor doubles a message.

Claims are race-free on both backends: PostgreSQL locks the candidate rows with `FOR UPDATE SKIP LOCKED`
(concurrent workers take disjoint batches without waiting on each other); SQLite has one writer at a time
and the claim is a single guarded `UPDATE … WHERE status = 'pending' …`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Broadcast, Contact, OutboxMessage, utcnow

# Rows a worker still has to do something about.
LIVE = ("pending", "claimed", "sending")
DONE = ("sent", "failed", "blocked", "cancelled", "unconfirmed")
_INSERT_CHUNK = 500  # SQLite caps bound parameters per statement


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


# -- broadcasts and their rows -----------------------------------------------------------------------------
@dataclass(frozen=True)
class NewRow:
    """One message to one chat, as a broadcast queues it."""

    platform: str
    chat_id: str
    payload: dict[str, Any]
    dedupe_key: str
    contact_id: int | None = None


async def create_broadcast(
    session: AsyncSession,
    *,
    kind: str,
    text: str | None,
    audience: dict[str, Any],
    created_by: str | None,
    report_chat: str | None,
    now: datetime,
    schedule_key: str | None = None,
) -> Broadcast:
    bc = Broadcast(
        kind=kind,
        schedule_key=schedule_key,
        text=text,
        audience=audience,
        status="sending",
        created_by=created_by,
        report_chat=report_chat,
        created_at=now,
    )
    session.add(bc)
    await session.flush()
    return bc


async def add_rows(
    session: AsyncSession, rows: Sequence[NewRow], *, now: datetime, broadcast_id: int | None = None
) -> int:
    """Queue rows; a row whose dedupe key exists already is skipped (re-running a step queues nothing
    twice). Returns how many were queued."""
    make = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    added = 0
    for start in range(0, len(rows), _INSERT_CHUNK):
        chunk = rows[start : start + _INSERT_CHUNK]
        values = [
            {
                "broadcast_id": broadcast_id,
                "dedupe_key": r.dedupe_key,
                "platform": r.platform,
                "chat_id": r.chat_id,
                "contact_id": r.contact_id,
                "payload": r.payload,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for r in chunk
        ]
        result = await session.execute(
            make(OutboxMessage).values(values).on_conflict_do_nothing(index_elements=["dedupe_key"])
        )
        added += result.rowcount if result.rowcount and result.rowcount > 0 else 0
    return added


async def counts(session: AsyncSession, broadcast_id: int) -> dict[str, int]:
    """Rows of a broadcast by status (every status present, zeros included)."""
    rows = await session.execute(
        select(OutboxMessage.status, func.count())
        .where(OutboxMessage.broadcast_id == broadcast_id)
        .group_by(OutboxMessage.status)
    )
    found = {status: n for status, n in rows.all()}
    return {status: found.get(status, 0) for status in (*LIVE, *DONE)}


async def cancel_broadcast(session: AsyncSession, broadcast_id: int, now: datetime) -> int:
    """Stop a broadcast: rows not yet on the wire are cancelled (a row being sent right now finishes).
    Returns how many rows were cancelled."""
    await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.status.in_(("draft", "sending")))
        .values(status="cancelled", finished_at=now)
    )
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.status.in_(("pending", "claimed")))
        .values(status="cancelled", claimed_by=None, claimed_at=None)
    )
    return result.rowcount or 0


async def finish_if_done(session: AsyncSession, broadcast_id: int, now: datetime) -> bool:
    """Mark a broadcast done once no row is left to send. True for the one caller that made the change,
    so exactly one worker reports the end."""
    live = await session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.status.in_(LIVE))
    )
    if live:
        return False
    result = await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.status == "sending")
        .values(status="done", finished_at=now)
    )
    return bool(result.rowcount)


async def row_by_key(session: AsyncSession, dedupe_key: str) -> OutboxMessage | None:
    return await session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))


# -- claiming ---------------------------------------------------------------------------------------------
def _claimable(now: datetime, lease: timedelta, leftover_after: timedelta) -> ColumnElement[bool]:
    due = and_(
        OutboxMessage.status == "pending",
        OutboxMessage.next_attempt_at <= now,
        # Rows with neither a broadcast nor a dedupe key are the core's replies, which the transport
        # delivers itself right away; the worker only takes those a crash left behind.
        or_(
            OutboxMessage.broadcast_id.is_not(None),
            OutboxMessage.dedupe_key.is_not(None),
            OutboxMessage.created_at <= now - leftover_after,
        ),
    )
    abandoned = and_(OutboxMessage.status == "claimed", OutboxMessage.claimed_at <= now - lease)
    return or_(due, abandoned)


async def claim(
    session: AsyncSession,
    worker: str,
    now: datetime,
    *,
    limit: int,
    lease: timedelta,
    leftover_after: timedelta = timedelta(seconds=60),
    platform: str | None = None,
) -> list[OutboxMessage]:
    """Take up to `limit` due rows for `worker` (status → claimed), oldest first and single messages
    (replies, reports) before broadcast rows. Rows of a worker whose lease expired are taken over."""
    candidates = select(OutboxMessage.id).where(_claimable(now, lease, leftover_after))
    if platform is not None:
        candidates = candidates.where(OutboxMessage.platform == platform)
    candidates = candidates.order_by(OutboxMessage.broadcast_id.is_not(None), OutboxMessage.id).limit(limit)
    chosen: Any
    if _dialect(session) == "postgresql":
        # Lock the batch first, in its own statement: as a subquery of the UPDATE, PostgreSQL may rescan it,
        # and each rescan with SKIP LOCKED can return other rows (more than `limit` would be claimed).
        chosen = list((await session.scalars(candidates.with_for_update(skip_locked=True))).all())
        if not chosen:
            return []
    else:
        chosen = candidates.scalar_subquery()
    stmt = (
        update(OutboxMessage)
        # The condition again: on SQLite this guarded UPDATE is the whole claim.
        .where(OutboxMessage.id.in_(chosen), _claimable(now, lease, leftover_after))
        .values(status="claimed", claimed_by=worker, claimed_at=now)
        .returning(OutboxMessage)
        .execution_options(synchronize_session=False)
    )
    rows = list((await session.scalars(stmt)).all())
    rows.sort(key=lambda r: (r.broadcast_id is not None, r.id))
    return rows


async def claim_ids(session: AsyncSession, worker: str, ids: Iterable[int], now: datetime) -> list[int]:
    """Claim given pending rows (for a transport about to deliver replies itself), so a worker can never
    send them too. Returns the ids actually claimed."""
    ids = list(ids)
    if not ids:
        return []
    result = await session.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending")
        .values(status="claimed", claimed_by=worker, claimed_at=now)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )
    return list(result.all())


async def mark_sending(session: AsyncSession, worker: str, row_id: int, now: datetime) -> bool:
    """Commit this before the request goes out. False when the row is no longer this worker's (cancelled,
    or taken over after an expired lease): then it must not be sent."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.status == "claimed", OutboxMessage.claimed_by == worker)
        .values(status="sending", claimed_at=now, attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


async def renew(session: AsyncSession, worker: str, now: datetime) -> int:
    """Extend the lease on everything this worker holds (a heartbeat)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.claimed_by == worker, OutboxMessage.status.in_(("claimed", "sending")))
        .values(claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


async def release(session: AsyncSession, worker: str, now: datetime) -> int:
    """Give back claimed rows not yet sent (a clean shutdown), so nobody waits for the lease."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.claimed_by == worker, OutboxMessage.status == "claimed")
        .values(status="pending", claimed_by=None, claimed_at=None, next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


async def claimants(session: AsyncSession) -> list[str]:
    """Who holds rows right now (claimed, or on the wire)."""
    rows = await session.scalars(
        select(OutboxMessage.claimed_by)
        .where(OutboxMessage.status.in_(("claimed", "sending")), OutboxMessage.claimed_by.is_not(None))
        .distinct()
    )
    return [r for r in rows.all() if r]


async def settle_abandoned(session: AsyncSession, now: datetime, lease: timedelta) -> list[int]:
    """Rows a dead worker had on the wire: never sent again (that could double them); recorded as
    `unconfirmed`. Returns their broadcast ids, so their broadcasts can be finished."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == "sending", OutboxMessage.claimed_at <= now - lease)
        .values(status="unconfirmed", last_error="worker lost while sending; not resent to avoid a duplicate")
        .returning(OutboxMessage.broadcast_id)
        .execution_options(synchronize_session=False)
    )
    return sorted({b for b in result.scalars().all() if b is not None})


# -- outcomes ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """What became of one send: sent | retry | failed | blocked."""

    row_id: int
    status: str
    at: datetime
    result: dict[str, Any] | None = None
    error: str | None = None
    retry_at: datetime | None = None
    contact_id: int | None = None
    platform: str | None = None
    chat_id: str | None = None


async def record(session: AsyncSession, worker: str, outcomes: Sequence[Outcome]) -> None:
    """Write send outcomes. Guarded by the worker's claim, so a stale worker changes nothing it lost."""
    for o in outcomes:
        mine = and_(
            OutboxMessage.id == o.row_id,
            OutboxMessage.claimed_by == worker,
            OutboxMessage.status.in_(("sending", "unconfirmed")),
        )
        values: dict[str, Any]
        if o.status == "sent":
            values = {"status": "sent", "sent_at": o.at, "result": o.result, "last_error": None}
        elif o.status == "retry":
            assert o.retry_at is not None
            values = {
                "status": "pending",
                "next_attempt_at": o.retry_at,
                "last_error": o.error,
                "claimed_by": None,
                "claimed_at": None,
            }
        elif o.status in ("failed", "blocked"):
            values = {"status": o.status, "last_error": o.error}
        else:
            raise ValueError(f"unknown outcome {o.status!r}")
        await session.execute(update(OutboxMessage).where(mine).values(**values).execution_options(
            synchronize_session=False
        ))
        if o.status == "blocked":
            await deactivate_chat(session, o.platform or "", o.chat_id or "", o.contact_id)


async def deactivate_chat(session: AsyncSession, platform: str, chat_id: str, contact_id: int | None) -> int:
    """The person blocked the bot (403): stop writing to them until they come back."""
    who = [and_(Contact.platform == platform, Contact.chat_id == chat_id)] if chat_id else []
    if contact_id is not None:
        who.append(Contact.id == contact_id)
    if not who:
        return 0
    result = await session.execute(
        update(Contact).where(or_(*who), Contact.active.is_(True)).values(active=False, blocked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


async def broadcasts_sending(session: AsyncSession) -> list[Broadcast]:
    return list(await session.scalars(select(Broadcast).where(Broadcast.status == "sending").order_by(Broadcast.id)))
