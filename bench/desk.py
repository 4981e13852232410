"""The web desk's pages with a province of labs in the database: p50/p95 of the queue page (first page, a
filtered page, a search) and of a lab's page, next to a static file served by the same server in the same run.

    python -m bench desk [--labs 3000] [--requests 200]

SQLite always; PostgreSQL too when EQA_TEST_POSTGRES_URL is set (a scratch database is made and dropped).
Goal: queue p95 under 200 ms. `--check` exits 1 when it is over.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

GOAL_MS = 200.0


async def _scratch_postgres(base: str) -> str:
    from sqlalchemy import make_url, text
    from sqlalchemy.ext.asyncio import create_async_engine

    name = f"eqa_bench_{uuid.uuid4().hex[:10]}"
    engine = create_async_engine(base, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return str(make_url(base).set(database=name).render_as_string(hide_password=False))


async def _drop_postgres(base: str, url: str) -> None:
    from sqlalchemy import make_url, text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(base, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    await engine.dispose()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(url: str, data_dir: Path, labs: int, requests: int) -> dict[str, tuple[float, float]]:
    import aiohttp
    from aiohttp import web

    from bot.app import build_app
    from bot.desk.demo import seed_labs
    from bot.desk.security import hash_password
    from bot.desk.server import make_desk
    from bot.settings import Settings
    from storage.models import DeskAccount

    settings = Settings(
        EQA_DATABASE_URL=url, EQA_DATA_DIR=str(data_dir), EQA_NOW="2025-02-10T10:00:00+08:00", _env_file=None
    )
    app = await build_app(settings)
    started = time.perf_counter()
    await seed_labs(app, labs, prefix="HN")
    print(f"  seeded {labs} labs in {time.perf_counter() - started:.1f} s", flush=True)
    async with app.db.transaction() as s:
        s.add(DeskAccount(name="bench", role="admin", password_hash=hash_password("bench-password"), session_epoch=1))
    runner = web.AppRunner(make_desk(app, secret=b"bench"), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    base = f"http://127.0.0.1:{port}"
    results: dict[str, tuple[float, float]] = {}
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            page = await (await http.get(base + "/login")).text()
            token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
            await http.post(
                base + "/login", data={"csrf": token, "name": "bench", "password": "bench-password", "next": "/queue"}
            )
            html = await (await http.get(base + "/queue")).text()
            token = re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
            lab = re.search(r'href="/labs/(\d+)"', html).group(1)  # type: ignore[union-attr]

            async def get(path: str) -> None:
                async with http.get(base + path) as r:
                    await r.read()
                    assert r.status == 200, (path, r.status)

            async def search() -> None:
                async with http.post(base + "/queue", data={"csrf": token, "q": "人民医院", "page": "3"}) as r:
                    await r.read()
                    assert r.status == 200

            cases = {
                "static file (baseline)": lambda: get("/static/desk.css"),
                "queue, first page": lambda: get("/queue"),
                "queue, filtered": lambda: get("/queue?status=submitted&sort=waiting"),
                "queue, search (POST)": search,
                "lab page": lambda: get(f"/labs/{lab}"),
            }
            for name, fn in cases.items():
                for _ in range(5):
                    await fn()  # warm up
                times = []
                for _ in range(requests):
                    t0 = time.perf_counter()
                    await fn()
                    times.append((time.perf_counter() - t0) * 1000)
                results[name] = (statistics.median(times), _pct(times, 0.95))
    finally:
        await runner.cleanup()
        await app.close()
    return results


async def run(labs: int, requests: int) -> dict[str, dict[str, tuple[float, float]]]:
    out: dict[str, dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="eqa-bench-desk-") as tmp:
        print("SQLite", flush=True)
        out["sqlite"] = await measure(f"sqlite+aiosqlite:///{tmp}/desk.sqlite3", Path(tmp) / "data", labs, requests)
        pg = os.environ.get("EQA_TEST_POSTGRES_URL")
        if pg:
            print("PostgreSQL", flush=True)
            url = await _scratch_postgres(pg)
            try:
                out["postgres"] = await measure(url, Path(tmp) / "pgdata", labs, requests)
            finally:
                await _drop_postgres(pg, url)
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench desk")
    parser.add_argument("--labs", type=int, default=3000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--check", action="store_true", help=f"exit 1 when a queue page's p95 is over {GOAL_MS:.0f} ms")
    args = parser.parse_args(argv)
    results = asyncio.run(run(args.labs, args.requests))
    over = False
    for backend, rows in results.items():
        print(f"\n{backend}: {args.labs} labs, {args.requests} requests each, one client")
        print(f"  {'page':<26}{'p50 ms':>9}{'p95 ms':>9}")
        for name, (p50, p95) in rows.items():
            print(f"  {name:<26}{p50:>9.1f}{p95:>9.1f}")
            over |= name.startswith("queue") and p95 > GOAL_MS
    print(f"\ngoal: queue p95 under {GOAL_MS:.0f} ms — {'MISSED' if over else 'met'}")
    return 1 if over and args.check else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
