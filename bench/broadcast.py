"""Broadcast throughput and crash safety against the fake Bot API server enforcing Telegram's limits.

    python -m bench broadcast [--recipients 3000] [--scale 2] [--transport ptb|aiogram]
    python -m bench.broadcast  (directly)

Two runs, each on a fresh SQLite database and a fresh fake server (`tests.fake_telegram`, rate limits on:
30 msg/s overall and 1 msg/s per chat, times `--scale` to keep the run short — the ratio is what counts):

1. clean: one sending process (`bot.delivery.worker` with the real transport's `Sender` and the shared `Gate`)
   delivers one broadcast to every recipient;
2. crash: the sending process is killed with SIGKILL half-way, a new one is started and finishes.

For each: elapsed time of the sending against the ideal N/rate, the 429 answers received, duplicates and
losses counted from the fake server's own record of accepted sendMessage calls. Targets: ≥ 95 % of the
ideal rate, no duplicates, no losses, at most 3 answers of 429. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
PLATFORM = "telegram"
FIRST_CHAT = 7_000_001


# -- the sending process ------------------------------------------------------------------------------------
async def _child(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from bot.delivery import Gate
    from bot.delivery.worker import OutboxWorker, WorkerConfig
    from bot.serve import make_transport
    from bot.settings import Settings
    from storage.db import Database
    from storage.models import Broadcast

    settings = Settings(
        TELEGRAM_BOT_TOKEN=args.token, TELEGRAM_API_BASE_URL=args.api, EQA_DATABASE_URL=args.db, _env_file=None
    )
    db = Database(args.db)
    sender = make_transport(args.transport, settings)
    await sender.start()
    # The shared gate at the server's rate, counting sends over the server's (scaled) window with a margin for
    # the jitter between leaving here and arriving there.
    gate = Gate(per_second=args.rate, per_chat_per_second=args.per_chat, window=30 / args.rate, margin=args.margin)
    config = WorkerConfig(
        batch=200,
        lease=timedelta(seconds=args.lease),
        concurrency=64,
        poll=0.1,
        progress_every=3600,
    )
    worker = OutboxWorker(db, sender, gate, config=config)
    stop = asyncio.Event()

    async def watch() -> None:
        while not stop.is_set():
            async with db.reading() as s:
                if (
                    await s.scalar(select(func.count()).select_from(Broadcast).where(Broadcast.status == "sending"))
                    == 0
                ):
                    stop.set()
            await asyncio.sleep(0.2)

    watcher = asyncio.create_task(watch())
    await worker.run(stop)
    watcher.cancel()
    await sender.close()
    await db.dispose()
    print(f"worker {worker.name}: sent {worker.sent}, gate pauses {gate.pauses}", flush=True)
    return 0


# -- the driver ---------------------------------------------------------------------------------------------
@dataclass
class Figures:
    name: str
    n: int
    rate: float
    elapsed: float
    wall: float
    too_many: int
    duplicates: int
    losses: int
    unconfirmed: int
    downtime: float = 0.0

    @property
    def ideal(self) -> float:
        return self.n / self.rate

    @property
    def ratio(self) -> float:
        return self.ideal / self.elapsed if self.elapsed else 0.0

    def ok(self) -> bool:
        return self.ratio >= 0.95 and self.duplicates == 0 and self.losses == 0 and self.too_many <= 3

    def show(self) -> None:
        print(f"-- {self.name}")
        print(f"   recipients            {self.n}")
        print(
            f"   sending time          {self.elapsed:.2f} s (ideal N/rate = {self.n}/{self.rate:g} = {self.ideal:.2f} s)"
        )
        print(f"   rate vs ideal         {self.ratio * 100:.1f} %")
        if self.downtime:
            print(f"   down (kill → resumed) {self.downtime:.2f} s, not counted above (restart + lease)")
        print(f"   wall time             {self.wall:.2f} s")
        print(f"   429 answers           {self.too_many}")
        print(f"   duplicates            {self.duplicates}")
        print(f"   losses                {self.losses}")
        print(f"   unconfirmed rows      {self.unconfirmed} (on the wire when killed; delivered: see losses)")
        print(f"   verdict               {'OK' if self.ok() else 'MISSED'}")


async def _seed(url: str, n: int) -> int:
    """n labs, one bound contact each, and a broadcast to all of them queued as the admin flow does."""
    from bot.app import build_app
    from bot.settings import Settings
    from conversations.audience import Audience, recipients
    from conversations.events import Reply, to_payload
    from handlers.broadcasts import recipient_message
    from storage.models import Contact, Lab, utcnow
    from storage.repos.outbox import NewRow, add_rows, create_broadcast

    app = await build_app(Settings(EQA_DATABASE_URL=url, _env_file=None))
    now = utcnow()
    async with app.db.transaction() as s:
        labs = [
            Lab(code=f"B{i:05d}", name=f"基准实验室 {i}", institution_type="general_hospital", city="郑州市")
            for i in range(n)
        ]
        s.add_all(labs)
        await s.flush()
        s.add_all(
            Contact(lab_id=lab.id, platform=PLATFORM, user_id=str(FIRST_CHAT + i), chat_id=str(FIRST_CHAT + i))
            for i, lab in enumerate(labs)
        )
    async with app.db.transaction() as s:
        people = await recipients(s, app.campaign, Audience("all"))
        bc = await create_broadcast(
            s, kind="broadcast", text="bench", audience={"kind": "all"}, created_by="bench", report_chat=None, now=now
        )
        text, buttons = recipient_message(
            app.services.catalog, "zh", app.campaign, "broadcast", "请于 2 月 25 日前完成申报。"
        )
        rows = [
            NewRow(
                r.platform,
                r.chat_id,
                to_payload(Reply(text, buttons, r.chat_id, r.platform)),
                f"bc{bc.id}:{r.chat_id}",
                r.contact_id,
            )
            for r in people
        ]
        await add_rows(s, rows, now=now, broadcast_id=bc.id)
        bc_id = bc.id
    await app.close()
    return bc_id


async def _count_unconfirmed(url: str) -> int:
    from storage.db import Database
    from storage.models import OutboxMessage

    db = Database(url)
    async with db.reading() as s:
        n = await s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "unconfirmed"))
    await db.dispose()
    return int(n or 0)


def _spawn(args: argparse.Namespace, url: str, tg: object) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "bench.broadcast",
        "--child",
        "--db",
        url,
        "--api",
        tg.root,
        "--token",
        tg.token,  # type: ignore[attr-defined]
        "--rate",
        str(30 * args.scale),
        "--per-chat",
        str(args.scale),
        "--margin",
        str(args.margin),
        "--lease",
        str(args.lease),
        "--transport",
        args.transport,
    ]
    return subprocess.Popen(cmd, cwd=ROOT, env=os.environ | {"PYTHONPATH": str(ROOT)})


def _run(args: argparse.Namespace, crash: bool) -> Figures:
    from tests.fake_telegram import FakeTelegram, RateLimits

    n = args.recipients
    tmp = Path(tempfile.mkdtemp(prefix="eqa-bench-"))
    url = f"sqlite+aiosqlite:///{tmp / 'bench.sqlite3'}"
    asyncio.run(_seed(url, n))
    tg = FakeTelegram(rate_limits=RateLimits(scale=args.scale), auto_create_chats=True).start_in_thread()
    downtime = 0.0
    try:
        started = time.monotonic()
        child = _spawn(args, url, tg)
        if crash:
            while len(tg.calls("sendMessage", ok=True)) < n // 2:
                if child.poll() is not None:
                    raise SystemExit("the sending process ended before it could be killed")
                time.sleep(0.01)
            child.send_signal(signal.SIGKILL)
            child.wait()
            killed = time.monotonic()
            last_before = tg.calls("sendMessage", ok=True)[-1].time
            print(
                f"   killed the sending process (SIGKILL) after {len(tg.calls('sendMessage', ok=True))} messages",
                flush=True,
            )
            child = _spawn(args, url, tg)
        if child.wait(timeout=max(600, 10 * n / (30 * args.scale))) != 0:
            raise SystemExit("the sending process failed")
        wall = time.monotonic() - started
        ok = tg.calls("sendMessage", ok=True)
        delivered = Counter(int(c.params["chat_id"]) for c in ok)
        times = sorted(c.time for c in ok)
        elapsed = times[-1] - times[0] if times else 0.0
        if crash:
            first_after = min(c.time for c in ok if c.time > last_before)
            downtime = first_after - last_before
            elapsed -= downtime
            del killed
        too_many = sum(1 for c in tg.calls() if c.status == 429)
    finally:
        tg.stop()
    expected = {FIRST_CHAT + i for i in range(n)}
    return Figures(
        name="crash: SIGKILL half-way, then restarted" if crash else "clean run",
        n=n,
        rate=30 * args.scale,
        elapsed=elapsed,
        wall=wall,
        too_many=too_many,
        duplicates=sum(1 for chat, k in delivered.items() if k > 1),
        losses=len(expected - set(delivered)),
        unconfirmed=asyncio.run(_count_unconfirmed(url)),
        downtime=downtime,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench broadcast", description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=3000)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the fake server's rate limits")
    parser.add_argument("--margin", type=float, default=0.015, help="seconds of jitter the pacer leaves per window")
    parser.add_argument("--lease", type=float, default=3.0, help="seconds before a dead worker's rows are taken over")
    parser.add_argument("--transport", choices=["ptb", "aiogram"], default="ptb")
    parser.add_argument("--only", choices=["clean", "crash"])
    # The sending process (spawned by the driver).
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--per-chat", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return asyncio.run(_child(args))

    print(
        f"broadcast bench: {args.recipients} recipients, fake Bot API limits ×{args.scale:g} "
        f"({30 * args.scale:g} msg/s overall, {args.scale:g}/s per chat), transport {args.transport}, "
        f"pacer margin {args.margin * 1000:g} ms per window, lease {args.lease:g} s",
        flush=True,
    )
    results = []
    for crash in (False, True):
        if args.only and args.only != ("crash" if crash else "clean"):
            continue
        figures = _run(args, crash)
        figures.show()
        results.append(figures)
    return 0 if all(f.ok() for f in results) else 1


if __name__ == "__main__":
    sys.exit(main())
