"""Shared fixtures: a real database (SQLite file, and PostgreSQL when EQA_TEST_POSTGRES_URL is set),
a fixed clock inside the 2025 registration window, and the transcript harness."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import App, build_app
from bot.settings import Settings
from conversations.clock import FixedClock
from tests.harness import Person, Transcript

DEMO_NOW = datetime.fromisoformat("2025-02-10T10:00:00+08:00")
# Reading documents (OCR, about a second a photo) is off in tests unless a test turns it on
# (tests/test_reading*.py): the other flows' uploads stay as fast as the pre-check alone.
os.environ.setdefault("EQA_READING", "off")
POSTGRES_URL = os.environ.get("EQA_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", *(["postgres"] if POSTGRES_URL else [])]


def require_tool(name: str) -> str:
    """The path of a system tool; missing, the test is skipped, except where EQA_REQUIRE_TOOLS=1 (CI)."""
    import shutil

    path = shutil.which(name)
    if path is None:
        if os.environ.get("EQA_REQUIRE_TOOLS") == "1":
            pytest.fail(f"{name} is required (EQA_REQUIRE_TOOLS=1) but not installed")
        pytest.skip(f"{name} not installed")
    return path


async def fresh_postgres_url() -> str:
    """A new, empty database on the test PostgreSQL server."""
    assert POSTGRES_URL
    name = f"eqa_t_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}"')
    return str(make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False))


async def drop_postgres_database(url: str) -> None:
    await _admin(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


async def _admin(statement: str) -> None:
    engine = create_async_engine(POSTGRES_URL or "", isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(statement))
    await engine.dispose()


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'eqa.sqlite3'}"
        return
    url = await fresh_postgres_url()
    try:
        yield url
    finally:
        await drop_postgres_database(url)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(DEMO_NOW)


@pytest.fixture
async def app(database_url: str, tmp_path: Path, clock: FixedClock) -> AsyncIterator[App]:
    settings = Settings(
        EQA_DATABASE_URL=database_url,
        EQA_DATA_DIR=str(tmp_path / "data"),
        EQA_ADMIN_IDS="admin-1",
        EQA_REVIEW_CHAT_ID="review-chat",
        _env_file=None,
    )
    application = await build_app(settings, clock=clock)
    yield application
    await application.close()


@pytest.fixture
def transcript(app: App) -> Transcript:
    t = Transcript(app.core)
    app.services.fetch_file = t.fetch
    return t


@pytest.fixture
def guest(transcript: Transcript) -> Person:
    return Person(transcript, "guest-1")


@pytest.fixture
async def contact(app: App, transcript: Transcript) -> Person:
    """A lab contact bound to lab HN0001 (a level-3 general hospital)."""
    from tests.factories import bind, make_lab

    person = Person(transcript, "contact-1", name="王检验")
    await bind(app, person, await make_lab(app))
    return person


@pytest.fixture
def admin(transcript: Transcript) -> Person:
    """An admin (EQA_ADMIN_IDS) in the reviewers' group chat."""
    return Person(transcript, "admin-1", "review-chat", name="李审核")
