"""Delivering the reviewer alerts queued for group robots (WeCom, DingTalk, Feishu): one outbox worker per
configured robot, with the robot's own sender (`bot.group_robots.GroupRobotSender`, which keeps the
platform's rate) and no Telegram gate. Never on the chat's path: a robot that is down, slow or
misconfigured only delays its own alerts and is logged.

The settle policy is everyone's (`bot.delivery.policy`), tuned for robots: "too often" counts as an
attempt and waits at least the backoff (the platforms limit per minute and do not say for how long).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.delivery.sender import Sender
from bot.delivery.worker import OutboxWorker, WorkerConfig
from storage.db import Database
from storage.models import utcnow

log = logging.getLogger(__name__)


class RobotWorker(OutboxWorker):
    """An outbox worker for one robot's rows. A refusal is final (logged, the row `failed`); errors and
    "too often" are tried again later with a growing wait, up to `max_attempts`."""

    def __init__(
        self,
        db: Database,
        sender: Sender,
        *,
        name: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        lease: timedelta = timedelta(seconds=120),
        poll: float = 2.0,
        max_attempts: int = 8,
        backoff_base: float = 5.0,
        backoff_cap: float = 900.0,
    ) -> None:
        config = WorkerConfig(
            batch=10,
            lease=lease,
            poll=poll,
            concurrency=1,  # one by one: the robot's rate is per minute
            max_attempts=max_attempts,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            rate_limit_is_attempt=True,
            broadcasts=False,  # the Telegram worker finishes broadcasts; robots only deliver their rows
            label=f"group robot {sender.platform}",
        )
        super().__init__(
            db, sender, None, config=config, name=name or f"robot-{sender.platform}-{uuid.uuid4().hex[:8]}", clock=clock
        )


async def background(app: Any, _runner: Any) -> None:
    """`bot.serve` background job: a worker per configured robot until cancelled (nothing when none is)."""
    from bot.group_robots import GroupRobotSender, configs_from

    configs = configs_from(app.settings)
    if not configs:
        return
    senders = [GroupRobotSender(c) for c in configs]
    log.info("group-robot alerts to %s", ", ".join(s.platform for s in senders))
    try:
        await asyncio.gather(*(RobotWorker(app.db, s).run() for s in senders))
    finally:
        for s in senders:
            await s.close()
