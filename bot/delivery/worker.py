"""Outbox workers: deliver queued rows (broadcasts, reminders, reports, alerts, replies) through a `Sender`
and, for Telegram, the process's shared rate `Gate`.

Two ways in, one way out:
- `run`/`drain`/`step`: claim due rows from the queue (broadcasts, reminders, replies a crash left behind);
- `deliver_turn`: the fast path — the replies of the update just committed, written already claimed by this
  worker (`Core.handle(claimant=worker.name)`), handed to it first and sent in order, at once;
- either way: each row is committed `sending` (on the wire) before its request goes out, and the sender's
  answer is settled by `bot.delivery.policy` into an outcome that `storage.repos.outbox.record` writes.

So a kill at any moment never sends a row twice: rows still `claimed` were never on the wire and are taken
back (at once by a replacement process on this machine, after the lease elsewhere); rows `sending` are
settled `unconfirmed` and reported, never resent. Marks and outcomes are group-committed (`_Ledger`): under
load one transaction carries the marks and outcomes of many sends.

Broadcasts: the admin's progress message is edited as figures change; when a broadcast ends, exactly one
worker marks it done and queues the final report.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.delivery.gates import Gate, is_group
from bot.delivery.liveness import release_dead_claims, worker_name
from bot.delivery.policy import Job, Policy, settle
from bot.delivery.sender import Blocked, RetryAfter, Sender
from conversations.events import (
    Edit,
    Outbound,
    Reply,
    SendAlbum,
    SendDocument,
    SendPhoto,
    Toast,
    from_payload,
    retarget,
    to_payload,
)
from conversations.i18n import Catalog, catalog
from handlers.broadcasts import progress_key, progress_view
from storage.db import Database
from storage.models import Broadcast, OutboxMessage, utcnow
from storage.repos import outbox as repo

log = logging.getLogger(__name__)
DEAD_CHECK_EVERY = 5.0  # seconds between looks for rows held by dead processes of this machine
# A reply still rate-limited after this many 429s in a row is left to the queue.
MAX_RATE_RETRIES = 8
# A turn's rows are given back to the queue when its delivery takes this long (a long 429 pause): a claim
# older than the lease (60 s) would be taken over anyway.
HANDOFF_AFTER = 40.0


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
    rate_limit_is_attempt: bool = False  # see `Policy`
    progress_every: float = 10.0  # seconds between edits of an admin's progress message
    heartbeat_every: float | None = None  # default: a third of the lease
    stop_grace: float = 10.0  # seconds a stopping worker waits for requests on the wire
    broadcasts: bool = True  # this worker also settles lost rows, finishes broadcasts and edits progress
    label: str = ""  # who delivers, in logs

    @property
    def policy(self) -> Policy:
        return Policy(self.max_attempts, self.backoff_base, self.backoff_cap, self.rate_limit_is_attempt, self.label)


@dataclass
class _Progress:
    last: dict[str, int] = field(default_factory=dict)
    at: float = 0.0


class _Ledger:
    """One claimant's writes to the outbox, group-committed: rows to put on the wire (the caller waits for
    the commit: nothing is sent before it) and outcomes (nobody waits). A flush starts as soon as something
    is asked; what comes meanwhile goes into the next one."""

    def __init__(self, db: Database, name: str, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.name = name
        self.clock = clock
        self._marks: dict[int, asyncio.Future[bool]] = {}
        self._outcomes: list[repo.Outcome] = []
        self._task: asyncio.Task[None] | None = None

    async def on_the_wire(self, row_id: int) -> bool:
        """Commit the row as `sending`. False when it is not this claimant's (cancelled, taken over):
        then it must not be sent."""
        fut = self._marks.get(row_id)
        if fut is None:
            fut = self._marks[row_id] = asyncio.get_running_loop().create_future()
        self._kick()
        return await asyncio.shield(fut)

    def settled(self, outcome: repo.Outcome) -> None:
        self._outcomes.append(outcome)
        self._kick()

    def _kick(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while self._marks or self._outcomes:
            marks, self._marks = self._marks, {}
            outcomes, self._outcomes = self._outcomes, []
            try:
                async with self.db.transaction() as s:
                    if outcomes:
                        await repo.record(s, self.name, outcomes)
                    mine = await repo.mark_sending_many(s, self.name, list(marks), self.clock()) if marks else set()
            except Exception:
                # Not marked: not sent (the claim lapses to another worker). Outcomes are tried again; rows
                # whose outcome is never written stay `sending` and end unconfirmed: never a duplicate.
                log.exception("outbox: could not record %d outcomes / mark %d rows", len(outcomes), len(marks))
                for fut in marks.values():
                    if not fut.done():
                        fut.set_result(False)
                self._outcomes[:0] = outcomes
                await asyncio.sleep(1.0)
                continue
            for row_id, fut in marks.items():
                if not fut.done():
                    fut.set_result(row_id in mine)

    async def flush(self, timeout: float = 10.0) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while self._task is not None and not self._task.done():
                    await asyncio.shield(self._task)


class OutboxWorker:
    def __init__(
        self,
        db: Database,
        sender: Sender,
        gate: Gate | None,
        *,
        config: WorkerConfig | None = None,
        name: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        messages: Catalog | None = None,
    ) -> None:
        self.db = db
        self.sender = sender
        self.platform = sender.platform
        self.gate = gate
        self.config = config or WorkerConfig()
        self.policy = self.config.policy
        self.name = name or worker_name()
        self.clock = clock
        self._catalog = messages
        self.ledger = _Ledger(db, self.name, clock)
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(self.config.concurrency)
        self._progress: dict[int, _Progress] = {}
        self._last_housekeeping = 0.0
        self._last_dead_check = -DEAD_CHECK_EVERY
        self.sent = 0  # rows this worker delivered (for logs and benchmarks)
        self.failed = 0  # rows settled failed for good

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = catalog()
        return self._catalog

    # -- the queue ----------------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Deliver until `stop` is set, then finish what is on the wire and give back the rest."""
        stop = stop or asyncio.Event()
        heartbeat = asyncio.create_task(self._heartbeat(stop))
        try:
            while not stop.is_set():
                try:
                    claimed = await self.step(stop)
                except Exception:  # the database away for a moment: try again, never end the bot
                    log.exception("outbox worker %s: delivery step failed", self.name)
                    claimed = 0
                if claimed == 0:
                    await self._settle()
                    with contextlib.suppress(Exception):
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
            with contextlib.suppress(Exception):
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
                platform=self.platform,
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
            if self.gate is not None:
                await self.gate.wait(row.chat_id, group=is_group(row.chat_id))
            if not await self.ledger.on_the_wire(row.id):  # cancelled, or taken over: not ours to send
                self._slots.release()
                continue
            if self.gate is not None:
                self.gate.departed()
            task = asyncio.create_task(self._send_row(row))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(rows)

    async def _send_row(self, row: OutboxMessage) -> None:
        job = Job(row.id, row.platform, row.chat_id, row.attempts, row.contact_id, row.payload)
        try:
            try:
                action = retarget(from_payload(row.payload), platform=row.platform, chat_id=row.chat_id)
                result, error = await self.sender.send(action), None
            except Exception as exc:
                result, error = None, exc
        finally:
            self._slots.release()
        self._settled(job, result, error)

    def _settled(self, job: Job, result: dict[str, Any] | None, error: BaseException | None) -> repo.Outcome:
        outcome, pause = settle(self.policy, job, self.clock(), result=result, error=error)
        if pause and self.gate is not None:
            self.gate.pause(pause)  # everyone waits, not just the request that got the 429
        if outcome.status == "sent":
            self.sent += 1
        elif outcome.status == "failed":
            self.failed += 1
        self.ledger.settled(outcome)
        return outcome

    def backoff(self, attempt: int) -> float:
        return self.policy.backoff(attempt)

    async def _settle(self) -> None:
        """Wait for what is on the wire and write its outcomes."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.ledger.flush()

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        every = self.config.heartbeat_every or self.config.lease.total_seconds() / 3
        while not stop.is_set():
            await asyncio.sleep(every)
            try:
                async with self.db.transaction() as s:
                    await repo.renew(s, self.name, self.clock())
            except Exception:
                log.warning("outbox heartbeat failed", exc_info=True)

    # -- the fast path: this turn's rows, handed over first ----------------------------------------------------
    async def deliver_turn(
        self, deliveries: Sequence[tuple[int, Outbound]], *, reply_chat: str | None = None, update_id: str = ""
    ) -> None:
        """Send the rows of one committed update in order (they were written claimed by this worker).
        `reply_chat` is the chat talking to the bot right now: replies there skip the per-chat limit (a short
        burst of replies to someone typing is fine). A chat whose row failed gets nothing more in this turn:
        its later rows follow the failed one (blocked with it, or given back to the queue for when it is
        due), so one chat's messages never overtake each other."""
        blocked: set[str] = set()
        held: dict[str, datetime] = {}  # chat -> when its given-back rows are due
        started = time.monotonic()
        for row_id, action in deliveries:
            platform = getattr(action, "platform", None)
            if isinstance(action, Toast) or platform not in (None, self.platform):
                continue  # another platform's row waits in the outbox for that platform's worker
            chat = str(getattr(action, "chat_id", "") or "")
            job = Job(row_id, self.platform, chat, payload=_secret_payload(action))
            if chat in blocked:
                self.ledger.settled(settle(self.policy, job, self.clock(), error=_CHAT_BLOCKED)[0])
                continue
            if chat in held or time.monotonic() - started > HANDOFF_AFTER:
                due = held.get(chat, self.clock())
                log.info("update %s: outbox row %s left to the outbox worker", update_id, row_id)
                await self._give_back([row_id], due)
                continue
            outcome = await self._send_now(job, action, interactive=chat == reply_chat)
            if outcome is None:
                continue
            if outcome.status == "blocked":
                log.info("update %s: chat %s blocked the bot (%s)", update_id, chat, outcome.error)
                blocked.add(chat)
            elif outcome.status == "retry":
                log.warning("update %s: outbox row %s left for the outbox worker: %s", update_id, row_id, outcome.error)
                held[chat] = outcome.retry_at or self.clock()

    async def _send_now(self, job: Job, action: Outbound, *, interactive: bool) -> repo.Outcome | None:
        chat = job.chat_id
        error: BaseException | None = None
        for _ in range(MAX_RATE_RETRIES):
            if self.gate is not None:
                await self.gate.wait(chat, group=is_group(chat), interactive=interactive)
            if not await self.ledger.on_the_wire(job.row_id):
                return None  # not ours (taken over): not ours to send
            if self.gate is not None:
                self.gate.departed()
            try:
                return self._settled(job, await self.sender.send(action), None)
            except RetryAfter as exc:
                # Nothing was delivered: the row stays ours, off the wire, while everyone waits.
                error = exc
                if self.gate is not None:
                    self.gate.pause(exc.seconds)
                log.info("rate limited: everyone waits %.1fs", exc.seconds)
                self.ledger.settled(repo.Outcome(job.row_id, "held", self.clock(), error=str(exc)))
                if self.gate is None:
                    break
            except Exception as exc:
                error = exc
                break
        return self._settled(job, None, error)

    async def _give_back(self, row_ids: Sequence[int], due: datetime) -> None:
        try:
            async with self.db.transaction() as s:
                await repo.release_ids(s, self.name, row_ids, due=due)
        except Exception:
            log.exception("could not give outbox rows %s back to the outbox worker", list(row_ids))

    async def deliver_pending(self, *, batch: int = 100) -> int:
        """Replies an earlier run left unsent (a crash between commit and delivery, rows given back), oldest
        first, each claimed first so a worker running beside us cannot send it too. Rows that were on the
        wire when their process died are settled unconfirmed here, never resent."""
        await release_dead_claims(self.db, self.clock())
        done = 0
        seen: set[int] = set()
        while True:
            async with self.db.reading() as s:
                rows = [r for r in await repo.pending_replies(s, self.platform, batch + len(seen)) if r.id not in seen]
            if not rows:
                await self.ledger.flush()
                return done
            seen.update(r.id for r in rows)
            async with self.db.transaction() as s:
                mine = set(await repo.claim_ids(s, self.name, [r.id for r in rows], self.clock()))
            for row in rows:
                if row.id not in mine:
                    continue
                try:
                    action = retarget(from_payload(row.payload), platform=row.platform, chat_id=row.chat_id)
                except Exception as exc:
                    log.error("outbox row %s cannot be read; marking it failed", row.id)
                    job = Job(row.id, row.platform, row.chat_id, self.policy.max_attempts, row.contact_id)
                    self.ledger.settled(settle(self.policy, job, self.clock(), error=exc)[0])
                    continue
                job = Job(row.id, row.platform, row.chat_id, row.attempts, row.contact_id, row.payload)
                await self._send_now(job, action, interactive=False)
                done += 1

    async def flush(self) -> None:
        """Write every outcome still waiting to be written (on the way out)."""
        await self.ledger.flush()

    # -- broadcasts: settling the dead's rows, progress, the end ---------------------------------------------
    async def housekeeping(self, *, force: bool = False) -> None:
        self._last_housekeeping = time.monotonic()
        now = self.clock()
        if force or time.monotonic() - self._last_dead_check >= DEAD_CHECK_EVERY:
            self._last_dead_check = time.monotonic()
            await release_dead_claims(self.db, now)
        await self.ledger.flush()
        if not self.config.broadcasts:
            return
        async with self.db.transaction() as s:
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

    async def _queue_report(self, session: Any, bc: Broadcast, now: datetime) -> None:
        if not bc.report_chat:
            return
        lang = (bc.audience or {}).get("lang", "zh")
        tally = await repo.counts(session, bc.id)
        text, _ = progress_view(self.catalog, lang, bc, tally)
        reply = Reply(text, chat_id=bc.report_chat, platform=self.platform)
        row = repo.NewRow(self.platform, bc.report_chat, to_payload(reply), f"bc{bc.id}:done")
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
            if self.gate is not None:
                await self.gate.wait(screen.chat_id, group=is_group(screen.chat_id))
            await self.sender.send(edit)
        except RetryAfter as exc:
            if self.gate is not None:
                self.gate.pause(exc.seconds)
        except Exception as exc:  # a progress edit is a courtesy: the final report goes through the outbox
            log.info("broadcast %s: progress edit failed: %s", bc.id, exc)
        if final:
            self._progress.pop(bc.id, None)


# Rows that follow a blocked row to the same chat in one turn: settled blocked without a request.
_CHAT_BLOCKED = Blocked("blocked earlier in this turn")


def _secret_payload(action: Outbound) -> dict[str, Any] | None:
    """The payload to redact from once settled, for an action that carries a secret (else None: the
    payload is kept as it is and need not be built)."""
    if isinstance(action, SendDocument | SendPhoto | SendAlbum) or getattr(action, "secret", False):
        return to_payload(action)
    return None


class Transport(Protocol):
    """What `background` needs of a transport's runner: the sender and gate it shares."""

    sender: Sender
    gate: Gate


async def background(app: Any, runner: Transport) -> None:
    """`bot.serve.Options.background` job: one worker beside the transport, sharing its sender and gate."""
    worker = OutboxWorker(app.db, runner.sender, runner.gate)
    stop = asyncio.Event()
    try:
        await worker.run(stop)
    except asyncio.CancelledError:
        stop.set()
        raise
