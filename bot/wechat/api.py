"""The WeChat API over httpx's async client (wechatpy's own client is synchronous and would block the loop).

- access_token from the stable-token API, kept in the database so every worker shares one; fetched again
  a few minutes before it expires and at once after 40001/42001 (then the call is tried once more).
- The token is a secret: it travels in the query string (`?access_token=`), which httpx's request log
  would print, so httpx's and httpcore's loggers are kept at WARNING and our own errors name no URL.
- Errors become the delivery errors the outbox understands: 45009 (frequency) waits like a 429, 45015 and
  45047 (window, quota) and 43004 (unfollowed) are `OutOfWindow`/`Unfollowed`, network and 5xx `Transient`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx

from bot.delivery import Rejected, RetryAfter, Transient
from storage.db import Database
from storage.models import WeChatToken

log = logging.getLogger(__name__)
for _noisy in ("httpx", "httpcore"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)

REFRESH_BEFORE = timedelta(minutes=5)
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
FREQUENCY_WAIT = 60.0  # seconds to wait after 45009 (WeChat names no retry_after)


class WeChatError(Rejected):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"WeChat error {code}: {message}")
        self.code = code


class OutOfWindow(WeChatError):
    """45015 (no window) or 45047 (window used up): the person must write first."""


class Unfollowed(WeChatError):
    """43004: the person no longer follows the account."""


def _error(code: int, message: str) -> Exception:
    if code in (45015, 45047):
        return OutOfWindow(code, message)
    if code == 43004:
        return Unfollowed(code, message)
    if code == 45009:
        return RetryAfter(FREQUENCY_WAIT)
    if code == -1:  # "system busy"
        return Transient(f"WeChat busy: {message}")
    return WeChatError(code, message)


class WeChatAPI:
    def __init__(
        self,
        db: Database,
        app_id: str,
        secret: str,
        root: str = "https://api.weixin.qq.com",
        *,
        clock: Callable[[], datetime],
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.db = db
        self.app_id = app_id
        self._secret = secret
        self.root = root.rstrip("/")
        self.clock = clock
        self.client = client or httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))
        self._lock = asyncio.Lock()
        self._cached: tuple[str, datetime] | None = None

    async def close(self) -> None:
        await self.client.aclose()

    # -- the token ------------------------------------------------------------------------------------------
    async def token(self, *, stale: str | None = None) -> str:
        """A valid access_token. `stale`: the token WeChat just refused; fetch a new one unless another
        worker already has."""
        now = self.clock()
        if self._cached and self._cached[0] != stale and self._cached[1] - REFRESH_BEFORE > now:
            return self._cached[0]
        async with self._lock:
            async with self.db.reading() as s:
                row = await s.get(WeChatToken, self.app_id)
                if row is not None and row.token != stale and row.expires_at - REFRESH_BEFORE > now:
                    self._cached = (row.token, row.expires_at)
                    return row.token
            token, expires = await self._fetch(force=stale is not None)
            async with self.db.transaction() as s:
                row = await s.get(WeChatToken, self.app_id)
                if row is None:
                    s.add(WeChatToken(app_id=self.app_id, token=token, expires_at=expires, fetched_at=now))
                else:
                    row.token, row.expires_at, row.fetched_at = token, expires, now
            self._cached = (token, expires)
            log.info("WeChat access token refreshed; valid until %s", expires.isoformat())
            return token

    async def _fetch(self, *, force: bool) -> tuple[str, datetime]:
        body = {"grant_type": "client_credential", "appid": self.app_id, "secret": self._secret}
        if force:
            body["force_refresh"] = True  # type: ignore[assignment]
        data = await self._request("POST", "/cgi-bin/stable_token", json=body)
        return str(data["access_token"]), self.clock() + timedelta(seconds=int(data.get("expires_in", 7200)))

    # -- calls ------------------------------------------------------------------------------------------
    async def _request(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        try:
            response = await self.client.request(method, self.root + path, **kw)
        except httpx.HTTPError as exc:
            # The URL may hold the token: name the path only.
            raise Transient(f"{path}: {type(exc).__name__}") from None
        if response.status_code >= 500:
            raise Transient(f"{path}: HTTP {response.status_code}")
        if "json" not in response.headers.get("content-type", "") and response.status_code == 200:
            return {"_bytes": response.content, "_type": response.headers.get("content-type", "")}
        try:
            data = response.json()
        except ValueError:
            raise Transient(f"{path}: HTTP {response.status_code}, not JSON") from None
        code = int(data.get("errcode") or 0)
        if code:
            raise _error(code, str(data.get("errmsg", "")))
        return dict(data)

    async def call(self, method: str, path: str, *, params: dict[str, str] | None = None, **kw: Any) -> dict[str, Any]:
        """An authenticated call; a refused token (40001/42001) is refreshed and the call tried once more."""
        token = await self.token()
        for attempt in (1, 2):
            try:
                return await self._request(method, path, params={**(params or {}), "access_token": token}, **kw)
            except WeChatError as exc:
                if exc.code not in TOKEN_ERRORS or attempt == 2:
                    raise
                log.info("WeChat refused the access token (%s); fetching a new one", exc.code)
                token = await self.token(stale=token)
        raise AssertionError("unreachable")

    async def post_json(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.call("POST", path, content=_json(body), headers={"Content-Type": "application/json"})

    async def send_custom(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self.post_json("/cgi-bin/message/custom/send", body)

    async def send_template(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self.post_json("/cgi-bin/message/template/send", body)

    async def upload_image(self, data: bytes, filename: str = "image.jpg", mime: str = "image/jpeg") -> str:
        answer = await self.call(
            "POST", "/cgi-bin/media/upload", params={"type": "image"}, files={"media": (filename, data, mime)}
        )
        return str(answer["media_id"])

    async def get_media(self, media_id: str) -> bytes:
        answer = await self.call("GET", "/cgi-bin/media/get", params={"media_id": media_id})
        if "_bytes" not in answer:
            raise Rejected("media/get answered no file")
        return bytes(answer["_bytes"])

    async def create_qrcode(self, scene: str, *, expire_seconds: int | None = 2592000) -> dict[str, Any]:
        """A parametric QR code carrying `scene` (≤ 64 characters); temporary unless `expire_seconds` is None."""
        if not 1 <= len(scene) <= 64:
            raise ValueError("a QR scene holds 1 to 64 characters")
        body: dict[str, Any] = {"action_info": {"scene": {"scene_str": scene}}}
        if expire_seconds is None:
            body["action_name"] = "QR_LIMIT_STR_SCENE"
        else:
            body.update(action_name="QR_STR_SCENE", expire_seconds=expire_seconds)
        return await self.post_json("/cgi-bin/qrcode/create", body)

    async def create_menu(self, menu: dict[str, Any]) -> dict[str, Any]:
        return await self.post_json("/cgi-bin/menu/create", menu)


def _json(body: dict[str, Any]) -> bytes:
    # UTF-8 as it is: WeChat counts a text's bytes, and \\u escapes would triple them.
    return json.dumps(body, ensure_ascii=False).encode()
