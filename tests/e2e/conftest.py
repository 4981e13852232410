"""End-to-end fixtures: the real application (SQLite file, fixed clock) served by a real transport over
HTTP on 127.0.0.1 against the fake Bot API server, once per transport."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.app import App, build_app
from bot.delivery import Gate
from bot.serve import Options, make_transport, serve
from bot.settings import Settings
from bot.telegram.common import TelegramTransport
from bot.telegram.errors import is_not_modified
from bot.telegram.inbound import PLATFORM
from bot.telegram.webhook import WebhookConfig
from conversations.clock import FixedClock
from storage.models import OutboxMessage
from tests.conftest import DEMO_NOW
from tests.fake_telegram import FakeTelegram, FakeUser

TRANSPORTS = ["ptb", "aiogram"]
ADMIN_ID = 9001
REVIEW_CHAT_ID = -1001234567890
WEBHOOK_SECRET = "e2e-secret_0123456789"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningBot:
    """The application served by one transport; `start`/`stop` may be called again (a restart)."""

    tg: FakeTelegram
    app: App
    transport_name: str
    mode: str = "polling"
    webhook: WebhookConfig | None = None
    gate: Gate = field(default_factory=Gate)
    transport: TelegramTransport | None = None
    task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.transport = make_transport(self.transport_name, self.app.settings, self.app.services.store)
        # Albums count as complete after 0.3 s without a new part (1.5 s in production): the fake sends
        # the parts at once.
        options = Options(long_poll=1, gate=self.gate, webhook=self.webhook, album_quiet=timedelta(seconds=0.3))
        self.task = asyncio.create_task(serve(self.app, self.transport, self.mode, options))
        ready = asyncio.create_task(options.ready.wait())
        done, _ = await asyncio.wait({ready, self.task}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
        if self.task in done:
            self.task.result()
        assert ready in done, "the bot did not get ready"

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    # -- looking into the database -------------------------------------------------------------------
    async def outbox(self, chat_id: int | None = None) -> list[OutboxMessage]:
        from sqlalchemy import select

        async with self.app.db.reading() as s:
            q = select(OutboxMessage).order_by(OutboxMessage.id)
            if chat_id is not None:
                q = q.where(OutboxMessage.chat_id == str(chat_id))
            return list(await s.scalars(q))

    async def wait_outbox(self, chat_id: int, status: str, timeout: float = 5) -> list[OutboxMessage]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            rows = await self.outbox(chat_id)
            if rows and all(r.status == status for r in rows):
                return rows
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"outbox rows of chat {chat_id}: {[(r.id, r.status) for r in rows]}")
            await asyncio.sleep(0.05)

    def person(self, user: FakeUser) -> Any:
        """The user as tests.factories.bind wants a person."""
        return SimpleNamespace(
            platform=PLATFORM, user_id=str(user.user_id), chat_id=str(user.chat_id), name=user.first_name
        )


def user(tg: FakeTelegram, user_id: int, name: str, **kw: Any) -> FakeUser:
    """A person writing from a phone set to Chinese (the fake's default is English)."""
    return tg.user(user_id, name, language_code=kw.pop("language_code", "zh-hans"), **kw)


@pytest.fixture(params=TRANSPORTS)
def transport_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        server.group("审核群", chat_id=REVIEW_CHAT_ID)
        yield server


def e2e_settings(tg: FakeTelegram, tmp_path: Path, **extra: Any) -> Settings:
    return Settings(
        TELEGRAM_BOT_TOKEN=tg.token,
        TELEGRAM_API_BASE_URL=tg.root,
        EQA_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'eqa.sqlite3'}",
        EQA_DATA_DIR=str(tmp_path / "data"),
        EQA_ADMIN_IDS=str(ADMIN_ID),
        EQA_REVIEW_CHAT_ID=str(REVIEW_CHAT_ID),
        _env_file=None,
        **extra,
    )


@pytest.fixture
async def app(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[App]:
    application = await build_app(e2e_settings(tg, tmp_path), clock=FixedClock(DEMO_NOW))
    yield application
    await application.close()


@pytest.fixture
async def bot(tg: FakeTelegram, app: App, transport_name: str) -> AsyncIterator[RunningBot]:
    running = RunningBot(tg, app, transport_name)
    await running.start()
    yield running
    await running.stop()
    # Refusals the transports handle on purpose ("message is not modified" is a double tap) aside.
    refused = [c for c in tg.errors() if c.method != "getUpdates" and not is_not_modified(c.error or "")]
    assert not refused, f"the fake Bot API refused calls: {refused}"


@pytest.fixture
async def webhook_bot(tg: FakeTelegram, app: App, transport_name: str) -> AsyncIterator[RunningBot]:
    port = free_port()
    config = WebhookConfig(f"http://127.0.0.1:{port}/telegram/hook", WEBHOOK_SECRET, "127.0.0.1", port)
    running = RunningBot(tg, app, transport_name, mode="webhook", webhook=config)
    await running.start()
    yield running
    await running.stop()
