"""Wiring: settings → database, campaign, services, core. Shared by every transport and the CLI."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass

from bot.settings import Settings
from conversations.campaign import Campaign, load_campaign
from conversations.clock import Clock, FixedClock, SystemClock
from conversations.context import FileFetcher, Services
from conversations.i18n import catalog
from handlers.core import Core
from storage.db import Database
from storage.files import DocumentStore

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    db: Database
    campaign: Campaign
    services: Services
    core: Core

    async def close(self) -> None:
        await self.db.dispose()


PLATFORMS = ("telegram", "wechat", "console")


def split_chat(ref: str | None) -> tuple[str | None, str | None]:
    """ "telegram:-100123" → ("-100123", "telegram"); a bare id keeps the platform of whoever triggers."""
    head, sep, tail = (ref or "").partition(":")
    if sep and head in PLATFORMS and tail:
        return tail, head
    return ref, None


def make_clock(settings: Settings) -> Clock:
    return FixedClock(settings.now) if settings.now is not None else SystemClock()


async def build_app(
    settings: Settings,
    *,
    fetch_file: FileFetcher | None = None,
    clock: Clock | None = None,
    migrate: bool = True,
) -> App:
    campaign = load_campaign(settings.campaign)
    db = Database(settings.database_url)
    if migrate:
        await db.migrate()
    review_chat, review_platform = split_chat(settings.review_chat_id)
    services = Services(
        campaign=campaign,
        clock=clock or make_clock(settings),
        catalog=catalog(),
        store=DocumentStore(settings.data_dir, settings.document_keys()),
        fetch_file=fetch_file,
        admin_ids=settings.admin_ids,
        review_chat=review_chat,
        review_platform=review_platform,
        group_robots=settings.group_robots(),
        reading=settings.reading,
        reading_timeout=settings.reading_timeout,
    )
    app = App(settings=settings, db=db, campaign=campaign, services=services, core=Core(db, services))
    if settings.wechat_app_id and settings.wechat_app_secret:
        from bot.wechat.run import binding_qrs  # only a WeChat deployment loads the WeChat client

        services.binding_qrs = binding_qrs(app)
    return app


async def until_stopped(task: asyncio.Task[None]) -> None:
    """Await the serving task; SIGTERM or SIGINT cancels it, which is a clean stop (logged, not raised)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # no signal handlers on this platform's loop
            loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        log.info("stopped")
