"""Outbox workers: deliver queued rows (broadcasts, reminders, reports, replies a crash left behind) through
a `Sender` and the process's shared rate `Gate`.

- Rate: every message passes the gate (≈30/s overall, 1/s per chat, 20/min per group); a 429 pauses the
  gate for everyone for `retry_after`, and the row goes back to the queue for then.
- 403: the row is `blocked` and the person's contacts are marked inactive (no more messages to them).
- Transient errors (network, 5xx): retried with exponential backoff and jitter, up to `max_attempts`.
- Never twice: a row is committed as `sending` before its request goes out. A worker that dies leaves its
  `claimed` rows (never on the wire) to be taken over once the lease expires, and its `sending` rows (maybe
  delivered) are settled as `unconfirmed`, not resent. See `storage.repos.outbox`.
- Progress: the admin's progress message is edited as figures change; when a broadcast ends, exactly one
  worker marks it done and queues the final report.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery import Blocked, Gate, Rejected, RetryAfter, Sender, Transient
from conversations.events import Edit, Reply, from_payload, retarget, to_payload
from conversations.i18n import Catalog, catalog
from handlers.broadcasts import progress_key, progress_view
from storage.db import Database
from storage.models import Broadcast, OutboxMessage, utcnow
from storage.repos import outbox as repo

if TYPE_CHECKING:
    from bot.app import App
    from bot.runner import Runner

log = logging.getLogger(__name__)
DEAD_CHECK_EVERY = 5.0  # seconds between looks for rows held by dead processes of this machine


@dataclass(frozen=True)
class WorkerConfig:
    batch: int = 100  # rows claimed at once
    lease: timedelta = timedelta(seconds=60)  # longer than any single request may take
    # A reply row pending this long was given back by a transport (or written by no transport's fast path):
    # the fast path writes its rows claimed, so a short wait is enough to never race it.
    leftover_after: timedelta = timedelta(seconds=5)
    poll: float = 1.0  # seconds between looks at an empty queue
    concurrency: int = 32  # requests in flight
    max_attempts: int = 6
    backoff_base: float = 2.0
    backoff_cap: float = 600.0
    progress_every: float = 10.0  # seconds between edits of an admin's progress message
    heartbeat_every: float | None = None  # default: a third of the lease
    stop_grace: float = 10.0  # seconds a stopping worker waits for requests on the wire


def worker_name() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _dead_here(claimant: str) -> bool:
    """A claim made by a process of this machine that no longer exists ("host:pid:…", "fast-path:host:pid").
    Claims from other machines, or from processes still alive, wait for their lease as usual."""
    parts = claimant.split(":")
    if socket.gethostname()[:32] not in parts:
        return False
    pid = next((int(p) for p in parts[parts.index(socket.gethostname()[:32]) + 1 :] if p.isdigit()), None)
    if pid is None or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


async def release_dead_claims(db: Database, now: datetime) -> list[str]:
    """Rows held by a process of this machine that died (SIGKILL, a crash) are taken back at once instead
    of after the lease: the never-sent ones go back to the queue, and the ones that were on the wire are
    settled as unconfirmed (never resent, as after a lease). A replacement process calls this on start."""
    async with db.transaction() as s:
        dead = [c for c in await repo.claimants(s) if _dead_here(c)]
        for claimant in dead:
            await repo.release(s, claimant, now)
            await s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.claimed_by == claimant, OutboxMessage.status == "sending")
                .values(status="unconfirmed", last_error="process died while sending; not resent to avoid a duplicate")
                .execution_options(synchronize_session=False)
            )
    if dead:
        log.warning("outbox: took back the rows of dead processes %s", ", ".join(dead))
    return dead


def is_group(chat_id: str) -> bool:
    # Telegram's group and channel ids are negative; private chats are the user's own positive id.
    return chat_id.startswith("-")


@dataclass
class _Progress:
    last: dict[str, int] = field(default_factory=dict)
    at: float = 0.0


class OutboxWorker:
    def __init__(
        self,
        db: Database,
        sender: Sender,
        gate: Gate,
        *,
        config: WorkerConfig | None = None,
        name: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        messages: Catalog | None = None,
    ) -> None:
        self.db = db
        self.sender = sender
        self.gate = gate
        self.config = config or WorkerConfig()
        self.name = name or worker_name()
        self.clock = clock
        self.catalog = messages or catalog()
        self._outcomes: list[repo.Outcome] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(self.config.concurrency)
        self._progress: dict[int, _Progress] = {}
        self._last_housekeeping = 0.0
        self._last_dead_check = -DEAD_CHECK_EVERY
        self.sent = 0  # rows this worker delivered (for logs and benchmarks)

    # -- running ------------------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Deliver until `stop` is set, then finish what is on the wire and give back the rest."""
        stop = stop or asyncio.Event()
        heartbeat = asyncio.create_task(self._heartbeat(stop))
        try:
            while not stop.is_set():
                claimed = await self.step(stop)
                if claimed == 0:
                    await self._settle()
                    await self.housekeeping(force=True)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.config.poll)
                elif time.monotonic() - self._last_housekeeping >= self.config.progress_every:
                    await self.housekeeping()
        finally:
            heartbeat.cancel()
            try:
                await asyncio.wait_for(self._settle(), self.config.stop_grace)
            except TimeoutError:
                # Requests still unanswered stay `sending`: settled as unconfirmed once the lease expires.
                log.warning("outbox worker %s: stopped with %d requests unanswered", self.name, len(self._tasks))
            async with self.db.transaction() as s:
                await repo.release(s, self.name, self.clock())

    async def drain(self) -> None:
        """Deliver everything due now, then return (tests, benchmarks, a one-shot CLI run)."""
        while True:
            if await self.step():
                continue
            await self._settle()
            # Settles the rows of lost workers, finishes broadcasts and queues their reports: more to send.
            await self.housekeeping(force=True)
            if not await self.step():
                await self._settle()
                return

    async def step(self, stop: asyncio.Event | None = None) -> int:
        """Claim one batch and put each row on the wire as the gate allows. Returns rows claimed."""
        async with self.db.transaction() as s:
            rows = await repo.claim(
                s,
                self.name,
                self.clock(),
                limit=self.config.batch,
                lease=self.config.lease,
                leftover_after=self.config.leftover_after,
                platform=self.sender.platform,
            )
        for row in rows:
            if stop is not None and stop.is_set():
                break
            # A free slot first: a row committed as `sending` must go on the wire at once, or a crash while it
            # waited would leave it unconfirmed yet never sent.
            await self._slots.acquire()
            if stop is not None and stop.is_set():
                self._slots.release()
                break
            await self._pass_gates(row.chat_id)
            async with self.db.transaction() as s:
                await self._record(s)
                mine = await repo.mark_sending(s, self.name, row.id, self.clock())
            if not mine:  # cancelled, or taken over after our lease ran out: not ours to send
                self._slots.release()
                continue
            self.gate.departed()
            task = asyncio.create_task(self._send(row))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(rows)

    async def _pass_gates(self, chat_id: str) -> None:
        await self.gate.wait(chat_id, group=is_group(chat_id))

    # -- one message ---------------------------------------------------------------------------------------
    async def _send(self, row: OutboxMessage) -> None:
        attempt = row.attempts + 1
        try:
            action = retarget(from_payload(row.payload), platform=row.platform, chat_id=row.chat_id)
            result = await self.sender.send(action)
            self.sent += 1
            self._outcomes.append(self._outcome(row, "sent", result=result))
        except RetryAfter as exc:
            # Not delivered: everyone waits, and the row is due again when the pause ends.
            self.gate.pause(exc.seconds)
            retry_at = self.clock() + timedelta(seconds=exc.seconds)
            self._outcomes.append(self._outcome(row, "retry", error=str(exc), retry_at=retry_at))
        except Blocked as exc:
            self._outcomes.append(self._outcome(row, "blocked", error=str(exc) or "blocked"))
        except Rejected as exc:
            self._outcomes.append(self._outcome(row, "failed", error=str(exc) or "rejected"))
        except Exception as exc:
            if not isinstance(exc, Transient):
                log.exception("outbox row %s: unexpected error while sending", row.id)
            error = f"{type(exc).__name__}: {exc}"[:500]
            if attempt >= self.config.max_attempts:
                self._outcomes.append(self._outcome(row, "failed", error=error))
            else:
                retry_at = self.clock() + timedelta(seconds=self.backoff(attempt))
                self._outcomes.append(self._outcome(row, "retry", error=error, retry_at=retry_at))
        finally:
            self._slots.release()

    def backoff(self, attempt: int) -> float:
        """Seconds before retry number `attempt` (1, 2, …): doubling, capped, with ±20 % jitter so
        many failed rows do not all come back at the same instant."""
        delay = min(self.config.backoff_cap, self.config.backoff_base * 2 ** (attempt - 1))
        return delay * random.uniform(0.8, 1.2)

    def _outcome(self, row: OutboxMessage, status: str, **kw: object) -> repo.Outcome:
        return repo.Outcome(
            row_id=row.id,
            status=status,
            at=self.clock(),
            contact_id=row.contact_id,
            platform=row.platform,
            chat_id=row.chat_id,
            **kw,  # type: ignore[arg-type]
        )

    async def _record(self, session: AsyncSession) -> None:
        if self._outcomes:
            done, self._outcomes = self._outcomes, []
            await repo.record(session, self.name, done)

    async def _settle(self) -> None:
        """Wait for what is on the wire and write its outcomes."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._outcomes:
            async with self.db.transaction() as s:
                await self._record(s)

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        every = self.config.heartbeat_every or self.config.lease.total_seconds() / 3
        while not stop.is_set():
            await asyncio.sleep(every)
            try:
                async with self.db.transaction() as s:
                    await repo.renew(s, self.name, self.clock())
            except Exception:
                log.warning("outbox heartbeat failed", exc_info=True)

    # -- broadcasts: settling the dead's rows, progress, the end ---------------------------------------------
    async def housekeeping(self, *, force: bool = False) -> None:
        self._last_housekeeping = time.monotonic()
        now = self.clock()
        if force or time.monotonic() - self._last_dead_check >= DEAD_CHECK_EVERY:
            self._last_dead_check = time.monotonic()
            await release_dead_claims(self.db, now)
        async with self.db.transaction() as s:
            await self._record(s)
            lost = await repo.settle_abandoned(s, now, self.config.lease)
            if lost:
                log.warning("outbox: rows of a lost worker settled as unconfirmed (broadcasts %s)", lost)
            sending = await repo.broadcasts_sending(s)
            finished: list[Broadcast] = []
            for bc in sending:
                if await repo.finish_if_done(s, bc.id, now):
                    await s.refresh(bc)
                    finished.append(bc)
                    await self._queue_report(s, bc, now)
        for bc in sending:
            await self._edit_progress(bc, final=bc in finished, force=force)

    async def _queue_report(self, session: AsyncSession, bc: Broadcast, now: datetime) -> None:
        if not bc.report_chat:
            return
        lang = (bc.audience or {}).get("lang", "zh")
        tally = await repo.counts(session, bc.id)
        text, _ = progress_view(self.catalog, lang, bc, tally)
        reply = Reply(text, chat_id=bc.report_chat, platform=self.sender.platform)
        row = repo.NewRow(self.sender.platform, bc.report_chat, to_payload(reply), f"bc{bc.id}:done")
        await repo.add_rows(session, [row], now=now)

    async def _edit_progress(self, bc: Broadcast, *, final: bool, force: bool) -> None:
        """Keep the admin's progress message current: only when figures changed, at most every
        `progress_every` seconds (the admin's chat has its own rate limits), always at the end."""
        state = self._progress.setdefault(bc.id, _Progress())
        if not final and not force and time.monotonic() - state.at < self.config.progress_every:
            return
        async with self.db.reading() as s:
            tally = await repo.counts(s, bc.id)
            screen = await repo.row_by_key(s, progress_key(bc.id))
            fresh = await s.get(Broadcast, bc.id)
        if fresh is None or screen is None or not (screen.result or {}).get("message_ids"):
            return
        if tally == state.last and not final:
            return
        state.last, state.at = tally, time.monotonic()
        text, buttons = progress_view(self.catalog, (fresh.audience or {}).get("lang", "zh"), fresh, tally)
        edit = Edit(str(screen.result["message_ids"][0]), text, buttons, screen.chat_id, screen.platform)
        try:
            await self.gate.wait(screen.chat_id, group=is_group(screen.chat_id))
            await self.sender.send(edit)
        except RetryAfter as exc:
            self.gate.pause(exc.seconds)
        except Exception as exc:  # a progress edit is a courtesy: the final report goes through the outbox
            log.info("broadcast %s: progress edit failed: %s", bc.id, exc)
        if final:
            self._progress.pop(bc.id, None)


async def background(app: App, runner: Runner) -> None:
    """`bot.serve.Options.background` job: one worker beside the transport, sharing its sender and gate."""
    worker = OutboxWorker(app.db, runner.sender, runner.gate)
    stop = asyncio.Event()
    try:
        await worker.run(stop)
    except asyncio.CancelledError:
        stop.set()
        raise
