"""The console demo, as a newcomer runs it: `eqa-bot demo`, typed lines in, a chat out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _demo(tmp_path: Path, lines: list[str]) -> str:
    env = {**os.environ, "EQA_DATA_DIR": str(tmp_path / "data"), "PYTHONIOENCODING": "utf-8"}
    env.pop("EQA_DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo", "--database", f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.timeout(180)
def test_demo_chats_in_chinese_then_english(tmp_path: Path) -> None:
    out = _demo(tmp_path, ["/start", "/faq", "1", "/status", "/lang en", "/status", "/faq", ":quit"])
    assert "演示时间（固定）：2025年2月10日 10:00" in out
    assert "室间质量评价申报" in out and "[1] ▶ 继续申报" in out
    assert "【申报截止时间】" in out and "2 月 25 日以前申报完成" in out
    assert "第一步：勾选 2024 年已开展项目" in out and "还剩 15 天" in out
    assert "Switched to English." in out
    assert "Step 1: tests performed in 2024" in out and "15 days left" in out
    assert "Registration deadline" in out


@pytest.mark.timeout(180)
def test_demo_personas_and_binding(tmp_path: Path) -> None:
    first = _demo(tmp_path, [":quit"])
    command = next(line for line in first.splitlines() if "/start HN0002_" in line)
    start = command[command.index("/start") :].split("（")[0].strip()
    out = _demo(tmp_path, [":as new", "/start", start, ":as reviewer", "/help", ":nonsense", ":quit"])
    assert "您还没有绑定实验室" in out
    assert "绑定成功！您现在是 洛阳市中心血站（HN0002）的联系人" in out
    assert "=== 现在的身份：李审核" in out and "/queue" in out
    assert "看不懂这个控制命令" in out


def test_run_without_a_token_says_so_and_fails(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path
    )
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN is not set" in result.stderr and "eqa-bot demo" in result.stderr


def test_migrate_creates_the_schema(tmp_path: Path) -> None:
    env = {**os.environ, "EQA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}"}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "migrate"], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "newest schema" in result.stdout and (tmp_path / "m.sqlite3").exists()
