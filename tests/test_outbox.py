"""The outbox worker: claims, rate limits, 403/429/transient handling, and crash recovery without duplicates,
on SQLite and (with EQA_TEST_POSTGRES_URL) PostgreSQL. Outcomes are asserted from what the database
stored and what the recording fake sender received."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.app import App
from bot.delivery import RetryAfter, Transient
from bot.delivery.worker import OutboxWorker, WorkerConfig
from conversations.events import Reply, to_payload
from storage.db import Database
from storage.models import Broadcast, Contact, OutboxMessage, utcnow
from storage.repos import outbox as repo
from tests.test_outbox_support import FakeSender, add_lab, fast_gate, queue_broadcast


class Clock:
    """A settable clock for leases and backoff."""

    def __init__(self) -> None:
        self.at = utcnow()

    def __call__(self) -> datetime:
        return self.at


async def statuses(app: App, broadcast_id: int) -> dict[str, int]:
    async with app.db.reading() as s:
        return {k: v for k, v in (await repo.counts(s, broadcast_id)).items() if v}


async def test_a_broadcast_is_sent_once_to_every_chat_and_reported(app: App) -> None:
    chats = [f"c{i}" for i in range(25)]
    bc_id = await queue_broadcast(app, chats, now=utcnow(), report_chat="admin-chat")
    sender = FakeSender()
    await OutboxWorker(app.db, sender, fast_gate(), config=WorkerConfig(batch=7)).drain()

    delivered = sender.chats()
    assert {c: delivered[c] for c in chats} == dict.fromkeys(chats, 1)
    assert await statuses(app, bc_id) == {"sent": 25}
    async with app.db.reading() as s:
        bc = await s.get(Broadcast, bc_id)
        assert bc is not None and bc.status == "done" and bc.finished_at is not None
        rows = list(await s.scalars(select(OutboxMessage).where(OutboxMessage.broadcast_id == bc_id)))
        assert all(r.result == {"message_ids": [r.result["message_ids"][0]]} and r.sent_at for r in rows)
    # The report reached the admin's chat exactly once, after the broadcast.
    assert delivered["admin-chat"] == 1
    report = sender.sent[-1]
    assert isinstance(report, Reply) and "#" in report.text and "25" in report.text


async def test_two_workers_claim_disjoint_rows(app: App, database_url: str) -> None:
    await queue_broadcast(app, [f"c{i}" for i in range(60)], now=utcnow())
    other = Database(database_url)  # a second process, in effect: its own engine and connections
    try:
        now = utcnow()

        async def claim(db: Database, name: str) -> list[int]:
            got: list[int] = []
            for _ in range(6):
                async with db.transaction() as s:
                    got += [r.id for r in await repo.claim(s, name, now, limit=7, lease=timedelta(seconds=60))]
                await asyncio.sleep(0)
            return got

        a, b = await asyncio.gather(claim(app.db, "a"), claim(other, "b"))
    finally:
        await other.dispose()
    assert not set(a) & set(b)
    assert len(a) + len(b) == 60
    async with app.db.reading() as s:
        owners = {r.id: r.claimed_by for r in await s.scalars(select(OutboxMessage))}
    assert all(owners[i] == "a" for i in a) and all(owners[i] == "b" for i in b)


async def test_403_marks_the_row_blocked_and_the_contact_inactive(app: App) -> None:
    _, (contact_id,) = await add_lab(app, "HN0100")
    async with app.db.transaction() as s:
        bc = await repo.create_broadcast(
            s, kind="broadcast", text="x", audience={}, created_by=None, report_chat=None, now=utcnow()
        )
        reply = Reply("hello", chat_id="HN0100-p0", platform="test")
        await repo.add_rows(
            s, [repo.NewRow("test", "HN0100-p0", to_payload(reply), "k1", contact_id)], now=utcnow(), broadcast_id=bc.id
        )
    sender = FakeSender()
    sender.blocked.add("HN0100-p0")
    await OutboxWorker(app.db, sender, fast_gate()).drain()

    assert sender.sent == [] and sender.attempts == ["HN0100-p0"]  # tried once, never again
    assert await statuses(app, bc.id) == {"blocked": 1}
    async with app.db.reading() as s:
        contact = await s.get(Contact, contact_id)
        assert contact is not None and contact.active is False


async def test_429_pauses_everyone_and_the_row_goes_out_once_later(app: App) -> None:
    chats = [f"c{i}" for i in range(10)]
    bc_id = await queue_broadcast(app, chats, now=utcnow())
    sender = FakeSender()
    sender.fail["c3"] = [RetryAfter(0.3)]
    gate = fast_gate()
    started = asyncio.get_running_loop().time()
    await OutboxWorker(app.db, sender, gate).drain()
    elapsed = asyncio.get_running_loop().time() - started

    assert gate.pauses == 1
    assert elapsed >= 0.3  # the retried row waited for retry_after
    assert sender.chats() == dict.fromkeys(chats, 1)
    assert sender.attempts.count("c3") == 2
    assert await statuses(app, bc_id) == {"sent": 10}


async def test_transient_errors_back_off_then_succeed_or_fail_for_good(app: App) -> None:
    bc_id = await queue_broadcast(app, ["ok-later", "never"], now=utcnow())
    clock = Clock()
    sender = FakeSender()
    sender.fail["ok-later"] = [Transient("502"), Transient("timeout")]
    sender.fail["never"] = [Transient("down")] * 10
    worker = OutboxWorker(app.db, sender, fast_gate(), clock=clock, config=WorkerConfig(max_attempts=3))

    await worker.drain()
    async with app.db.reading() as s:
        rows = {r.chat_id: r for r in await s.scalars(select(OutboxMessage))}
    first = rows["ok-later"]
    assert first.status == "pending" and first.attempts == 1 and first.last_error and "502" in first.last_error
    wait = (first.next_attempt_at - clock.at).total_seconds()
    assert 1.5 <= wait <= 2.5  # backoff_base, with jitter

    clock.at += timedelta(seconds=3)
    await worker.drain()
    async with app.db.reading() as s:
        second = await s.get(OutboxMessage, first.id)
        assert second is not None and second.attempts == 2
        assert 3 <= (second.next_attempt_at - clock.at).total_seconds() <= 5  # doubled

    clock.at += timedelta(seconds=10)
    await worker.drain()
    assert sender.chats() == {"ok-later": 1}
    assert await statuses(app, bc_id) == {"sent": 1, "failed": 1}
    assert sender.attempts.count("never") == 3  # max_attempts, then failed for good


async def test_a_crash_mid_broadcast_resumes_after_the_lease_without_duplicates(app: App) -> None:
    chats = [f"c{i:03d}" for i in range(40)]
    bc_id = await queue_broadcast(app, chats, now=utcnow())
    clock = Clock()
    config = WorkerConfig(batch=20, lease=timedelta(seconds=30), concurrency=4)

    # Worker A: its 12th request reaches the platform but never answers; then A dies (no cleanup at all).
    dying = FakeSender()
    dying.hang_after = 11
    a = OutboxWorker(app.db, dying, fast_gate(), clock=clock, config=config, name="worker-a")
    run = asyncio.create_task(a.step())
    await asyncio.wait_for(dying.hung.wait(), 10)
    await asyncio.sleep(0.05)  # let A put what it can on the wire
    run.cancel()
    for task in list(a._tasks):
        task.cancel()
    await asyncio.gather(run, *a._tasks, return_exceptions=True)

    async with app.db.reading() as s:
        left = await repo.counts(s, bc_id)
    assert left["sending"] >= 1 and left["claimed"] >= 1  # on the wire, and claimed but never sent

    # Worker B, before A's lease expires, takes nothing of A's.
    survivor = FakeSender()
    b = OutboxWorker(app.db, survivor, fast_gate(), clock=clock, config=config, name="worker-b")
    await b.drain()
    early = survivor.chats()
    assert not set(early) & set(dying.chats())

    # After the lease: B takes over A's claimed rows; A's in-flight row is settled, not resent.
    clock.at += timedelta(seconds=31)
    await b.drain()

    everything = dying.chats() + survivor.chats()
    assert {c: everything[c] for c in chats} == dict.fromkeys(chats, 1), "a chat got two or zero messages"
    final = await statuses(app, bc_id)
    assert final["sent"] + final.get("unconfirmed", 0) == 40
    assert final.get("unconfirmed", 0) >= 1
    async with app.db.reading() as s:
        bc = await s.get(Broadcast, bc_id)
        assert bc is not None and bc.status == "done"


async def test_a_clean_stop_gives_rows_back_at_once(app: App) -> None:
    await queue_broadcast(app, [f"c{i}" for i in range(30)], now=utcnow())
    sender = FakeSender()
    sender.hang_after = 4  # slow platform; we stop the worker meanwhile
    stop = asyncio.Event()
    a = OutboxWorker(app.db, sender, fast_gate(), config=WorkerConfig(batch=30, concurrency=1), name="a")
    task = asyncio.create_task(a.run(stop))
    await asyncio.wait_for(sender.hung.wait(), 10)
    stop.set()
    for t in list(a._tasks):
        t.cancel()
    await asyncio.wait_for(task, 10)
    async with app.db.reading() as s:
        claimed = await s.scalar(select(OutboxMessage.id).where(OutboxMessage.status == "claimed"))
    assert claimed is None  # released to pending, nobody waits for a lease
    b_sender = FakeSender()
    await OutboxWorker(app.db, b_sender, fast_gate(), name="b").drain()
    assert not set(b_sender.chats()) & set(sender.chats())
    assert len(b_sender.chats()) + len(sender.chats()) == 30


async def test_leftover_replies_are_delivered_but_fresh_ones_are_left_to_the_transport(app: App) -> None:
    now = utcnow()
    async with app.db.transaction() as s:
        for chat, age in (("old", 120), ("fresh", 1)):
            s.add(
                OutboxMessage(
                    platform="test",
                    chat_id=chat,
                    payload=to_payload(Reply(f"reply to {chat}", chat_id=chat, platform="test")),
                    status="pending",
                    next_attempt_at=now - timedelta(seconds=age),
                    created_at=now - timedelta(seconds=age),
                )
            )
    sender = FakeSender()
    await OutboxWorker(app.db, sender, fast_gate()).drain()
    assert sender.chats() == {"old": 1}
    async with app.db.reading() as s:
        rows = {r.chat_id: r.status for r in await s.scalars(select(OutboxMessage))}
    assert rows == {"old": "sent", "fresh": "pending"}


async def test_cancel_stops_what_has_not_gone_out(app: App) -> None:
    bc_id = await queue_broadcast(app, [f"c{i}" for i in range(20)], now=utcnow())
    sender = FakeSender()
    worker = OutboxWorker(app.db, sender, fast_gate(), config=WorkerConfig(batch=5))
    await worker.step()
    await worker._settle()
    async with app.db.transaction() as s:
        assert await repo.cancel_broadcast(s, bc_id, utcnow()) == 15
    await worker.drain()
    assert len(sender.sent) == 5
    assert await statuses(app, bc_id) == {"sent": 5, "cancelled": 15}


async def test_rate_gate_holds_the_pace(app: App) -> None:
    from bot.delivery import Gate

    chats = [f"c{i}" for i in range(40)]
    await queue_broadcast(app, chats, now=utcnow())
    sender = FakeSender()
    gate = Gate(per_second=100, per_chat_per_second=1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await OutboxWorker(app.db, sender, gate).drain()
    # Evenly paced, no initial burst: 40 messages at 100/s take at least 39 intervals (less half an interval).
    assert loop.time() - started >= 0.39 - 0.005
    assert sender.chats() == dict.fromkeys(chats, 1)


async def test_the_pacer_never_puts_more_than_cap_sends_in_a_window() -> None:
    from bot.delivery import Pacer

    pacer = Pacer(cap=10, window=0.2, margin=0.01)
    loop = asyncio.get_running_loop()
    times = []
    for i in range(45):
        await pacer.wait()
        times.append(loop.time())
        if i == 20:
            await asyncio.sleep(0.05)  # a late wake: caught up gently, never with a burst
    for i in range(len(times) - 10):
        assert times[i + 10] - times[i] >= 0.2  # the 11th send is always a whole window after the 1st
    gaps = sorted(b - a for a, b in itertools.pairwise(times))
    assert gaps[len(gaps) // 2] >= 0.9 * 0.021  # evenly spaced, not front-loaded within each window
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert rate >= 0.8 * 10 / 0.21  # still close to the limit


async def test_rows_held_by_a_dead_process_of_this_machine_are_taken_back_at_once(app: App) -> None:
    import os
    import socket
    import subprocess

    from bot.delivery.liveness import release_dead_claims
    from storage.models import OutboxMessage

    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid that has just ended
    host = socket.gethostname()[:32]
    now = utcnow()
    async with app.db.transaction() as s:
        for status, claimant in (
            ("claimed", f"fast-path:{host}:{gone.pid}"),  # a reply a killed fast path never sent
            ("sending", f"{host}:{gone.pid}:abc123"),  # a broadcast row that was on the wire
            ("claimed", f"{host}:{os.getpid()}:live00"),  # ours, alive
            ("claimed", f"fast-path:elsewhere:{gone.pid}"),  # another machine: its lease decides
        ):
            s.add(
                OutboxMessage(
                    platform="test", chat_id="c", payload={}, status=status, claimed_by=claimant, claimed_at=now
                )
            )
    dead = await release_dead_claims(app.db, now)
    assert sorted(dead) == sorted([f"fast-path:{host}:{gone.pid}", f"{host}:{gone.pid}:abc123"])
    async with app.db.reading() as s:
        rows = (await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    assert [(r.status, r.claimed_by) for r in rows] == [
        ("pending", None),
        ("unconfirmed", f"{host}:{gone.pid}:abc123"),
        ("claimed", f"{host}:{os.getpid()}:live00"),
        ("claimed", f"fast-path:elsewhere:{gone.pid}"),
    ]
