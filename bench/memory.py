"""Memory of `eqa-bot run`: resident set size (RSS) with a roster of 3,000 labs after 500 updates, and what
each big import costs.

The bot is the real `eqa-bot run` (python-telegram-bot by default) in its own process, polling the fake Bot
API server (real HTTP on 127.0.0.1) on a SQLite file seeded with the labs; simulated people walk the
throughput bench's journey (/start, the FAQ, /status, a question, /lang …) until 500 updates were handled.
Figures, all measured in this run:

- baseline: a bare interpreter, and one that has imported what `eqa-bot run` imports, but has done nothing;
- the bot: RSS once it serves, after the updates, and its peak (VmHWM); target ≤ 150 MB after the updates;
- imports: each big library alone in a fresh interpreter (MB over a bare one), and whether the running bot
  has it loaded (what a transport does not use should not be: aiogram under ptb, the webhook server when
  polling, alembic once the schema is current, openpyxl/reportlab/PIL/pypdf until a file needs them).

    python -m bench memory [--labs 3000] [--updates 500] [--transport ptb|aiogram] [--limit 150]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NOW = "2025-02-10T10:00:00+08:00"
# Big imports, in the order a newcomer would suspect them.
LIBRARIES = [
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "alembic",
    "pydantic_settings",
    "fluent.runtime",
    "httpx",
    "telegram",
    "aiogram",
    "aiohttp",
    "openpyxl",
    "reportlab.platypus",
    "PIL.Image",
    "pypdf",
    "cryptography.hazmat.primitives.ciphers.aead",
]
# The child reports its loaded modules to this file on SIGUSR1, so nothing is guessed about what it loaded.
RUN = """
import json, os, signal, sys
def dump(*_):
    with open(os.environ["EQA_BENCH_MODULES"], "w") as f:
        json.dump(sorted(sys.modules), f)
signal.signal(signal.SIGUSR1, dump)
import bot.cli
sys.exit(bot.cli.main(["run"]))
"""
RSS_OF_IMPORT = """
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1])
import sys
before = rss()
for name in sys.argv[1:]:
    __import__(name)
print(rss() - before, rss())
"""


def status_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def import_cost(*modules: str) -> tuple[float, float]:
    """MB over a bare interpreter after importing `modules`, and the RSS then (MB)."""
    out = subprocess.run(
        [sys.executable, "-c", RSS_OF_IMPORT, *modules],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ, PYTHONWARNINGS="ignore"),
    )
    if out.returncode != 0:
        return float("nan"), float("nan")
    delta, total = out.stdout.split()
    return int(delta) / 1024, int(total) / 1024


async def seed(url: str, labs: int) -> None:
    from sqlalchemy import insert

    from storage.db import Database
    from storage.models import Lab

    db = Database(url)
    try:
        await db.migrate()
        rows = [
            {
                "code": f"HN{i:04d}",
                "name": f"第{i}人民医院检验科",
                "institution_type": "general_hospital",
                "level": "L3" if i % 3 else "L2",
                "city": ["郑州市", "洛阳市", "开封市", "南阳市"][i % 4],
                "licence_no": f"4101021990{i:04d}",
                "licence_valid_from": date(2020, 5, 1),
                "licence_valid_to": date(2027, 4, 30),
                "credit_code": f"1241000041580{i:04d}H",
                "address": f"示范路 {i} 号",
            }
            for i in range(1, labs + 1)
        ]
        async with db.transaction() as s:
            for start in range(0, len(rows), 500):
                await s.execute(insert(Lab), rows[start : start + 500])
    finally:
        await db.dispose()


async def drive(tg: Any, updates: int) -> int:
    """People walk the throughput journey, each waiting for the bot's answer, until `updates` were sent."""
    from bench.throughput import JOURNEY

    people = 25
    sent = 0

    async def walk(n: int) -> None:
        nonlocal sent
        u = tg.user(7_000_000 + n, f"用户{n}", language_code="zh-hans")
        step = 0
        while sent < updates:
            sent += 1
            _, action = JOURNEY[step % len(JOURNEY)]
            step += 1
            await action(u)
            await u.wait_for_message(timeout=60)

    await asyncio.gather(*(walk(n) for n in range(people)))
    return sent


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    from tests.fake_telegram import FakeTelegram

    tmp = Path(tempfile.mkdtemp(prefix="eqa-bench-memory-"))
    url = f"sqlite+aiosqlite:///{tmp / 'eqa.sqlite3'}"
    await seed(url, args.labs)
    modules_file = tmp / "modules.json"
    figures: dict[str, Any] = {}
    async with FakeTelegram() as tg:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EQA_", "TELEGRAM_"))} | {
            "TELEGRAM_BOT_TOKEN": tg.token,
            "TELEGRAM_API_BASE_URL": tg.root,
            "EQA_DATABASE_URL": url,
            "EQA_DATA_DIR": str(tmp / "data"),
            "EQA_NOW": NOW,
            "EQA_TRANSPORT": args.transport,
            "EQA_LOG_LEVEL": "WARNING",
            "EQA_BENCH_MODULES": str(modules_file),
            "PYTHONWARNINGS": "ignore",
        }
        with open(tmp / "run.log", "wb") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", RUN, cwd=ROOT, env=env, stdout=log, stderr=log
            )
        try:
            started = time.monotonic()
            while not tg.long_poll_active:
                if proc.returncode is not None or time.monotonic() - started > 120:
                    raise RuntimeError(f"eqa-bot run did not start: see {tmp / 'run.log'}")
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
            figures["serving"] = status_kb(proc.pid, "VmRSS") / 1024
            t0 = time.monotonic()
            figures["updates"] = await drive(tg, args.updates)
            figures["seconds"] = time.monotonic() - t0
            await asyncio.sleep(0.5)
            figures["after"] = status_kb(proc.pid, "VmRSS") / 1024
            figures["peak"] = status_kb(proc.pid, "VmHWM") / 1024
            os.kill(proc.pid, signal.SIGUSR1)
            for _ in range(100):
                if modules_file.exists() and modules_file.stat().st_size:
                    break
                await asyncio.sleep(0.05)
            figures["modules"] = set(json.loads(modules_file.read_text()))
        finally:
            if proc.returncode is None:
                proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), 20)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench memory", description=__doc__.split("\n")[0])
    parser.add_argument("--labs", type=int, default=3000)
    parser.add_argument("--updates", type=int, default=500)
    parser.add_argument("--transport", choices=["ptb", "aiogram"], default="ptb")
    parser.add_argument("--limit", type=float, default=150.0, help="MB of RSS after the updates (default 150)")
    args = parser.parse_args(argv)

    _, bare = import_cost()
    imported, loaded = import_cost("bot.cli", "bot.serve", f"bot.{args.transport}_transport")
    figures = asyncio.run(measure(args))
    print(
        f"eqa-bot run ({args.transport}), {args.labs} labs, {figures['updates']} updates in {figures['seconds']:.1f} s"
    )
    print(f"  baseline: bare interpreter          {bare:7.1f} MB")
    print(f"  baseline: eqa-bot run's imports     {loaded:7.1f} MB  (+{imported:.1f})")
    print(f"  serving, before any update          {figures['serving']:7.1f} MB")
    print(f"  after the updates                   {figures['after']:7.1f} MB  (limit {args.limit:.0f})")
    print(f"  peak (VmHWM)                        {figures['peak']:7.1f} MB")
    print("  imports, each alone over a bare interpreter, and whether the running bot has it loaded:")
    for name in LIBRARIES:
        cost, _ = import_cost(name)
        top = name.split(".")[0]
        state = "loaded" if top in {m.split(".")[0] for m in figures["modules"]} else "not loaded"
        print(f"    {name:46s} {cost:6.1f} MB  {state}")
    ok = figures["after"] <= args.limit
    print(f"  {'OK' if ok else 'OVER'}: {figures['after']:.1f} MB {'≤' if ok else '>'} {args.limit:.0f} MB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
