"""The WeChat transport in `python -m bench throughput --transports wechat` (with the Telegram ones or alone).

The whole bot served by `eqa-bot run --transport wechat` (safe mode: every message AES-encrypted, signatures
checked, SQLite, the outbox, the reply-window tracker, replies as customer-service messages to the fake WeChat
API) next to a bare aiohttp endpoint that does the same signature check and decryption and answers each
message with one customer-service send. Each runs in its own process; the fake API and the simulated people
share this one. Latency: a person's POST leaves → the fake API receives the bot's reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-server-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
JOURNEY = ["/start", "常见问题", "/status", "缓交协议要盖什么章？", "/lang en", "/faq", "/lang zh", "/help"]


# -- the processes under test --------------------------------------------------------------------------------
async def serve_bot(root: str, app_id: str, secret: str, gate_rate: float) -> None:
    from bot.app import build_app
    from bot.settings import Settings
    from bot.wechat.server import Options, serve

    tmp = Path(tempfile.mkdtemp(prefix="eqa-bench-wx-"))
    settings = Settings(
        EQA_DATABASE_URL=f"sqlite+aiosqlite:///{tmp / 'bench.sqlite3'}",
        EQA_DATA_DIR=str(tmp / "data"),
        WECHAT_APP_ID=app_id,
        WECHAT_APP_SECRET=secret,
        WECHAT_TOKEN=TOKEN,
        WECHAT_ENCODING_AES_KEY=AES_KEY,
        WECHAT_API_BASE_URL=root,
        _env_file=None,
    )  # type: ignore[call-arg]
    app = await build_app(settings)
    options = Options(port=0)
    task = asyncio.create_task(serve(app, options))
    await options.ready.wait()
    assert options.server is not None
    print(f"READY {options.server.port}", flush=True)
    await task


async def serve_bare(root: str, app_id: str, secret: str) -> None:
    """The least a WeChat bot must do per message: check, decrypt, parse, reply once."""
    import httpx
    from aiohttp import web

    from bot.wechat import protocol

    keys = protocol.Keys(app_id, TOKEN, AES_KEY)
    client = httpx.AsyncClient(timeout=10)
    token = (
        await client.post(
            f"{root}/cgi-bin/stable_token", json={"grant_type": "client_credential", "appid": app_id, "secret": secret}
        )
    ).json()["access_token"]
    tasks: set[asyncio.Task[Any]] = set()

    async def reply(openid: str) -> None:
        body = {"touser": openid, "msgtype": "text", "text": {"content": "收到"}}
        await client.post(f"{root}/cgi-bin/message/custom/send", params={"access_token": token}, json=body)

    async def post(request: web.Request) -> web.Response:
        from datetime import UTC, datetime

        body = await request.read()
        try:
            message = protocol.open_post(keys, request.query, body, datetime.now(UTC))
        except protocol.Refused as exc:
            return web.Response(status=exc.status)
        task = asyncio.create_task(reply(str(message.source)))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return web.Response(text="success")

    app = web.Application()
    app.router.add_post("/wechat", post)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"READY {runner.addresses[0][1]}", flush=True)
    await asyncio.Event().wait()


def child(kind: str, root: str, app_id: str, secret: str, gate_rate: float) -> int:
    import logging

    logging.basicConfig(level=logging.WARNING)
    coro = serve_bot(root, app_id, secret, gate_rate) if kind == "bot" else serve_bare(root, app_id, secret)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(coro)
    return 0


# -- driving and measuring -----------------------------------------------------------------------------------
class WeChatBench:
    def __init__(self, fake: Any, kind: str, gate_rate: float) -> None:
        self.fake, self.kind, self.gate_rate = fake, kind, gate_rate
        self.proc: asyncio.subprocess.Process | None = None
        self.url = ""
        self.actions: list[tuple[str, float]] = []
        self._users = 0
        self._client: Any = None

    async def __aenter__(self) -> WeChatBench:
        import httpx

        env = dict(os.environ, PYTHONWARNINGS="ignore")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.throughput", "--child", self.kind, "wechat", self.fake.root,
            self.fake.app_id, self.fake.app_secret, str(self.gate_rate),
            stdout=asyncio.subprocess.PIPE, env=env, cwd=ROOT,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 120)
        if not line.startswith(b"READY "):
            raise RuntimeError(f"wechat/{self.kind} did not start: {line!r}")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}/wechat"
        self._client = httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    def new_user(self) -> Any:
        from tests.fake_wechat.user import WeChatUser

        self._users += 1
        openid = f"o_bench_{self.kind}_{self._users:05d}"
        self.fake.follower(openid)
        return WeChatUser(self.fake, self.url, openid, token=TOKEN, aes_key=AES_KEY, client=self._client)

    async def step(self, u: Any, text: str) -> None:
        seen = len(u.inbox)
        self.actions.append((u.openid, time.time()))
        await u.send_text(text)
        deadline = time.monotonic() + 30
        while len(u.inbox) <= seen and time.monotonic() < deadline:
            await asyncio.sleep(0.005)

    async def closed_loop(self, contacts: int) -> None:
        async def walk(u: Any) -> None:
            for text in JOURNEY:
                await self.step(u, text)

        await asyncio.gather(*(walk(self.new_user()) for _ in range(contacts)))

    async def open_loop(self, rate: float, seconds: float) -> None:
        people = max(10, int(rate * 2))
        users = [self.new_user() for _ in range(people)]
        progress = [0] * people
        busy: list[asyncio.Task[None] | None] = [None] * people
        start = time.monotonic()
        for n in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
            i = n % people
            if busy[i] is not None:
                await busy[i]  # type: ignore[misc]
            busy[i] = asyncio.create_task(self.step(users[i], JOURNEY[progress[i] % len(JOURNEY)]))
            progress[i] += 1
        await asyncio.gather(*(b for b in busy if b is not None))

    def measure(self, since: int) -> Any:
        from bench.throughput import Result

        actions = self.actions[since:]
        replies: dict[str, list[float]] = {}
        for sent in self.fake.sent:
            replies.setdefault(sent.openid, []).append(sent.at)
        result = Result("wechat", "eqa-bot" if self.kind == "bot" else "bare aiohttp")
        by_chat: dict[str, list[float]] = {}
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


async def run_one(kind: str, args: Any) -> tuple[Any, Any]:
    from tests.fake_wechat.server import FakeWeChat

    fake = FakeWeChat()
    await fake.start()
    try:
        async with WeChatBench(fake, kind, args.gate_rate) as b:
            await b.closed_loop(min(5, args.contacts))
            mark = len(b.actions)
            await b.closed_loop(args.contacts)
            closed = b.measure(mark)
            mark = len(b.actions)
            await b.open_loop(args.rate, args.seconds)
            return closed, b.measure(mark)
    finally:
        await fake.stop()


async def rows(args: Any) -> dict[str, tuple[Any, Any]]:
    return {"bot": await run_one("bot", args), "bare": await run_one("bare", args)}
