"""Pytest fixtures for the fake Bot API server.

Enable with ``pytest_plugins = ["tests.fake_telegram.pytest_plugin"]`` in the root conftest.py, or
import the fixtures into a test module.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from .server import FakeTelegram


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    """A FakeTelegram served on the test's own event loop."""
    async with FakeTelegram() as tg:
        yield tg


@pytest.fixture
def fake_telegram_thread() -> Iterator[FakeTelegram]:
    """A FakeTelegram served from a background thread (for bots in a subprocess)."""
    tg = FakeTelegram.start_in_thread()
    try:
        yield tg
    finally:
        tg.stop()
