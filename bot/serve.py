"""`eqa-bot run`: serve Telegram on python-telegram-bot or aiogram, by polling or by webhook.

Start-up, in order: migrate the database (build_app), deliver what an earlier run left in the outbox,
set the command menus, then poll or serve the webhook. SIGTERM/SIGINT stop taking updates, let the ones
in hand finish, and leave. Telegram errors are logged with the update id and never stop the bot; only a
refused token does (nothing can work until it is fixed).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from bot.app import App, build_app, until_stopped
from bot.delivery import Gate, Rejected, RetryAfter, Transient
from bot.ops.logs import setup_logging
from bot.runner import Poller, Runner, UpdatePipeline, flush_albums_forever
from bot.settings import Settings
from bot.telegram.common import TelegramTransport, Unauthorized, derived_webhook_secret
from bot.telegram.inbound import PLATFORM
from bot.telegram.menus import CommandMenu, catalog_describer, command_menus
from storage.files import DocumentStore
from storage.models import Staff

if TYPE_CHECKING:  # the webhook server (aiohttp, ~20 MB) is loaded only in webhook mode
    from bot.telegram.webhook import WebhookConfig, WebhookServer

log = logging.getLogger(__name__)

TRANSPORTS = ("ptb", "aiogram")
MODES = ("polling", "webhook")

# Something else to run beside the transport for as long as it serves (an outbox worker, a scheduler);
# it gets the app and the runner (whose sender and gate it should share) and is cancelled on the way out.
Background = Callable[[App, Runner], Awaitable[None]]


def default_background() -> list[Background]:
    """What runs beside the transport in `eqa-bot run`: the outbox worker (broadcasts, reminders, replies a
    crash left behind) and the reminder scheduler, each module's `background(app, runner)`."""
    jobs: list[Background] = []
    for name in ("bot.delivery.worker", "bot.scheduler", "bot.delivery.robots", "bot.desk.server"):
        job = getattr(importlib.import_module(name), "background", None)
        if job is not None:
            jobs.append(job)
        else:
            log.warning("%s has no background job; not started", name)
    return jobs


def make_transport(name: str, settings: Settings, store: DocumentStore | None = None) -> TelegramTransport:
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    if name == "ptb":
        from bot.telegram.ptb_transport import PTBTransport

        return PTBTransport(token, settings.telegram_api_base_url, store)
    if name == "aiogram":
        from bot.telegram.aiogram_transport import AiogramTransport

        return AiogramTransport(token, settings.telegram_api_base_url, store)
    raise ValueError(f"unknown transport {name!r} (choose one of {', '.join(TRANSPORTS)})")


@dataclass
class Options:
    concurrency: int = 16
    long_poll: float = 25
    gate: Gate | None = None
    webhook: WebhookConfig | None = None
    background: list[Background] = field(default_factory=list)
    # How long an album must be without a new part before it counts as complete (None: the core's default).
    album_quiet: timedelta | None = None
    # Set once the bot takes updates (tests and benchmarks wait for it).
    ready: asyncio.Event = field(default_factory=asyncio.Event)


async def menus_for(app: App) -> list[CommandMenu]:
    """Contacts' menu everywhere; reviewers' menu in the review chat and staff's private chats."""
    from handlers.routing import COMMANDS

    async with app.db.reading() as session:
        staff = list(
            await session.scalars(select(Staff.user_id).where(Staff.platform == PLATFORM, Staff.active.is_(True)))
        )
    return command_menus(
        {name: cmd.role for name, cmd in COMMANDS.items()},
        review_chat=app.services.review_chat,
        staff_chats=sorted(app.services.admin_ids | set(staff)),
        describe=catalog_describer(app.services.catalog),
    )


async def serve(app: App, transport: TelegramTransport, mode: str, options: Options | None = None) -> None:
    """Serve until cancelled (or a refused token). The transport is started and closed here."""
    opts = options or Options()
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    webhook = opts.webhook or (_webhook_config(app.settings) if mode == "webhook" else None)
    app.services.fetch_file = transport.fetch_file
    runner = Runner(app.core, transport, opts.gate or Gate())
    pipeline = UpdatePipeline(runner, transport.to_inbound, concurrency=opts.concurrency)
    background: list[asyncio.Task[None]] = []
    server: WebhookServer | None = None
    poller: Poller | None = None
    try:
        await _patiently("getMe", transport.start)
        log.info("connected to the Bot API as @%s (%s, %s)", transport.username, transport.name, mode)
        background = [asyncio.create_task(job(app, runner)) for job in opts.background]
        background.append(asyncio.create_task(flush_albums_forever(runner, quiet=opts.album_quiet)))
        for task in background:
            task.add_done_callback(_report_end)
        left = await runner.deliver_pending()
        if left:
            log.info("delivered %d message(s) left from an earlier run", left)
        await transport.set_commands(await menus_for(app))
        if mode == "polling":
            # getUpdates answers 409 while a webhook is set.
            await _patiently("deleteWebhook", transport.delete_webhook)
            poller = Poller(transport, pipeline, long_poll=opts.long_poll)
            opts.ready.set()
            await poller.run()
        else:
            assert webhook is not None
            from bot.telegram.webhook import WebhookServer

            server = WebhookServer(transport, pipeline, webhook)
            await server.start()
            await _patiently(
                "setWebhook", lambda: transport.set_webhook(webhook.url, webhook.secret, webhook.max_connections)
            )
            opts.ready.set()
            await asyncio.Event().wait()
    finally:
        if poller is not None:
            poller.stop()
        if server is not None:
            await server.stop()
        await pipeline.drain()
        await runner.close()
        if poller is not None:
            await poller.acknowledge()
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await transport.close()


async def _patiently(what: str, call: Callable[[], Awaitable[object]]) -> None:
    """A start-up call that must succeed: Telegram out of reach or busy is waited out, not fatal."""
    delay = 1.0
    while True:
        try:
            await call()
            return
        except RetryAfter as exc:
            log.warning("%s: rate limited, waiting %.0fs", what, exc.seconds)
            await asyncio.sleep(exc.seconds)
        except Transient as exc:
            log.warning("%s failed (%s); retrying in %.0fs", what, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60)


def _report_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("a background job stopped: %r", task.exception(), exc_info=task.exception())


def _webhook_config(settings: Settings) -> WebhookConfig:
    from bot.telegram.webhook import WebhookConfig

    return WebhookConfig.from_settings(settings)


async def main(settings: Settings, transport_name: str, mode: str) -> int:
    try:
        webhook = _webhook_config(settings) if mode == "webhook" else None
    except ValueError as exc:
        log.error("%s", exc)
        return 2
    app = await build_app(settings)
    transport = make_transport(transport_name, settings, app.services.store)
    options = Options(webhook=webhook, background=default_background())
    try:
        await until_stopped(asyncio.create_task(serve(app, transport, mode, options)))
    except Unauthorized as exc:
        log.error("the Bot API refused the token (%s): check TELEGRAM_BOT_TOKEN", exc)
        return 1
    except Rejected as exc:
        log.error("the Bot API refused to start serving: %s", exc)
        return 1
    finally:
        await app.close()
    return 0


def run(settings: Settings, transport: str, mode: str) -> int:
    """Called by `eqa-bot run`: serve until SIGTERM/SIGINT; the exit code says how it ended."""
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    secrets = [token, derived_webhook_secret(token)]
    if settings.webhook_secret is not None:
        secrets.append(settings.webhook_secret.get_secret_value())
    setup_logging(settings.log_level, secrets=tuple(s for s in secrets if s))
    if transport not in TRANSPORTS:
        log.error("unknown transport %r (choose one of %s)", transport, ", ".join(TRANSPORTS))
        return 2
    return asyncio.run(main(settings, transport, mode))
