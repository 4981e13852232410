"""The webhook server (aiohttp): Telegram POSTs each update to us instead of being polled.

- The `X-Telegram-Bot-Api-Secret-Token` header must match our secret (constant-time); otherwise 403 and
  nothing is read further.
- 200 is answered once the update is committed, not before: if the bot dies first, Telegram delivers the
  update again (the core ignores a redelivery it already handled). Replies are sent after the answer, so
  a slow or rate-limited send never holds Telegram's connection.
- Updates run through the same pipeline as polling: concurrent across chats (bounded), in order per chat.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web

from bot.ops.health import HealthCheck
from bot.runner import UpdatePipeline
from bot.settings import Settings
from bot.telegram.common import TelegramTransport, derived_webhook_secret, webhook_secret_ok

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@dataclass(frozen=True)
class WebhookConfig:
    url: str  # the public URL Telegram posts to (https, behind a reverse proxy or not)
    secret: str
    host: str = "127.0.0.1"
    port: int = 8080
    max_connections: int = 40

    @property
    def path(self) -> str:
        """The path we listen on: the public URL's (a proxy forwards it unchanged)."""
        return urlsplit(self.url).path or "/"

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookConfig:
        if not settings.webhook_url:
            raise ValueError("webhook mode needs EQA_WEBHOOK_URL, the public https URL Telegram should post to")
        if settings.webhook_secret is not None and settings.webhook_secret.get_secret_value():
            secret = settings.webhook_secret.get_secret_value()
        else:
            token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
            secret = derived_webhook_secret(token)
        if not _SECRET.match(secret):
            raise ValueError("EQA_WEBHOOK_SECRET may hold only A-Z, a-z, 0-9, _ and -, at most 256 characters")
        return cls(settings.webhook_url, secret, settings.webhook_listen, settings.webhook_port)


class WebhookServer:
    def __init__(self, transport: TelegramTransport, pipeline: UpdatePipeline, config: WebhookConfig) -> None:
        self.transport = transport
        self.pipeline = pipeline
        self.config = config
        self._runner: web.AppRunner | None = None
        self.port = config.port
        self.refused = 0
        self._healthz = HealthCheck(pipeline.runner.core.db, transport.api_root, transport.token)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post(self.config.path, self._update)
        app.router.add_get("/healthz", self._health)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        log.info("webhook listening on %s:%s%s", self.config.host, self.port, self.config.path)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _health(self, request: web.Request) -> web.Response:
        """The database and the Bot API, as JSON: 200 when both answer, 503 otherwise (bot/ops/health.py)."""
        return await self._healthz(request)

    async def _update(self, request: web.Request) -> web.Response:
        if not webhook_secret_ok(request.headers.get(SECRET_HEADER), self.config.secret):
            self.refused += 1
            log.warning("webhook: a request from %s without the right secret was refused", request.remote)
            return web.Response(status=403)
        try:
            body = await request.json()
            update = self.transport.parse_update(body)
            update_id = int(update["update_id"])
        except Exception as exc:
            # Telegram would send the same body again and again: take it, say why it was dropped.
            log.error("webhook: an update that cannot be read was dropped: %s", exc)
            return web.Response(status=200)
        committed = await self.pipeline.submit(update)
        try:
            # Shielded: Telegram hanging up must not cancel an update half-way; it will redeliver.
            await asyncio.shield(committed)
        except asyncio.CancelledError:
            if committed.cancelled():
                log.info("update %s: not committed before shutdown; Telegram will deliver it again", update_id)
                return web.Response(status=503)
            raise
        return web.Response(status=200)
