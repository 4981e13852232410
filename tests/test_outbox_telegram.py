"""The outbox worker end to end: the real python-telegram-bot transport against the fake Bot API server
(rate limits enforced, 403 and 429 injected), and a worker that dies mid-broadcast, asserted from the
fake server's own record of accepted sendMessage calls."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.app import App
from bot.delivery import Gate
from bot.delivery.worker import OutboxWorker, WorkerConfig
from bot.telegram.ptb_transport import PTBTransport
from conversations.events import Reply, to_payload
from storage.models import Contact, Lab, OutboxMessage, utcnow
from storage.repos import outbox as repo
from tests.fake_telegram import FakeTelegram, RateLimits

SCALE = 20  # the fake's limits ×20: 600 msg/s overall, 20/s per chat
FIRST = 5_000_001


async def queue(app: App, n: int) -> tuple[int, dict[int, int]]:
    """n bound contacts on Telegram and a broadcast to them; returns (broadcast id, chat → contact id)."""
    now = utcnow()
    async with app.db.transaction() as s:
        contacts = {}
        for i in range(n):
            lab = Lab(code=f"T{i:04d}", name=f"实验室 {i}", institution_type="general_hospital", city="郑州市")
            s.add(lab)
            await s.flush()
            c = Contact(lab_id=lab.id, platform="telegram", user_id=str(FIRST + i), chat_id=str(FIRST + i))
            s.add(c)
            await s.flush()
            contacts[FIRST + i] = c.id
        bc = await repo.create_broadcast(
            s, kind="broadcast", text="t", audience={}, created_by=None, report_chat=None, now=now
        )
        rows = [
            repo.NewRow("telegram", str(chat), to_payload(Reply(f"通知 {chat}")), f"bc{bc.id}:{chat}", cid)
            for chat, cid in contacts.items()
        ]
        await repo.add_rows(s, rows, now=now, broadcast_id=bc.id)
        return bc.id, contacts


def delivered(tg: FakeTelegram) -> Counter[int]:
    return Counter(int(c.params["chat_id"]) for c in tg.calls("sendMessage", ok=True))


def config(**kw: object) -> WorkerConfig:
    return WorkerConfig(**kw)  # type: ignore[arg-type]


def gate() -> Gate:
    return Gate(per_second=30 * SCALE, per_chat_per_second=SCALE, window=1 / SCALE)


async def test_403_and_429_over_the_bot_api(app: App) -> None:
    async with FakeTelegram(rate_limits=RateLimits(scale=SCALE), auto_create_chats=True) as tg:
        transport = PTBTransport(tg.token, tg.root)
        await transport.start()
        try:
            bc_id, contacts = await queue(app, 30)
            tg.user(FIRST + 4, "屏蔽者")
            tg.block(FIRST + 4)
            tg.fail("sendMessage", status=429, retry_after=1, times=1, chat_id=FIRST + 9)
            g = gate()
            await OutboxWorker(app.db, transport, g, config=config()).drain()
        finally:
            await transport.close()
        got = delivered(tg)
        assert got == Counter({chat: 1 for chat in contacts if chat != FIRST + 4})
        assert g.pauses == 1  # the 429's retry_after held everyone
        assert len(tg.calls("sendMessage", FIRST + 9)) == 2  # refused once, then sent once
        assert tg.rate_limited_count == 0  # our pace never tripped the server's own limits
    async with app.db.reading() as s:
        assert {k: v for k, v in (await repo.counts(s, bc_id)).items() if v} == {"sent": 29, "blocked": 1}
        blocked = await s.get(Contact, contacts[FIRST + 4])
        assert blocked is not None and blocked.active is False


async def test_a_worker_dying_mid_broadcast_neither_loses_nor_doubles(app: App) -> None:
    clock_at = [utcnow()]

    def clock() -> datetime:
        return clock_at[0]

    lease = timedelta(seconds=30)
    async with FakeTelegram(rate_limits=RateLimits(scale=SCALE), auto_create_chats=True) as tg:
        transport = PTBTransport(tg.token, tg.root)
        await transport.start()
        try:
            bc_id, contacts = await queue(app, 80)
            clock_at[0] = utcnow()
            dying = OutboxWorker(
                app.db, transport, gate(), clock=clock, config=config(lease=lease, batch=50, concurrency=4)
            )

            async def keep_sending() -> None:
                while True:
                    if not await dying.step():
                        await asyncio.sleep(0.01)

            task = asyncio.create_task(keep_sending())
            for _ in range(1000):
                if len(tg.calls("sendMessage", ok=True)) >= 20:
                    break
                await asyncio.sleep(0.005)
            else:
                raise AssertionError("the first worker sent nothing")
            # The platform turns slow: requests now on the wire reach it but are not answered before the end.
            tg.slow("sendMessage", 0.5)
            await asyncio.sleep(0.1)
            task.cancel()  # the process dies: no clean-up of any kind
            for t in list(dying._tasks):
                t.cancel()
            await asyncio.gather(task, *dying._tasks, return_exceptions=True)
            await asyncio.sleep(0.6)  # what reached the platform is processed there all the same
            tg.slow("sendMessage", 0)
            before = delivered(tg)
            async with app.db.reading() as s:
                left = await repo.counts(s, bc_id)
            assert left["claimed"] > 0 and left["sending"] > 0, left

            clock_at[0] += lease + timedelta(seconds=1)
            await OutboxWorker(app.db, transport, gate(), clock=clock, config=config(lease=lease)).drain()
        finally:
            await transport.close()
        got = delivered(tg)
    assert max(got.values()) == 1, "a message was sent twice"
    assert set(got) == set(contacts), f"lost: {sorted(set(contacts) - set(got))}"
    assert sum(before.values()) >= 20
    async with app.db.reading() as s:
        final = await repo.counts(s, bc_id)
        unconfirmed = list(await s.scalars(select(OutboxMessage.chat_id).where(OutboxMessage.status == "unconfirmed")))
    assert final["sent"] + final["unconfirmed"] == 80 and final["unconfirmed"] == left["sending"]
    assert all(int(chat) in before for chat in unconfirmed)  # each was in fact delivered before the crash
