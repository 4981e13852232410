"""Several webhook workers behind a reverse proxy, sharing one database (PostgreSQL when
EQA_TEST_POSTGRES_URL is set, else a SQLite file), as the README's production section lays it out — and one
of them killed with SIGKILL mid-journey: the proxy sends the next updates to the other (as nginx does with
`proxy_next_upstream error`), Telegram redelivers what was not answered 200, and two contacts' journeys
complete with nothing lost or duplicated."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select

from bot.telegram.inbound import PLATFORM
from storage.db import Database
from storage.models import Document, Enrollment, ProcessedUpdate
from tests.conftest import POSTGRES_URL, drop_postgres_database, fresh_postgres_url
from tests.e2e.conftest import free_port
from tests.fake_telegram import FakeTelegram
from tests.test_crash_support import Walker, images, journey, run_env, seed

pytestmark = [pytest.mark.timeout(120), pytest.mark.filterwarnings("ignore::DeprecationWarning")]
HOOK = "/telegram/hook"


class RoundRobin:
    """A reverse proxy: each request to the next worker; one that refuses the connection is skipped."""

    def __init__(self, upstreams: list[int]) -> None:
        self.upstreams = upstreams
        self._next = itertools.cycle(range(len(upstreams)))
        self.skipped = 0
        self.served: dict[int, int] = dict.fromkeys(upstreams, 0)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {
            k: v for k, v in request.headers.items() if k.lower() in ("content-type", "x-telegram-bot-api-secret-token")
        }
        async with aiohttp.ClientSession() as session:
            for _ in self.upstreams:
                port = self.upstreams[next(self._next)]
                try:
                    async with session.post(
                        f"http://127.0.0.1:{port}{request.path}", data=body, headers=headers
                    ) as resp:
                        self.served[port] += 1
                        return web.Response(status=resp.status, body=await resp.read())
                except aiohttp.ClientConnectionError:
                    self.skipped += 1
        return web.Response(status=502)


@contextlib.asynccontextmanager
async def proxy(port: int, upstreams: list[int]) -> AsyncIterator[RoundRobin]:
    rr = RoundRobin(upstreams)
    app = web.Application()
    app.router.add_post(HOOK, rr.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield rr
    finally:
        await runner.cleanup()


async def test_two_webhook_workers_share_the_work_and_survive_losing_one(tmp_path: Path) -> None:
    url = await fresh_postgres_url() if POSTGRES_URL else f"sqlite+aiosqlite:///{tmp_path / 'eqa.sqlite3'}"
    files = images()
    procs: list[asyncio.subprocess.Process] = []
    tg = FakeTelegram.start_in_thread()
    try:
        codes = [await seed(url, f"HN000{i}", name=f"第{i}人民医院检验科") for i in (1, 2)]
        public, ports = free_port(), [free_port(), free_port()]

        async def start(port: int) -> asyncio.subprocess.Process:
            env = run_env(
                tg,
                tmp_path,
                EQA_DATABASE_URL=url,
                EQA_WEBHOOK_URL=f"http://127.0.0.1:{public}{HOOK}",
                EQA_WEBHOOK_PORT=str(port),
                EQA_WEBHOOK_SECRET="workers_secret",
            )
            log = open(tmp_path / f"worker-{port}.log", "ab")  # noqa: SIM115 - the child writes it
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.cli",
                "run",
                "--mode",
                "webhook",
                cwd=tmp_path,
                env=env,
                stdout=log,
                stderr=log,
            )
            log.close()
            procs.append(proc)
            return proc

        async with proxy(public, ports) as rr:
            first = await start(ports[0])
            await start(ports[1])
            users = [tg.user(7101 + i, f"联系人{'甲乙'[i]}", language_code="zh-hans") for i in range(2)]
            plans = [journey(f"HN000{i + 1}", codes[i], files) for i in range(2)]
            killed = asyncio.Event()

            async def walk(i: int) -> None:
                async def on_act(n: int) -> None:
                    if i == 0 and n == len(plans[0]) // 2:  # half-way: one worker dies
                        first.send_signal(signal.SIGKILL)
                        await first.wait()
                        killed.set()

                await Walker(users[i], timeout=45).walk(plans[i], on_act)

            await asyncio.gather(walk(0), walk(1))
            assert killed.is_set() and all(n > 0 for n in rr.served.values()), rr.served
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                assert await asyncio.wait_for(proc.wait(), 30) == 0

        db = Database(url)
        try:
            async with db.reading() as s:
                handled = await s.scalar(
                    select(func.count()).select_from(ProcessedUpdate).where(ProcessedUpdate.platform == PLATFORM)
                )
                assert handled == sum(len(p) for p in plans)
                enrollments = list(await s.scalars(select(Enrollment).order_by(Enrollment.lab_id)))
                assert [(e.status, e.revision) for e in enrollments] == [("submitted", 1), ("submitted", 1)]
                docs = await s.scalar(select(func.count()).select_from(Document))
                assert docs == 4
        finally:
            await db.dispose()
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        tg.stop()
        if POSTGRES_URL:
            await drop_postgres_database(url)
