"""Throughput of the Telegram transports: the whole bot (core, SQLite, outbox) next to a bare echo bot.

N simulated people talk to the bot at once through the fake Bot API server (real HTTP on 127.0.0.1),
the bot polling in batches of up to 100. Each bot runs in its own process, as in production; the fake
server and the simulated people share this one. For each transport (python-telegram-bot, aiogram):

- closed loop: N people each walk the journey (a step, wait for the reply, the next step) — updates/s;
- open loop: updates offered at a fixed rate (default 50/s) — p50 and p99 latency at that load;

and the same for two bare echo bots on the same library, which reply to everything with one sendMessage:
"echo/loop" polls the way eqa-bot's transport does (the library's Bot: getUpdates, then the batch's
replies concurrently), "echo/framework" uses the library's own polling (PTB's Application with concurrent
updates, aiogram's Dispatcher). eqa-bot's ratio is given to each.
Latency runs from the moment the fake server makes the update available to the moment it receives the
bot's reply (both clocks are the fake server's).

The WeChat transport (`--transports ptb,aiogram,wechat`) is measured in safe mode against a bare aiohttp
endpoint doing the same signature check and decryption (bench/_wechat.py).

    python -m bench throughput [--contacts 50] [--rate 50] [--seconds 10] [--transports ptb,aiogram,wechat]
                               [--echoes loop,framework] [--gate-rate 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REPLY_METHODS = {"sendMessage", "editMessageText", "sendDocument", "sendPhoto", "sendMediaGroup"}
NOW = "2025-02-10T10:00:00+08:00"

Step = Callable[[Any], Awaitable[Any]]


# -- the journeys ----------------------------------------------------------------------------------------
def _button(u: Any, *needles: str) -> str:
    labels = u.buttons()
    return next((b for b in labels for n in needles if n in b), labels[0])


JOURNEY: list[tuple[str, Step]] = [
    ("/start", lambda u: u.send_command("start")),
    ("press FAQ", lambda u: u.press(_button(u, "常见问题", "FAQ"))),
    ("press topic", lambda u: u.press(u.buttons()[0])),
    ("/status", lambda u: u.send_command("status")),
    ("question", lambda u: u.send_text("缓交协议要盖什么章？")),
    ("/lang en", lambda u: u.send_command("lang", "en")),
    ("/faq", lambda u: u.send_command("faq")),
    ("/lang zh", lambda u: u.send_command("lang", "zh")),
]
ECHO_JOURNEY: list[tuple[str, Step]] = [(f"text {i}", lambda u, i=i: u.send_text(f"消息 {i}")) for i in range(8)]


# -- the bots under test (child processes) ---------------------------------------------------------------
async def serve_bot(transport: str, root: str, token: str, gate_rate: float) -> None:
    from bot.app import build_app
    from bot.delivery import Gate
    from bot.serve import Options, make_transport, serve
    from bot.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="eqa-bench-"))
    settings = Settings(
        TELEGRAM_BOT_TOKEN=token,
        TELEGRAM_API_BASE_URL=root,
        EQA_DATABASE_URL=f"sqlite+aiosqlite:///{tmp / 'eqa.sqlite3'}",
        EQA_DATA_DIR=str(tmp / "data"),
        EQA_NOW=NOW,
        _env_file=None,
    )
    app = await build_app(settings)
    options = Options(long_poll=10, gate=Gate(per_second=gate_rate))
    task = asyncio.create_task(serve(app, make_transport(transport, settings, app.services.store), "polling", options))
    await options.ready.wait()
    print("READY", flush=True)
    await task


async def serve_echo_loop_ptb(root: str, token: str) -> None:
    import telegram

    bot = telegram.Bot(token, base_url=root + "/bot", base_file_url=root + "/file/bot")
    await bot.initialize()

    async def echo(update: telegram.Update) -> None:
        if update.message is not None:
            await bot.send_message(update.message.chat.id, update.message.text or "·")
        elif update.callback_query is not None:
            await bot.send_message(update.callback_query.from_user.id, update.callback_query.data or "·")

    print("READY", flush=True)
    offset = None
    while True:
        updates = await bot.get_updates(offset=offset, limit=100, timeout=10)
        await asyncio.gather(*(echo(u) for u in updates))
        if updates:
            offset = updates[-1].update_id + 1


async def serve_echo_loop_aiogram(root: str, token: str) -> None:
    from aiogram import Bot, types
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(root)))
    await bot.get_me()

    async def echo(update: types.Update) -> None:
        if update.message is not None:
            await bot.send_message(update.message.chat.id, update.message.text or "·")
        elif update.callback_query is not None:
            await bot.send_message(update.callback_query.from_user.id, update.callback_query.data or "·")

    print("READY", flush=True)
    offset = None
    while True:
        updates = await bot.get_updates(offset=offset, limit=100, timeout=10, request_timeout=20)
        await asyncio.gather(*(echo(u) for u in updates))
        if updates:
            offset = updates[-1].update_id + 1


async def serve_echo_ptb(root: str, token: str) -> None:
    from telegram import Update
    from telegram.ext import ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        text = update.effective_message.text if update.message else update.callback_query.data  # type: ignore[union-attr]
        await context.bot.send_message(update.effective_chat.id, text or "·")

    app = (
        ApplicationBuilder()
        .token(token)
        .base_url(root + "/bot")
        .base_file_url(root + "/file/bot")
        .concurrent_updates(True)
        .build()
    )
    app.add_handler(MessageHandler(filters.ALL, echo))
    app.add_handler(CallbackQueryHandler(echo))
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(timeout=10)
        await app.start()
        print("READY", flush=True)
        await asyncio.Event().wait()


async def serve_echo_aiogram(root: str, token: str) -> None:
    from aiogram import Bot, Dispatcher, types
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(root)))
    dp = Dispatcher()

    @dp.message()
    async def echo(message: types.Message) -> None:
        await bot.send_message(message.chat.id, message.text or "·")

    @dp.callback_query()
    async def pressed(query: types.CallbackQuery) -> None:
        await bot.send_message(query.from_user.id, query.data or "·")

    @dp.startup()
    async def ready() -> None:
        print("READY", flush=True)

    await dp.start_polling(bot, polling_timeout=10, handle_signals=False)


def child(argv: list[str]) -> int:
    if argv[1] == "wechat":  # kind, "wechat", api root, app id, app secret, gate rate
        from bench._wechat import child as wechat_child

        return wechat_child(argv[0], argv[2], argv[3], argv[4], float(argv[5]))
    kind, transport, root, token, gate_rate = argv[0], argv[1], argv[2], argv[3], float(argv[4])
    import logging

    logging.basicConfig(level=logging.WARNING)
    servers: dict[tuple[str, str], Callable[[], Awaitable[None]]] = {
        ("bot", "ptb"): lambda: serve_bot("ptb", root, token, gate_rate),
        ("bot", "aiogram"): lambda: serve_bot("aiogram", root, token, gate_rate),
        ("loop", "ptb"): lambda: serve_echo_loop_ptb(root, token),
        ("loop", "aiogram"): lambda: serve_echo_loop_aiogram(root, token),
        ("framework", "ptb"): lambda: serve_echo_ptb(root, token),
        ("framework", "aiogram"): lambda: serve_echo_aiogram(root, token),
    }
    coro = servers[(kind, transport)]()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(coro)  # type: ignore[arg-type]
    return 0


# -- driving and measuring -------------------------------------------------------------------------------
@dataclass
class Result:
    transport: str
    bot: str
    updates: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds
    lost: int = 0

    @property
    def rate(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        if len(self.latencies) == 1:
            return self.latencies[0] * 1000
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[int(q) - 1] * 1000


class Bench:
    def __init__(self, tg: Any, kind: str, transport: str, gate_rate: float) -> None:
        self.tg, self.kind, self.transport, self.gate_rate = tg, kind, transport, gate_rate
        self.proc: asyncio.subprocess.Process | None = None
        self.actions: list[tuple[int, float]] = []  # (chat, time the update became available)
        self._users = 0

    async def __aenter__(self) -> Bench:
        env = dict(os.environ, PYTHONWARNINGS="ignore")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.throughput",
            "--child",
            self.kind,
            self.transport,
            self.tg.root,
            self.tg.token,
            str(self.gate_rate),
            stdout=asyncio.subprocess.PIPE,
            env=env,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 120)
        if b"READY" not in line:
            raise RuntimeError(f"{self.kind}/{self.transport} did not start: {line!r}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    def journey(self) -> list[tuple[str, Step]]:
        return JOURNEY if self.kind == "bot" else ECHO_JOURNEY

    def new_user(self) -> Any:
        self._users += 1
        return self.tg.user(
            10_000_000 * (1 + len(self.kind)) + self._users * 7, f"用户{self._users}", language_code="zh-hans"
        )

    async def step(self, u: Any, action: Step) -> None:
        self.actions.append((u.chat_id, time.time()))  # the update is queued at the fake server now
        await action(u)
        await u.wait_for_message(timeout=30)

    async def closed_loop(self, contacts: int) -> None:
        async def walk(u: Any) -> None:
            for _, action in self.journey():
                await self.step(u, action)

        await asyncio.gather(*(walk(self.new_user()) for _ in range(contacts)))

    async def open_loop(self, rate: float, seconds: float) -> None:
        journey = self.journey()
        people = max(10, int(rate * 2))  # each person acts every ~2 s: replies come long before
        total = int(rate * seconds)
        users = [self.new_user() for _ in range(people)]
        progress = [0] * people
        busy: list[asyncio.Task[None] | None] = [None] * people
        start = time.monotonic()
        for n in range(total):
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
            i = n % people
            if busy[i] is not None:
                await busy[i]  # type: ignore[misc]
            _, action = journey[progress[i] % len(journey)]
            progress[i] += 1
            busy[i] = asyncio.create_task(self.step(users[i], action))
        await asyncio.gather(*(b for b in busy if b is not None))

    def measure(self, since: int) -> Result:
        """Match each update with the first reply in its chat after it (people wait for each reply)."""
        actions = self.actions[since:]
        replies: dict[int, list[float]] = {}
        for call in self.tg.calls():
            if call.method in REPLY_METHODS and call.params.get("chat_id") is not None:
                replies.setdefault(int(call.params["chat_id"]), []).append(call.time)
        result = Result(self.transport, "eqa-bot" if self.kind == "bot" else f"echo/{self.kind}")
        by_chat: dict[int, list[float]] = {}
        for chat, t in actions:
            by_chat.setdefault(chat, []).append(t)
        last = 0.0
        for chat, times in by_chat.items():
            answers = sorted(replies.get(chat, []))
            for i, t in enumerate(times):
                nxt = times[i + 1] if i + 1 < len(times) else float("inf")
                hit = next((r for r in answers if t <= r < nxt), None)
                if hit is None:
                    result.lost += 1
                    continue
                result.latencies.append(hit - t)
                last = max(last, hit)
        result.updates = len(actions)
        result.seconds = last - min(t for _, t in actions) if actions else 0.0
        return result


async def run_one(kind: str, transport: str, args: argparse.Namespace) -> tuple[Result, Result]:
    from tests.fake_telegram import FakeTelegram

    async with FakeTelegram() as tg, Bench(tg, kind, transport, args.gate_rate) as b:
        # Warm up (first connections, SQLite pages, code paths), then measure.
        await b.closed_loop(min(5, args.contacts))
        mark = len(b.actions)
        await b.closed_loop(args.contacts)
        closed = b.measure(mark)
        mark = len(b.actions)
        await b.open_loop(args.rate, args.seconds)
        opened = b.measure(mark)
        return closed, opened


def report(rows: dict[str, dict[str, tuple[Result, Result]]], args: argparse.Namespace) -> None:
    print(
        f"\nclosed loop: {args.contacts} people at once × {len(JOURNEY)} steps; "
        f"open loop: {args.rate:g} updates/s offered for {args.seconds:g} s. SQLite, polling (batches ≤ 100), "
        f"fake Bot API on 127.0.0.1, eqa-bot's rate gate at {args.gate_rate:g} msg/s.\n"
    )
    head = (
        f"{'transport':9} {'bot':15} {'updates/s':>10} {'p50 ms':>8} {'p99 ms':>8}   "
        f"{'open p50':>8} {'open p99':>8} {'lost':>5}   eqa-bot ÷ this"
    )
    print(head)
    print("-" * len(head))
    for transport, results in rows.items():
        bot_rate = results["bot"][0].rate
        for closed, opened in results.values():
            ratio = f"{bot_rate / closed.rate:.2f}" if closed.bot != "eqa-bot" and closed.rate else ""
            print(
                f"{transport:9} {closed.bot:15} {closed.rate:10.1f} {closed.pct(50):8.1f} {closed.pct(99):8.1f}   "
                f"{opened.pct(50):8.1f} {opened.pct(99):8.1f} {closed.lost + opened.lost:5d}   {ratio}"
            )
    print(
        "\ntargets: eqa-bot ≥ 0.5 × echo updates/s; open-loop p99 < 250 ms. "
        "Latency: update available at the fake server → the bot's reply received there."
    )


async def amain(args: argparse.Namespace) -> int:
    rows: dict[str, dict[str, tuple[Result, Result]]] = {}
    for transport in args.transports:
        if transport == "wechat":  # the official account, next to a bare aiohttp endpoint (bench/_wechat.py)
            from bench._wechat import rows as wechat_rows

            rows[transport] = await wechat_rows(args)
            continue
        rows[transport] = {"bot": await run_one("bot", transport, args)}
        for echo in args.echoes:
            rows[transport][echo] = await run_one(echo, transport, args)
    report(rows, args)
    lost = sum(r.lost for results in rows.values() for pair in results.values() for r in pair)
    return 1 if lost else 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--child":
        return child(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m bench throughput", description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=50, help="people walking the journey at once")
    parser.add_argument("--rate", type=float, default=50, help="updates/s offered in the open-loop run")
    parser.add_argument("--seconds", type=float, default=10, help="length of the open-loop run")
    parser.add_argument("--transports", default="ptb,aiogram,wechat", type=lambda s: [t for t in s.split(",") if t])
    parser.add_argument(
        "--echoes",
        default="loop,framework",
        type=lambda s: [t for t in s.split(",") if t in ("loop", "framework")],
        help="echo bots to compare with: loop (the transport's polling style), framework (the library's own)",
    )
    parser.add_argument(
        "--gate-rate",
        type=float,
        default=1000,
        help="eqa-bot's global send limit (production: 30 msg/s; the fake server has no limit)",
    )
    args = parser.parse_args(argv)
    return asyncio.run(amain(args))


if __name__ == "__main__":
    sys.exit(main())
