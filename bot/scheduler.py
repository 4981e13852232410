"""Scheduled deadline reminders, from the campaign file (`[campaign.reminders]`: `days_before`, `send_at`,
in the campaign's time zone).

Durable and once-only: nothing lives only in memory. Each run has a key ("henan-2025:reminder:d-7"); the
run queues its whole broadcast in the same transaction that inserts the `ScheduledRun` row with that key,
so with two bot processes (or a restart mid-run) exactly one run commits and the other finds the key taken.
A process that was down at the slot's time catches up when it starts, as long as it is still the same day
in the campaign's zone (a "7 days left" reminder sent the next day would be wrong; the next slot covers it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from conversations.campaign import Campaign
from conversations.clock import Clock
from conversations.i18n import Catalog, catalog
from conversations.reminders import queue_reminders
from storage.db import Database
from storage.models import ScheduledRun, utcnow
from storage.repos import outbox
from storage.repos.common import insert_ignore
from storage.repos.conversations import forget_processed_before

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)
KEEP_UPDATE_IDS = timedelta(days=7)
CLEANUP_EVERY = 3600.0  # seconds


@dataclass(frozen=True)
class Slot:
    key: str
    days_before: int
    at: datetime  # when it is due (aware, the campaign's zone)
    until: datetime  # the end of that day: a run not made by then is skipped


def slots(campaign: Campaign) -> list[Slot]:
    tz = campaign.tz
    out = []
    for d in sorted(set(campaign.reminders.days_before), reverse=True):
        date = campaign.deadline - timedelta(days=d)
        at = datetime.combine(date, campaign.reminders.send_at, tz)
        until = datetime.combine(date + timedelta(days=1), datetime.min.time(), tz)
        out.append(Slot(f"{campaign.id}:reminder:d-{d}", d, at, until))
    return out


def due(campaign: Campaign, now: datetime) -> list[Slot]:
    """Slots whose time has come today, within the registration window."""
    if campaign.is_closed(now):
        return []
    if campaign.opens is None:  # open since the notice went out: every slot up to the deadline counts
        return [s for s in slots(campaign) if s.at <= now < s.until]
    opens = datetime.combine(campaign.opens, datetime.min.time(), campaign.tz)
    return [s for s in slots(campaign) if s.at >= opens and s.at <= now < s.until]


class Scheduler:
    def __init__(
        self,
        db: Database,
        campaign: Campaign,
        clock: Clock,
        *,
        owner: str,
        report_chat: str | None = None,
        messages: Catalog | None = None,
        interval: float = 30.0,
        outbox_keep: timedelta = timedelta(days=30),
    ) -> None:
        self.db = db
        self.campaign = campaign
        self.clock = clock
        self.owner = owner
        self.report_chat = report_chat
        self.catalog = messages or catalog()
        self.interval = interval
        self.outbox_keep = outbox_keep
        self._last_cleanup = -CLEANUP_EVERY

    async def tick(self) -> list[str]:
        """Run every due slot not yet run by anyone. Returns the keys this process ran."""
        await self._forget_old_updates()
        now = self.clock.now()
        ran = []
        for slot in due(self.campaign, now):
            async with self.db.reading() as s:
                if await s.scalar(select(ScheduledRun.key).where(ScheduledRun.key == slot.key)):
                    continue
            if await self._run(slot, now):
                ran.append(slot.key)
        return ran

    async def _forget_old_updates(self) -> None:
        """Update ids are kept to recognise redeliveries; Telegram redelivers for a day at most, so a week is
        plenty and the table stays small. Real time, not the campaign clock (which a demo may fix)."""
        if time.monotonic() - self._last_cleanup < CLEANUP_EVERY:
            return
        self._last_cleanup = time.monotonic()
        async with self.db.transaction() as s:
            gone = await forget_processed_before(s, utcnow() - KEEP_UPDATE_IDS)
        if gone:
            log.info("forgot %d update ids older than %s", gone, KEEP_UPDATE_IDS)
        async with self.db.transaction() as s:
            redacted, deleted = await outbox.purge(s, utcnow(), self.outbox_keep)
        if redacted or deleted:
            log.info("outbox: %d payloads redacted, %d rows older than %s deleted", redacted, deleted, self.outbox_keep)

    async def _run(self, slot: Slot, now: datetime) -> bool:
        async with self.db.transaction() as s:
            # The key first: a second process blocks here until the first commits, then finds it taken.
            if not await insert_ignore(s, ScheduledRun, {"key": slot.key, "started_at": now, "owner": self.owner}):
                return False
            bc = await queue_reminders(
                s, self.campaign, self.catalog, now, schedule_key=slot.key, report_chat=self.report_chat
            )
            run = await s.get(ScheduledRun, slot.key)
            assert run is not None
            run.finished_at = self.clock.now()
            log.info("scheduled run %s: broadcast %s queued", slot.key, bc.id)
            return True

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("scheduler tick failed; retrying in %ss", self.interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)


async def background(app: App, runner: object = None) -> None:
    """`bot.serve.Options.background` job: the reminder schedule of the app's campaign; each bot process
    may run one (the database makes every slot run once)."""
    from bot.delivery.liveness import worker_name

    scheduler = Scheduler(
        app.db,
        app.campaign,
        app.services.clock,
        owner=worker_name(),
        report_chat=app.services.review_chat,
        outbox_keep=timedelta(days=app.settings.outbox_keep_days),
    )
    await scheduler.run(asyncio.Event())
