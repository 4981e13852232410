"""Reviewer alerts in WeCom, DingTalk and Feishu group chats, through each platform's group-robot webhook.

Each robot is a delivery platform of the outbox ("wecom", "dingtalk", "feishu"): the reviewer desk queues a
text row for every configured robot in the transaction that made the submission, and a `RobotWorker` per
robot delivers it — never on the chat's path, so a robot that is down, slow or misconfigured only delays its
own alerts and is logged; the chat goes on. This module is the channel (signing, the platforms' answers as
`bot.delivery` errors); `bot.delivery.robots` runs the workers, under the same settle policy and delivery
promise as every outbox row (leases, never sent twice).

The platforms' rules (checked against their documentation):
- WeCom (企业微信): POST JSON to `…/cgi-bin/webhook/send?key=…`; no signature; 20 messages a minute; text up
  to 2048 bytes; errcode 45009 means "too often".
- DingTalk (钉钉): with the "signature" security setting, `timestamp` (ms) and `sign` go in the query: sign =
  urlencode(base64(HMAC-SHA256(key=secret, msg="timestamp\\nsecret"))); 20 messages a minute; errcode 130101
  means "too fast".
- Feishu (飞书/Lark): with "signature verification", `timestamp` (s) and `sign` go in the JSON body: sign =
  base64(HMAC-SHA256(key="timestamp\\nsecret", msg=empty)); 5 messages a second (100 a minute); code 9499 or
  11232 means "too often".

Webhook URLs carry the robot's access token: they and the secrets are never logged nor stored in the outbox's
error column.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import random
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from aiolimiter import AsyncLimiter

from bot.delivery import Rejected, RetryAfter, Transient
from conversations.events import Outbound, Reply, SendDocument, SendPhoto, Toast

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)

PLATFORMS = ("wecom", "dingtalk", "feishu")
# (messages, seconds) each platform allows one robot.
RATE: dict[str, tuple[float, float]] = {"wecom": (20, 60), "dingtalk": (20, 60), "feishu": (5, 1)}
# How long to wait when the platform says "too often" without saying for how long.
TOO_OFTEN_WAIT: dict[str, float] = {"wecom": 60, "dingtalk": 60, "feishu": 1}
MAX_BYTES: dict[str, int] = {"wecom": 2048, "dingtalk": 18000, "feishu": 18000}
_TOO_OFTEN = {"wecom": {45009}, "dingtalk": {130101}, "feishu": {9499, 11232}}
_BUSY = {-1}  # "system busy": try again


@dataclass(frozen=True)
class RobotConfig:
    platform: str
    url: str = ""  # the webhook, with its access token: a secret
    secret: str | None = None  # DingTalk / Feishu signing secret

    def __repr__(self) -> str:  # never print the URL or the secret
        return f"RobotConfig({self.platform!r}, signed={self.secret is not None})"


def configs_from(settings: Settings) -> list[RobotConfig]:
    """The robots configured in settings (EQA_WECOM_WEBHOOK_URL, EQA_DINGTALK_WEBHOOK_URL + EQA_DINGTALK_SECRET,
    EQA_FEISHU_WEBHOOK_URL + EQA_FEISHU_SECRET)."""

    def raw(value: Any) -> str | None:
        return value.get_secret_value() if value is not None else None

    found = []
    for platform in PLATFORMS:
        url = raw(getattr(settings, f"{platform}_webhook_url", None))
        if url:
            found.append(RobotConfig(platform, url, raw(getattr(settings, f"{platform}_secret", None))))
    return found


# -- signing ---------------------------------------------------------------------------------------------
def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk: HMAC-SHA256 keyed by the secret over "timestamp\\nsecret", base64, then URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode())


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu: HMAC-SHA256 keyed by "timestamp\\nsecret" over an empty message, base64."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _clip(text: str, max_bytes: int) -> str:
    data = text.encode()
    if len(data) <= max_bytes:
        return text
    return data[: max_bytes - 3].decode(errors="ignore") + "…"


def request_for(config: RobotConfig, text: str, *, now: float) -> tuple[str, dict[str, Any]]:
    """The URL and JSON body of one text message (`now` in seconds since the epoch)."""
    text = _clip(text, MAX_BYTES[config.platform])
    if config.platform == "wecom":
        return config.url, {"msgtype": "text", "text": {"content": text}}
    if config.platform == "dingtalk":
        url = config.url
        if config.secret:
            ms = int(now * 1000)
            url += ("&" if "?" in url else "?") + f"timestamp={ms}&sign={dingtalk_sign(config.secret, ms)}"
        return url, {"msgtype": "text", "text": {"content": text}}
    if config.platform == "feishu":
        body: dict[str, Any] = {"msg_type": "text", "content": {"text": text}}
        if config.secret:
            seconds = int(now)
            body = {"timestamp": str(seconds), "sign": feishu_sign(config.secret, seconds), **body}
        return config.url, body
    raise ValueError(f"unknown group-robot platform {config.platform!r}")


def text_of(action: Outbound) -> str | None:
    """What a robot can show of an action: the text of a message; files and edits are for the chat only."""
    if isinstance(action, Reply):
        return action.text
    if isinstance(action, SendDocument | SendPhoto) and action.caption:
        return action.caption
    return None


# -- one robot as a `bot.delivery.Sender` -------------------------------------------------------------------
class GroupRobotSender:
    """Posts text to one robot, within its rate, retrying network and server errors with backoff. Raises
    `RetryAfter` (too often), `Rejected` (misconfigured: wrong key, signature, keyword; retrying won't help)
    or `Transient` (still failing after the retries)."""

    def __init__(
        self,
        config: RobotConfig,
        *,
        client: httpx.AsyncClient | None = None,
        limiter: AsyncLimiter | None = None,
        clock: Callable[[], float] = time.time,
        attempts: int = 3,
        backoff: float = 1.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if config.platform not in PLATFORMS:
            raise ValueError(f"unknown group-robot platform {config.platform!r}")
        self.config = config
        self.platform = config.platform
        self.client = client or httpx.AsyncClient(timeout=10)
        self.limiter = limiter or AsyncLimiter(*RATE[config.platform])
        self.clock = clock
        self.attempts = attempts
        self.backoff = backoff
        self.sleep = sleep
        self.posts = 0

    async def send(self, action: Outbound) -> dict[str, Any]:
        text = text_of(action)
        if not text:
            return {"skipped": type(action).__name__}
        last: Transient | None = None
        for attempt in range(1, self.attempts + 1):
            await self.limiter.acquire()
            try:
                return await self._post(text)
            except Transient as exc:
                last = exc
                if attempt < self.attempts:
                    await self.sleep(self.backoff * 2 ** (attempt - 1) * random.uniform(0.8, 1.2))
        assert last is not None
        raise last

    async def answer(self, toast: Toast) -> None:
        return None  # robots have no buttons

    async def _post(self, text: str) -> dict[str, Any]:
        url, body = request_for(self.config, text, now=self.clock())
        self.posts += 1
        try:
            response = await self.client.post(url, json=body)
        except httpx.HTTPError as exc:
            # The exception's text may hold the URL (and so the token): only its kind goes on.
            raise Transient(f"{self.platform}: {type(exc).__name__}") from None
        if response.status_code == 429:
            raise RetryAfter(_retry_after(response, TOO_OFTEN_WAIT[self.platform]))
        if response.status_code >= 500:
            raise Transient(f"{self.platform}: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise Rejected(f"{self.platform}: HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            raise Transient(f"{self.platform}: an answer that is not JSON") from None
        code = answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
        message = str(answer.get("errmsg") or answer.get("msg") or answer.get("StatusMessage") or "")[:200]
        if code in (0, None):
            return {"platform": self.platform, "status": response.status_code}
        if code in _TOO_OFTEN[self.platform]:
            raise RetryAfter(TOO_OFTEN_WAIT[self.platform])
        if code in _BUSY:
            raise Transient(f"{self.platform}: busy ({code})")
        raise Rejected(f"{self.platform}: error {code} {message}".strip())

    async def close(self) -> None:
        await self.client.aclose()


def _retry_after(response: httpx.Response, default: float) -> float:
    with contextlib.suppress(TypeError, ValueError):
        return max(1.0, float(response.headers.get("retry-after")))
    return default
