"""The update pipeline every Telegram transport shares, and the runner at its end.

One update: Inbound → `core.handle` (one transaction: state, idempotency, outbox rows written claimed by
this process's fast-path worker) → the update counts as *committed* (only now may Telegram be told it
arrived) → button answers → the rows handed to that worker, which sends them in order through the `Sender`
and the shared rate `Gate` (`bot.delivery.worker.OutboxWorker.deliver_turn`; errors settled by
`bot.delivery.policy`, like every outbox row).

`UpdatePipeline` keeps each chat's updates in order while different chats run concurrently (bounded),
and `Poller` is a getUpdates loop that moves the offset past an update only once it is committed, so a
crash at any point loses nothing (the core's update-id idempotency makes a redelivery harmless).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any, Protocol

from bot.delivery import DeliveryError, Gate, RetryAfter, Sender
from bot.delivery.liveness import fast_path_name
from bot.delivery.worker import OutboxWorker
from bot.telegram.common import Conflict, Unauthorized
from bot.telegram.errors import is_stale_query
from bot.telegram.inbound import chat_key
from conversations.events import Inbound, Outbound, Outcome, Toast
from handlers.core import ALBUM_QUIET, Core

log = logging.getLogger(__name__)


# -- one update: handle, answer, deliver ------------------------------------------------------------------
class Runner:
    """One update through the core, its button answers, then its replies — handed first to `fast`, an
    outbox worker of its own (`bot.delivery.worker`), which sends them at once under the same settle policy
    and delivery promise as every row."""

    def __init__(self, core: Core, sender: Sender, gate: Gate) -> None:
        self.core = core
        self.sender = sender
        self.gate = gate
        self.platform = sender.platform
        # Host and pid in the name: a replacement process can tell this one's claims from a live one's.
        self.fast = OutboxWorker(core.db, sender, gate, name=fast_path_name())
        self.claimant = self.fast.name

    async def handle(self, event: Inbound) -> Outcome:
        """`core.handle` until it commits. The core turns a bug into an apology itself; what escapes it is
        the database being away, so wait and try again rather than drop (or acknowledge) the update."""
        delay = 0.5
        while True:
            try:
                return await self.core.handle(event, claimant=self.claimant)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("update %s: could not be handled, retrying in %.0fs", event.update_id, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)

    async def answer(self, toasts: Iterable[Toast], update_id: str = "") -> None:
        for toast in toasts:
            try:
                await self.sender.answer(toast)
            except DeliveryError as exc:
                # A press answered late (the bot was busy or restarting) only loses its spinner.
                level = logging.INFO if is_stale_query(str(exc)) else logging.WARNING
                log.log(level, "update %s: answering the button press failed: %s", update_id, exc)
            except Exception:
                log.exception("update %s: answering the button press failed", update_id)

    async def deliver(
        self,
        deliveries: Sequence[tuple[int, Outbound]],
        *,
        reply_chat: str | None = None,
        update_id: str = "",
    ) -> None:
        """Send the rows of a committed update in order (see `OutboxWorker.deliver_turn`)."""
        await self.fast.deliver_turn(deliveries, reply_chat=reply_chat, update_id=update_id)

    async def deliver_pending(self, *, batch: int = 100) -> int:
        """Rows an earlier run left unsent (a crash between commit and delivery), oldest first."""
        return await self.fast.deliver_pending(batch=batch)

    async def close(self) -> None:
        """Record every send still waiting to be recorded (on the way out)."""
        await self.fast.flush()


async def flush_albums_forever(runner: Runner, *, every: float = 0.5, quiet: timedelta | None = None) -> None:
    """Albums arrive as separate updates with no count and no end marker; the core collects their parts
    in the database. Here, every `every` seconds, albums no part has joined for a moment are handed to the
    core as one event each, and the replies delivered (a restart loses nothing: the parts are in the
    database, and an album is handled once, by whichever process gets there first)."""
    while True:
        try:
            outcomes = await runner.core.flush_albums(quiet_for=quiet or ALBUM_QUIET, claimant=runner.claimant)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("albums could not be handed over; trying again")
            outcomes = []
        for outcome in outcomes:
            if outcome.duplicate:
                continue
            await runner.answer(outcome.toasts, "album")
            if outcome.deliveries:
                first = str(getattr(outcome.deliveries[0][1], "chat_id", "") or "")
                await runner.deliver(outcome.deliveries, reply_chat=first or None, update_id="album")
        await asyncio.sleep(every)


# -- many updates: per-chat order, bounded concurrency, acknowledgement after commit ----------------------
ToInbound = Callable[[Mapping[str, Any]], Inbound | None]


class UpdatePipeline:
    """Runs updates concurrently, one at a time per chat, at most `concurrency` in the core at once.

    `submit(update)` returns a future that resolves once the update is committed (or found to be nothing
    for the core): the moment it may be acknowledged to Telegram. Its replies are delivered afterwards,
    still in the chat's turn, so one chat's replies never overtake each other."""

    def __init__(
        self,
        runner: Runner,
        to_inbound: ToInbound,
        *,
        concurrency: int = 16,
        max_queued: int = 2000,
        on_progress: Callable[[], None] | None = None,
    ) -> None:
        self.runner = runner
        self.to_inbound = to_inbound
        self._slots = asyncio.Semaphore(concurrency)
        self._room = asyncio.Semaphore(max_queued)
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._in_flight: dict[int, asyncio.Future[None]] = {}
        self._recent: OrderedDict[int, None] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self._on_progress = on_progress
        self.handled = 0

    async def submit(self, update: Mapping[str, Any]) -> asyncio.Future[None]:
        update_id = int(update["update_id"])
        loop = asyncio.get_running_loop()
        if (fut := self._in_flight.get(update_id)) is not None:
            return fut
        if update_id in self._recent:
            done: asyncio.Future[None] = loop.create_future()
            done.set_result(None)
            return done
        await self._room.acquire()
        committed: asyncio.Future[None] = loop.create_future()
        self._in_flight[update_id] = committed
        key = chat_key(update)
        prev = self._tails.get(key) if key else None
        task = asyncio.create_task(self._run(update, update_id, prev, committed))
        if key:
            self._tails[key] = task
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._finished(t, key))
        return committed

    def _finished(self, task: asyncio.Task[None], key: str) -> None:
        self._tasks.discard(task)
        self._room.release()
        if key and self._tails.get(key) is task:
            del self._tails[key]

    async def _run(
        self,
        update: Mapping[str, Any],
        update_id: int,
        prev: asyncio.Task[None] | None,
        committed: asyncio.Future[None],
    ) -> None:
        try:
            if prev is not None:
                with contextlib.suppress(BaseException):
                    await asyncio.shield(prev)
            try:
                event = self.to_inbound(update)
            except Exception:
                log.exception("update %s: cannot be read; skipped", update_id)
                event = None
            outcome: Outcome | None = None
            if event is not None:
                async with self._slots:
                    outcome = await self.runner.handle(event)
            self._commit(update_id, committed)
            if outcome is not None and not outcome.duplicate:
                await self.runner.answer(outcome.toasts, event.update_id if event else "")
                if outcome.deliveries:
                    await self.runner.deliver(
                        outcome.deliveries, reply_chat=event.chat_id if event else None, update_id=str(update_id)
                    )
        except asyncio.CancelledError:
            if not committed.done():
                committed.cancel()
            raise
        finally:
            self._in_flight.pop(update_id, None)

    def _commit(self, update_id: int, committed: asyncio.Future[None]) -> None:
        self.handled += 1
        self._recent[update_id] = None
        if len(self._recent) > 10_000:
            self._recent.popitem(last=False)
        if not committed.done():
            committed.set_result(None)
        if self._on_progress is not None:
            self._on_progress()

    @property
    def busy(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout: float = 30) -> None:
        """Let what is running finish (shutdown): commits and deliveries alike."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)


def _committed(fut: asyncio.Future[None]) -> bool:
    return fut.done() and not fut.cancelled() and fut.exception() is None


class UpdateSource(Protocol):
    async def get_updates(self, offset: int | None, timeout: float, limit: int) -> list[dict[str, Any]]: ...


class Poller:
    """getUpdates in a loop. The offset only ever moves past updates that are committed: an update
    still being handled stays unconfirmed at Telegram and comes back in later answers, where it is
    recognised and not handled twice.

    Each batch goes to the pipeline at once; the next getUpdates waits until the batch is committed, so
    the offset moves past it and Telegram does not send it again. An update that takes long (a slow
    download) does not hold the others: after `stall` seconds it is left in hand and polling goes on,
    the offset parked just before it."""

    def __init__(
        self,
        source: UpdateSource,
        pipeline: UpdatePipeline,
        *,
        long_poll: float = 25,
        limit: int = 100,
        stall: float = 0.25,
    ) -> None:
        self.source = source
        self.pipeline = pipeline
        self.long_poll = long_poll
        self.limit = limit
        self.stall = stall
        self._known: dict[int, tuple[asyncio.Future[None], float]] = {}  # update id -> (committed, fetched at)
        self._max_seen: int | None = None
        self._progress = asyncio.Event()
        self._stop = asyncio.Event()
        pipeline._on_progress = self._progress.set
        self.polls = 0

    def stop(self) -> None:
        self._stop.set()
        self._progress.set()

    def offset(self) -> int | None:
        """The first update not yet committed (everything before it may be confirmed)."""
        waiting = [i for i, (fut, _) in self._known.items() if not _committed(fut)]
        if waiting:
            return min(waiting)
        return None if self._max_seen is None else self._max_seen + 1

    async def run(self) -> None:
        delay = 1.0
        while not self._stop.is_set():
            offset = self.offset()
            # Forget what Telegram treats as confirmed with this offset.
            if offset is not None:
                self._known = {i: k for i, k in self._known.items() if i >= offset}
            busy = any(not _committed(fut) for fut, _ in self._known.values())
            self._progress.clear()
            try:
                updates = await self._poll(offset, 0 if busy else self.long_poll)
            except Unauthorized:
                raise
            except Conflict as exc:
                log.error("getUpdates: %s — is another instance running, or a webhook set? Retrying.", exc)
                await self._sleep(5)
                continue
            except RetryAfter as exc:
                log.warning("getUpdates rate limited; waiting %.0fs", exc.seconds)
                await self._sleep(exc.seconds)
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("getUpdates failed (%s); retrying in %.0fs", exc, delay)
                await self._sleep(delay)
                delay = min(delay * 2, 30)
                continue
            delay = 1.0
            fresh = 0
            now = time.monotonic()
            for upd in updates:
                uid = int(upd["update_id"])
                if uid in self._known:
                    continue
                self._max_seen = uid if self._max_seen is None else max(self._max_seen, uid)
                fresh += 1
                self._known[uid] = (await self.pipeline.submit(upd), now)
            if updates and not fresh:
                # Only slow updates still in hand came back: wait for one, or a moment, before asking again.
                await self._wait_progress(self.stall)
            await self._settle()

    async def _settle(self) -> None:
        """Wait until every update fetched less than `stall` seconds ago is committed."""
        while not self._stop.is_set():
            self._progress.clear()
            now = time.monotonic()
            recent = [t for fut, t in self._known.values() if not _committed(fut) and now - t < self.stall]
            if not recent:
                return
            await self._wait_progress(self.stall - (now - min(recent)))

    async def _wait_progress(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._progress.wait(), max(timeout, 0.001))

    async def _poll(self, offset: int | None, timeout: float) -> list[dict[str, Any]]:
        self.polls += 1
        poll = asyncio.ensure_future(self.source.get_updates(offset, timeout, self.limit))
        stop = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({poll, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not poll.done():
                # Stopping (or cancelled): abandon the long poll; it confirmed nothing new.
                poll.cancel()
                await asyncio.gather(poll, return_exceptions=True)
        return poll.result() if not poll.cancelled() else []

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def acknowledge(self) -> None:
        """Confirm what is committed before leaving, so a restart does not fetch it again (harmless if
        skipped: the core ignores a redelivered update)."""
        offset = self.offset()
        if offset is None:
            return
        try:
            await asyncio.wait_for(self.source.get_updates(offset, 0, 1), 5)
        except Exception as exc:
            log.info("could not confirm updates before %s on the way out: %s", offset, exc)
