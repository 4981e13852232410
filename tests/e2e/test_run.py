"""`eqa-bot run` as a process: it serves, stops on SIGTERM, and never writes the token to its log."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tests.e2e.conftest import user
from tests.fake_telegram import FakeTelegram

pytestmark = pytest.mark.timeout(60)


# One transport is enough here: logging is set up the same way for both, and a second process would pay
# aiogram's import (several seconds of pydantic model building) again.
@pytest.mark.parametrize("transport_name", ["ptb"])
async def test_run_serves_stops_cleanly_and_masks_the_token(transport_name: str, tmp_path: Path) -> None:
    tg = FakeTelegram.start_in_thread()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EQA_", "TELEGRAM_"))}
        env |= {
            "TELEGRAM_BOT_TOKEN": tg.token,
            "TELEGRAM_API_BASE_URL": tg.root,
            "EQA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'eqa.sqlite3'}",
            "EQA_DATA_DIR": str(tmp_path / "data"),
            "EQA_NOW": "2025-02-10T10:00:00+08:00",
            "EQA_LOG_LEVEL": "DEBUG",  # the chattiest the libraries get (PTB logs its base URL here)
            "EQA_TRANSPORT": transport_name,
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            u = user(tg, 7001, "进程")
            await u.send_command("start")
            reply = await u.wait_for_message(timeout=30)
            assert reply.buttons
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(proc.communicate(), 30)
        log = (out + err).decode()
        assert proc.returncode == 0, log[-3000:]
        assert f"({transport_name}, polling)" in log
        secret = tg.token.split(":", 1)[1]
        assert secret not in log, "the bot token leaked into the log"
        assert tg.pending_updates() == []  # what was handled was confirmed on the way out
    finally:
        tg.stop()


def test_run_without_a_token_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert main(["run"]) != 0
    assert "TELEGRAM_BOT_TOKEN" in capsys.readouterr().err


def test_webhook_mode_needs_a_public_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from bot import serve
    from bot.settings import Settings

    monkeypatch.chdir(tmp_path)
    settings = Settings(
        TELEGRAM_BOT_TOKEN="123456:" + "A" * 35,
        EQA_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}",
        _env_file=None,
    )
    assert asyncio.run(serve.main(settings, "ptb", "webhook")) == 2
