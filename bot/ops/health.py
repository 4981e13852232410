"""Health: does the database answer (at the schema this version expects), does the Bot API answer our
token, and is the outbox keeping up?

- `HealthCheck` is an aiohttp handler to mount at `/healthz` (the webhook server, or any aiohttp app):
  200 with a JSON body when the database and the Bot API answer, 503 otherwise. The Bot API answer is
  remembered for `api_ttl` seconds, so a load balancer probing every second does not call Telegram every
  second.
- `check(settings)` does the same once, for `eqa-bot health` (a Docker HEALTHCHECK, a cron job, a probe
  in polling mode where no HTTP server runs).

Nothing here says more than "reachable or not, and why": no token (masked), no personal data.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from functools import cache
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import func, select, text

from bot.ops.logs import mask
from bot.settings import Settings
from storage.db import Database, alembic_config
from storage.models import OutboxMessage

# An outbox row waiting longer than this means delivery is stuck (reported, not failing: Telegram may be
# rate limiting a broadcast).
OUTBOX_STALE_SECONDS = 300


@cache
def schema_head() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _elapsed(start: float) -> float:
    return round((time.monotonic() - start) * 1000, 1)


async def check_database(db: Database, timeout: float = 5.0) -> dict[str, Any]:
    start = time.monotonic()
    try:
        async with asyncio.timeout(timeout), db.reading() as s:
            await s.execute(text("SELECT 1"))
            revision = await s.scalar(text("SELECT version_num FROM alembic_version"))
            pending, oldest = (
                await s.execute(
                    select(func.count(), func.min(OutboxMessage.next_attempt_at)).where(
                        OutboxMessage.status == "pending"
                    )
                )
            ).one()
    except Exception as exc:
        return {"ok": False, "ms": _elapsed(start), "error": mask(f"{type(exc).__name__}: {exc}")[:300]}
    late = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
    return {
        "ok": True,
        "ms": _elapsed(start),
        "schema": revision,
        "schema_current": revision == schema_head(),
        "outbox_pending": int(pending),
        "outbox_stale": late > OUTBOX_STALE_SECONDS,
    }


async def check_bot_api(
    api_root: str, token: str, timeout: float = 5.0, session: aiohttp.ClientSession | None = None
) -> dict[str, Any]:
    start = time.monotonic()
    if not token:
        return {"ok": False, "ms": 0.0, "error": "TELEGRAM_BOT_TOKEN is not set"}
    own = session is None
    session = session or aiohttp.ClientSession()
    try:
        async with session.get(
            f"{api_root.rstrip('/')}/bot{token}/getMe", timeout=aiohttp.ClientTimeout(total=timeout)
        ) as resp:
            body = await resp.json(content_type=None)
        if resp.status == 401:
            return {"ok": False, "ms": _elapsed(start), "error": "the Bot API refused the token (401)"}
        if not body.get("ok"):
            return {"ok": False, "ms": _elapsed(start), "error": f"HTTP {resp.status}: {body.get('description')}"}
        return {"ok": True, "ms": _elapsed(start), "username": body["result"].get("username")}
    except Exception as exc:
        # aiohttp puts the URL, with the token in it, into its errors.
        return {"ok": False, "ms": _elapsed(start), "error": mask(f"{type(exc).__name__}: {exc}", (token,))[:300]}
    finally:
        if own:
            await session.close()


def _verdict(database: dict[str, Any], bot_api: dict[str, Any]) -> dict[str, Any]:
    return {
        "ok": bool(database["ok"] and bot_api["ok"]),
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": database,
        "bot_api": bot_api,
    }


async def check(settings: Settings, *, timeout: float = 5.0) -> dict[str, Any]:
    """One check from the settings (`eqa-bot health`)."""
    db = Database(settings.database_url)
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    try:
        database, bot_api = await asyncio.gather(
            check_database(db, timeout), check_bot_api(settings.telegram_api_base_url, token, timeout)
        )
    finally:
        await db.dispose()
    return _verdict(database, bot_api)


class HealthCheck:
    """`GET /healthz` for an aiohttp application: `HealthCheck(db, api_root, token).add_to(web_app)`."""

    def __init__(self, db: Database, api_root: str, token: str, *, api_ttl: float = 30, timeout: float = 5) -> None:
        self.db = db
        self.api_root = api_root
        self.token = token
        self.api_ttl = api_ttl
        self.timeout = timeout
        self._api: tuple[float, dict[str, Any]] | None = None
        self._lock = asyncio.Lock()

    async def bot_api(self) -> dict[str, Any]:
        async with self._lock:  # concurrent probes share one call
            if self._api is None or time.monotonic() - self._api[0] > self.api_ttl:
                self._api = (time.monotonic(), await check_bot_api(self.api_root, self.token, self.timeout))
            return {**self._api[1], "age_s": round(time.monotonic() - self._api[0], 1)}

    async def report(self) -> dict[str, Any]:
        database, bot_api = await asyncio.gather(check_database(self.db, self.timeout), self.bot_api())
        return _verdict(database, bot_api)

    async def __call__(self, request: web.Request) -> web.Response:
        result = await self.report()
        return web.json_response(result, status=200 if result["ok"] else 503, headers={"Cache-Control": "no-store"})

    def add_to(self, app: web.Application, path: str = "/healthz") -> None:
        app.router.add_get(path, self)
