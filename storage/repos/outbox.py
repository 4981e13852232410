"""The outbox as a work queue: broadcasts and their per-recipient rows, claimed safely by any number of workers.

A row moves through these states:

    pending ──claim──▶ claimed ──mark_sending──▶ sending ──▶ sent | failed | blocked
       ▲                  │  (lease expired:          │       (or back to pending for a retry)
       └──── retry ───────┘   another worker claims)  └─(lease expired) ▶ unconfirmed

`claimed` rows have not touched the network: a worker that died holding them is replaced by another once
the lease expires, and nothing was sent. `sending` is committed *before* the request goes out, so a row
that was (perhaps) on the wire when its worker died is never sent again: it becomes `unconfirmed` (almost
always delivered; reported apart). That is how a crash neither loses nor doubles a message.

This module is the outbox's only writer: every row is made (`add_rows`, `queue_replies`, `record_screen`),
claimed, marked, settled, given back, redacted and purged here, and nowhere else (tests/test_outbox_owner.py
checks it). Senders decide nothing about statuses: they hand `record` an `Outcome` (bot.delivery.policy).

Nothing secret stays: once a row is settled, a payload that carried a file (workbooks, documents) or was
marked `secret` (a binding code) keeps only what the audit needs — who (the row's chat and contact), when
(`sent_at`), what kind (the action's type and file names). Settled rows older than the keeping period are
deleted by `purge`.

Claims are race-free on both backends: PostgreSQL locks the candidate rows with `FOR UPDATE SKIP LOCKED`
(concurrent workers take disjoint batches without waiting on each other); SQLite has one writer at a time
and the claim is a single guarded `UPDATE … WHERE status = 'pending' …`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
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
    dedupe_key: str | None = None
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


async def queue_replies(
    session: AsyncSession,
    rows: Sequence[NewRow],
    *,
    now: datetime,
    claimant: str | None = None,
    claim_platform: str | None = None,
) -> list[int]:
    """Queue the replies of one event, in order, inside its transaction; returns their ids. Rows for
    `claim_platform` are written already claimed by `claimant` (the transport about to deliver them
    itself), so no outbox worker can send them too."""
    made = []
    for r in rows:
        mine = claimant is not None and r.platform == claim_platform
        row = OutboxMessage(
            platform=r.platform,
            chat_id=r.chat_id,
            contact_id=r.contact_id,
            dedupe_key=r.dedupe_key,
            payload=r.payload,
            status="claimed" if mine else "pending",
            claimed_by=claimant if mine else None,
            claimed_at=now if mine else None,
            next_attempt_at=now,
            created_at=now,
        )
        session.add(row)
        made.append(row)
    if made:
        await session.flush()
    return [row.id for row in made]


async def record_screen(
    session: AsyncSession,
    *,
    dedupe_key: str,
    platform: str,
    chat_id: str,
    payload: dict[str, Any],
    message_ids: Sequence[int | str],
    now: datetime,
) -> None:
    """Remember a message already on the person's screen (shown by the event's own edit) as a sent row,
    so a worker can find and edit it later (a broadcast's progress screen)."""
    session.add(
        OutboxMessage(
            dedupe_key=dedupe_key,
            platform=platform,
            chat_id=chat_id,
            payload=payload,
            status="sent",
            sent_at=now,
            next_attempt_at=now,
            created_at=now,
            result={"message_ids": list(message_ids)},
        )
    )


async def pending_replies(session: AsyncSession, platform: str, limit: int = 100) -> list[OutboxMessage]:
    """Replies left unsent (a crash between commit and delivery, or given back), oldest first."""
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


async def mark_delivered(
    session: AsyncSession, row_ids: Sequence[int], results: Sequence[dict[str, Any] | None], now: datetime
) -> None:
    """Rows a channel without a network in between (the console, test doubles) has shown already; their
    secrets are redacted like any delivered row's."""
    found = await session.execute(select(OutboxMessage.id, OutboxMessage.payload).where(OutboxMessage.id.in_(row_ids)))
    payloads: dict[int, dict[str, Any]] = {row_id: payload for row_id, payload in found.all()}
    for i, row_id in enumerate(row_ids):
        result = results[i] if i < len(results) else None
        values: dict[str, Any] = {"status": "sent", "sent_at": now, "result": result}
        if (kept := redacted(payloads.get(row_id) or {})) is not None:
            values["payload"] = kept
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id)
            .values(attempts=OutboxMessage.attempts + 1, **values)
            .execution_options(synchronize_session=False)
        )


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


async def mark_sending_many(session: AsyncSession, worker: str, row_ids: Iterable[int], now: datetime) -> set[int]:
    """`mark_sending` for several rows at once (a group commit); returns the ids that are this worker's to
    send."""
    ids = list(row_ids)
    if not ids:
        return set()
    result = await session.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "claimed", OutboxMessage.claimed_by == worker)
        .values(status="sending", claimed_at=now, attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )
    return set(result.all())


async def renew(session: AsyncSession, worker: str, now: datetime) -> int:
    """Extend the lease on everything this worker holds (a heartbeat)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.claimed_by == worker, OutboxMessage.status.in_(("claimed", "sending")))
        .values(claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


async def release_ids(
    session: AsyncSession, worker: str, ids: Iterable[int], *, due: datetime, error: str | None = None
) -> int:
    """Give back some claimed rows not yet on the wire (a fast path handing them to the outbox worker),
    due again at `due`."""
    ids = list(ids)
    if not ids:
        return 0
    values: dict[str, Any] = {"status": "pending", "claimed_by": None, "claimed_at": None, "next_attempt_at": due}
    if error is not None:
        values["last_error"] = error[:500]
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "claimed", OutboxMessage.claimed_by == worker)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


async def release_dead(session: AsyncSession, claimant: str, now: datetime) -> None:
    """A claimant known dead: its never-sent rows go back to the queue, its on-the-wire rows are settled as
    unconfirmed (never resent: that could double them)."""
    await release(session, claimant, now)
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.claimed_by == claimant, OutboxMessage.status == "sending")
        .values(status="unconfirmed", last_error="process died while sending; not resent to avoid a duplicate")
        .execution_options(synchronize_session=False)
    )


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
    """What became of one send: sent | retry | failed | blocked | unconfirmed (perhaps delivered), or held
    (a 429 answered: nothing was delivered, the row stays this worker's to send again once the pause is
    over)."""

    row_id: int
    status: str
    at: datetime
    result: dict[str, Any] | None = None
    error: str | None = None
    retry_at: datetime | None = None
    contact_id: int | None = None
    platform: str | None = None
    chat_id: str | None = None
    # What to keep of the payload once this row is settled (`redacted(payload)`); None: keep it all.
    redact_to: dict[str, Any] | None = None


async def record(session: AsyncSession, worker: str, outcomes: Sequence[Outcome]) -> None:
    """Write send outcomes. Guarded by the worker's claim, so a stale worker changes nothing it lost.
    A settled row's secret payload is redacted in the same statement (build outcomes with `outcome`)."""
    for o in outcomes:
        mine = and_(
            OutboxMessage.id == o.row_id,
            OutboxMessage.claimed_by == worker,
            # `claimed`: settled without going on the wire (its chat blocked the bot earlier in the turn).
            OutboxMessage.status.in_(("claimed", "sending", "unconfirmed")),
        )
        values: dict[str, Any]
        if o.status == "sent":
            values = {"status": "sent", "sent_at": o.at, "result": o.result, "last_error": None}
            if o.redact_to is not None:
                values["payload"] = o.redact_to
        elif o.status == "retry":
            assert o.retry_at is not None
            values = {
                "status": "pending",
                "next_attempt_at": o.retry_at,
                "last_error": o.error,
                "claimed_by": None,
                "claimed_at": None,
            }
        elif o.status == "waiting":
            # No way to reach the person now (a channel's reply window has closed, they unfollowed): the row
            # waits, claimed by nobody, until `wake_waiting` (they wrote again).
            values = {"status": WAITING, "last_error": o.error, "claimed_by": None, "claimed_at": None}
        elif o.status == "held":
            values = {"status": "claimed", "claimed_at": o.at, "last_error": o.error}
        elif o.status in ("failed", "blocked", "unconfirmed"):
            values = {"status": o.status, "last_error": o.error}
            if o.redact_to is not None:
                values["payload"] = o.redact_to
        else:
            raise ValueError(f"unknown outcome {o.status!r}")
        await session.execute(
            update(OutboxMessage).where(mine).values(**values).execution_options(synchronize_session=False)
        )
        if o.status == "blocked":
            await deactivate_chat(session, o.platform or "", o.chat_id or "", o.contact_id)


WAITING = "waiting"


async def wake_waiting(session: AsyncSession, platform: str, chat_id: str, now: datetime) -> int:
    """The person opened the chat again: the rows that waited for them are due now."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.platform == platform, OutboxMessage.chat_id == chat_id, OutboxMessage.status == WAITING)
        .values(status="pending", next_attempt_at=now, claimed_by=None, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


async def deactivate_chat(session: AsyncSession, platform: str, chat_id: str, contact_id: int | None) -> int:
    """The person blocked the bot (403): stop writing to them until they come back."""
    who = [and_(Contact.platform == platform, Contact.chat_id == chat_id)] if chat_id else []
    if contact_id is not None:
        who.append(Contact.id == contact_id)
    if not who:
        return 0
    result = await session.execute(
        update(Contact)
        .where(or_(*who), Contact.active.is_(True))
        .values(active=False, blocked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


async def broadcasts_sending(session: AsyncSession) -> list[Broadcast]:
    return list(await session.scalars(select(Broadcast).where(Broadcast.status == "sending").order_by(Broadcast.id)))


# -- what may have been lost: reported, resent only on a person's word ------------------------------------------
async def unconfirmed(session: AsyncSession, limit: int = 100) -> list[OutboxMessage]:
    """Rows that were on the wire when their sender died: almost always delivered, perhaps not. Never resent
    by themselves (that could double them); an operator who hears a person got nothing resends them."""
    rows = await session.scalars(
        select(OutboxMessage).where(OutboxMessage.status == "unconfirmed").order_by(OutboxMessage.id).limit(limit)
    )
    return list(rows)


async def resend(session: AsyncSession, row_ids: Iterable[int], now: datetime) -> list[int]:
    """Queue unconfirmed rows again (their payload must still be there: a redacted row cannot be resent).
    Returns the ids queued."""
    ids = list(row_ids)
    if not ids:
        return []
    result = await session.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "unconfirmed")
        .values(status="pending", next_attempt_at=now, claimed_by=None, claimed_at=None, last_error="resent by hand")
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(result.all())


# -- nothing secret stays ----------------------------------------------------------------------------------
_FILE_TYPES = ("SendDocument", "SendPhoto", "SendAlbum")


def sensitive(payload: dict[str, Any]) -> bool:
    """A payload that must not outlive its delivery: it carries a file (a workbook, a lab's document) or
    was marked secret (a binding code)."""
    return payload.get("type") in _FILE_TYPES or bool(payload.get("secret"))


def redacted(payload: dict[str, Any]) -> dict[str, Any] | None:
    """What is kept of a sensitive payload once settled: its kind and file names (the audit's "what");
    who and when are the row's own columns. None when the payload is not sensitive or already redacted."""
    if payload.get("redacted") or not sensitive(payload):
        return None
    files = [payload.get("file")] + [item.get("file") for item in payload.get("items") or []]
    names = [f.get("filename") for f in files if isinstance(f, dict) and f.get("filename")]
    return {"type": payload.get("type"), "redacted": True, "files": names}


async def purge(session: AsyncSession, now: datetime, keep: timedelta) -> tuple[int, int]:
    """Housekeeping: redact settled rows that still hold a secret (rows settled as unconfirmed, or from
    before redaction existed), and delete settled rows older than `keep` (a broadcast's rows go once the
    broadcast is finished). Returns (redacted, deleted)."""
    made_redacted = 0
    last = 0
    while True:  # in batches: a backlog must not load every payload at once
        batch = (
            await session.execute(
                select(OutboxMessage.id, OutboxMessage.payload)
                .where(OutboxMessage.status.in_(DONE), OutboxMessage.id > last)
                .order_by(OutboxMessage.id)
                .limit(_INSERT_CHUNK)
            )
        ).all()
        if not batch:
            break
        last = batch[-1][0]
        for row_id, payload in batch:
            kept = redacted(payload or {})
            if kept is not None:
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == row_id)
                    .values(payload=kept)
                    .execution_options(synchronize_session=False)
                )
                made_redacted += 1
    cutoff = now - keep
    live_broadcasts = select(Broadcast.id).where(Broadcast.status == "sending")
    result = await session.execute(
        delete(OutboxMessage)
        .where(
            OutboxMessage.status.in_(DONE),
            func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at) < cutoff,
            or_(OutboxMessage.broadcast_id.is_(None), OutboxMessage.broadcast_id.not_in(live_broadcasts)),
        )
        .execution_options(synchronize_session=False)
    )
    return made_redacted, result.rowcount or 0
