"""Deadline reminders: only unfinished labs, naming what each lacks, with the continue button; the
backup-contact rule; schedules from the campaign file that run once, even with two schedulers racing
(SQLite and PostgreSQL), and catch up within the day."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from bot.app import App
from bot.delivery.worker import OutboxWorker
from bot.scheduler import Scheduler, due
from conversations.clock import FixedClock
from conversations.events import Reply, from_payload, global_data
from conversations.reminders import queue_reminders
from storage.db import Database
from storage.models import Broadcast, Contact, OutboxMessage, ScheduledRun
from tests.harness import Person, Transcript
from tests.test_outbox_support import FakeSender, add_lab, fast_gate

SH = ZoneInfo("Asia/Shanghai")
T = datetime(2025, 2, 1, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


async def queued(app: App, broadcast_id: int) -> dict[str, Reply]:
    async with app.db.reading() as s:
        rows = await s.scalars(select(OutboxMessage).where(OutboxMessage.broadcast_id == broadcast_id))
        out = {}
        for r in rows:
            action = from_payload(r.payload)
            assert isinstance(action, Reply)
            out[r.chat_id] = action
        return out


async def run_reminders(app: App) -> dict[str, Reply]:
    async with app.db.transaction() as s:
        bc = await queue_reminders(s, app.campaign, app.services.catalog, app.services.clock.now(), schedule_key=None)
    return await queued(app, bc.id)


async def test_reminders_skip_finished_labs_and_name_what_each_lacks(app: App) -> None:
    await add_lab(app, "L-fresh")
    await add_lab(app, "L-half", status="draft", checklist_submitted_at=T)
    await add_lab(app, "L-ready", status="draft", checklist_submitted_at=T, plan_confirmed_at=T)
    await add_lab(
        app,
        "L-returned",
        status="returned",
        checklist_submitted_at=T,
        plan_confirmed_at=T,
        returned_items=["invoice", "agreement"],
    )
    await add_lab(app, "L-submitted", status="submitted")
    await add_lab(app, "L-approved", status="approved")
    await add_lab(app, "L-en", platform="test")
    async with app.db.transaction() as s:
        await s.execute(update(Contact).where(Contact.chat_id == "L-en-p0").values(language="en"))

    sent = await run_reminders(app)

    assert set(sent) == {"L-fresh-p0", "L-half-p0", "L-ready-p0", "L-returned-p0", "L-en-p0"}
    fresh, half = sent["L-fresh-p0"].text, sent["L-half-p0"].text
    assert "L-fresh 检验科（L-fresh）" in fresh and "还剩 15 天" in fresh  # 10 Feb → 25 Feb: whole days after today
    assert "上年已开展项目勾选" in fresh and "开票、邮寄信息和参加专业的确认" in fresh
    assert "上年已开展项目勾选" not in half and "开票、邮寄信息和参加专业的确认" in half
    assert "签字盖章的缓交协议" in half and "执业许可证" in half
    assert "签字盖章的缓交协议" in sent["L-ready-p0"].text and "开票" not in sent["L-ready-p0"].text
    assert "需要重新提交：开票信息、缓交协议" in sent["L-returned-p0"].text
    assert "不发放本年度室间质评样品" in fresh
    assert "Still missing" in sent["L-en-p0"].text and "days left" in sent["L-en-p0"].text
    for reply in sent.values():
        assert reply.buttons[0][0].data == global_data("go", "journey")  # one tap to continue
        assert reply.text.rstrip().endswith(("接着做；有疑问可以直接发文字提问。", "you can also type a question."))


async def test_the_deadline_day_says_today(app: App, clock: FixedClock) -> None:
    await add_lab(app, "L-late")
    clock.set(at("2025-02-25T09:30:00"))
    sent = await run_reminders(app)
    assert "是申报的最后一天" in sent["L-late-p0"].text


async def test_backup_contacts_join_after_two_unanswered_reminders(app: App, transcript: Transcript) -> None:
    await add_lab(app, "L-quiet", backups=1)
    await add_lab(app, "L-busy", backups=1)
    assert set(await run_reminders(app)) == {"L-quiet-p0", "L-busy-p0"}
    # The busy lab's primary contact answers (any message resets the count).
    await Person(transcript, "L-busy-p0").send("/status")
    assert set(await run_reminders(app)) == {"L-quiet-p0", "L-busy-p0"}
    # Two reminders unanswered: the quiet lab's backup is reached too; the busy lab's is not.
    assert set(await run_reminders(app)) == {"L-quiet-p0", "L-quiet-b1", "L-busy-p0"}
    async with app.db.reading() as s:
        quiet = await s.scalar(select(Contact).where(Contact.chat_id == "L-quiet-p0"))
        assert quiet is not None and quiet.unanswered_reminders == 3
    await Person(transcript, "L-quiet-p0").send("谢谢")
    # The quiet lab answered at last; the busy lab has now let two reminders pass since it last spoke.
    assert set(await run_reminders(app)) == {"L-quiet-p0", "L-busy-p0", "L-busy-b1"}


async def test_a_lab_whose_primary_blocked_the_bot_reaches_its_backup(app: App) -> None:
    await add_lab(app, "L-gone", backups=1)
    async with app.db.transaction() as s:
        await s.execute(update(Contact).where(Contact.chat_id == "L-gone-p0").values(active=False))
    assert set(await run_reminders(app)) == {"L-gone-b1"}


def test_slots_come_from_the_campaign_file_in_its_zone(app: App) -> None:
    c = app.campaign
    assert [s.key for s in due(c, at("2025-02-11T09:29:00"))] == []
    assert [s.key for s in due(c, at("2025-02-11T09:30:00"))] == ["henan-2025:reminder:d-14"]
    assert [s.key for s in due(c, at("2025-02-11T23:59:00"))] == ["henan-2025:reminder:d-14"]  # catch up that day
    assert [s.key for s in due(c, at("2025-02-12T08:00:00"))] == []  # not a day late
    assert [s.key for s in due(c, at("2025-02-25T10:00:00"))] == ["henan-2025:reminder:d-0"]
    assert due(c, at("2025-02-26T09:30:00")) == []


async def test_a_schedule_runs_once_and_catches_up_after_a_restart(app: App, clock: FixedClock) -> None:
    await add_lab(app, "L-one")
    clock.set(at("2025-02-18T09:00:00"))
    first = Scheduler(app.db, app.campaign, clock, owner="p1")
    assert await first.tick() == []
    # The process was down at 09:30 and comes back at 15:00 the same day.
    clock.set(at("2025-02-18T15:00:00"))
    restarted = Scheduler(app.db, app.campaign, clock, owner="p2", report_chat="review-chat")
    assert await restarted.tick() == ["henan-2025:reminder:d-7"]
    assert await restarted.tick() == []
    assert await first.tick() == []
    async with app.db.reading() as s:
        assert await s.scalar(select(func.count()).select_from(Broadcast)) == 1
        run = await s.get(ScheduledRun, "henan-2025:reminder:d-7")
        assert run is not None and run.owner == "p2" and run.finished_at is not None

    sender = FakeSender()
    await OutboxWorker(app.db, sender, fast_gate()).drain()
    assert sender.chats() == {"L-one-p0": 1, "review-chat": 1}
    reminder = next(a for a in sender.sent if a.chat_id == "L-one-p0")
    assert isinstance(reminder, Reply) and "还剩 7 天" in reminder.text


async def test_two_schedulers_racing_run_a_slot_once(app: App, clock: FixedClock, database_url: str) -> None:
    for i in range(30):
        await add_lab(app, f"L-{i:02d}")
    clock.set(at("2025-02-22T09:31:00"))
    others = [Database(database_url) for _ in range(3)]  # separate engines: separate processes, in effect
    try:
        schedulers = [Scheduler(db, app.campaign, clock, owner=f"p{i}") for i, db in enumerate([app.db, *others])]
        results = await asyncio.gather(*(s.tick() for s in schedulers))
    finally:
        for db in others:
            await db.dispose()
    assert sorted(k for keys in results for k in keys) == ["henan-2025:reminder:d-3"]
    async with app.db.reading() as s:
        assert await s.scalar(select(func.count()).select_from(Broadcast)) == 1
        assert await s.scalar(select(func.count()).select_from(OutboxMessage)) == 30
        assert await s.scalar(select(func.count()).select_from(ScheduledRun)) == 1
        contacts = list(await s.scalars(select(Contact.unanswered_reminders)))
    assert contacts == [1] * 30  # counted once, not once per scheduler


async def test_no_reminders_outside_the_window(app: App, clock: FixedClock) -> None:
    await add_lab(app, "L-x")
    for moment in ("2025-02-26T09:30:00", "2025-01-01T09:30:00"):
        clock.set(at(moment))
        assert await Scheduler(app.db, app.campaign, clock, owner="p").tick() == []


async def test_the_scheduler_forgets_update_ids_older_than_a_week(app: App) -> None:
    from datetime import timedelta

    from bot.scheduler import Scheduler
    from storage.models import ProcessedUpdate, utcnow

    async with app.db.transaction() as s:
        s.add(ProcessedUpdate(platform="test", update_id="old", processed_at=utcnow() - timedelta(days=8)))
        s.add(ProcessedUpdate(platform="test", update_id="new", processed_at=utcnow() - timedelta(days=6)))
    await Scheduler(app.db, app.campaign, app.services.clock, owner="t").tick()
    async with app.db.reading() as s:
        kept = (await s.scalars(select(ProcessedUpdate.update_id))).all()
    assert kept == ["new"]
