"""The application served by the WeChat transport over real HTTP on 127.0.0.1, against the fake WeChat API,
in plaintext or safe mode. The fake and the bot read one clock (the app's fixed clock), so a test can move
past a reply window."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from bot.app import App, build_app
from bot.delivery.worker import WorkerConfig
from bot.settings import Settings
from bot.wechat.sender import WeChatSender
from bot.wechat.server import Options, WeChatServer, make_sender, serve
from conversations.clock import FixedClock
from storage.models import OutboxMessage
from tests.fake_wechat.server import FakeWeChat
from tests.fake_wechat.user import WeChatUser

TOKEN = "wx-server-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as the MP console makes them
ADMIN_OPENID = "o_admin_reviewer_0001"


@dataclass
class RunningWeChat:
    app: App
    fake: FakeWeChat
    clock: FixedClock
    safe: bool
    sender: WeChatSender
    server: WeChatServer | None = None
    task: asyncio.Task[None] | None = None
    client: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=10))

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.port}/wechat"

    def user(self, openid: str) -> WeChatUser:
        return WeChatUser(
            self.fake, self.url, openid, token=TOKEN, aes_key=AES_KEY if self.safe else None, client=self.client
        )

    async def settled(self, timeout: float = 10) -> None:
        """Everything due has gone out: no turn in hand, nothing pending or claimed in the outbox."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            busy = self.server is not None and bool(self.server._tasks)
            async with self.app.db.reading() as s:
                left = await s.scalar(
                    select(OutboxMessage.id).where(
                        OutboxMessage.platform == "wechat", OutboxMessage.status.in_(("pending", "claimed", "sending"))
                    )
                )
            if not busy and left is None:
                return
            assert loop.time() < deadline, "the bot did not settle"
            await asyncio.sleep(0.02)

    async def outbox(self) -> list[OutboxMessage]:
        async with self.app.db.reading() as s:
            return list(await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def settings_for(database_url: str, data: Path, fake: FakeWeChat, *, safe: bool, **extra: str) -> Settings:
    values = {
        "EQA_DATABASE_URL": database_url,
        "EQA_DATA_DIR": str(data),
        "EQA_ADMIN_IDS": f"wechat:{ADMIN_OPENID}",
        "EQA_REVIEW_CHAT_ID": "review-chat",
        "WECHAT_APP_ID": fake.app_id,
        "WECHAT_APP_SECRET": fake.app_secret,
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_API_BASE_URL": fake.root,
        "WECHAT_TEMPLATE_RESULT": "TPL_RESULT",
        "WECHAT_TEMPLATE_REMINDER": "TPL_REMINDER",
        "EQA_PUBLIC_URL": "https://eqa.example.cn",
        **({"WECHAT_ENCODING_AES_KEY": AES_KEY} if safe else {}),
        **extra,
    }
    return Settings(**values, _env_file=None)  # type: ignore[arg-type]


@asynccontextmanager
async def running_wechat(
    database_url: str, data: Path, clock: FixedClock, *, safe: bool, **extra: str
) -> AsyncIterator[RunningWeChat]:
    fake = FakeWeChat(now=lambda: clock.now().timestamp())
    await fake.start()
    app = await build_app(settings_for(database_url, data, fake, safe=safe, **extra), clock=clock)
    sender = make_sender(app)
    bot = RunningWeChat(app, fake, clock, safe, sender)
    # The outbox worker looks often and takes rows at once (production: every second, after 5 s).
    options = Options(port=0, worker=WorkerConfig(poll=0.05, leftover_after=timedelta(seconds=0.2)))
    bot.task = asyncio.create_task(serve(app, options, sender=sender))
    ready = asyncio.create_task(options.ready.wait())
    done, _ = await asyncio.wait({ready, bot.task}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
    if bot.task in done:
        bot.task.result()
    assert ready in done, "the WeChat transport did not get ready"
    bot.server = options.server
    try:
        yield bot
    finally:
        bot.task.cancel()
        await asyncio.gather(bot.task, return_exceptions=True)
        await bot.client.aclose()
        await app.close()
        await fake.stop()
