"""A strict fake of the WeChat official-account API on 127.0.0.1 (aiohttp), for tests and benchmarks.

What it enforces, as WeChat documents it:
- access tokens from the stable-token API (`POST /cgi-bin/stable_token`): 7,200 s; a wrong app id or
  secret is refused; a token that was invalidated answers 40001, one past its expiry 42001;
- customer-service messages (`message/custom/send`): text under 2,048 bytes, msgmenu, image by media id;
  the reply windows since June 2023 — after a person's message 5 sends within 48 h, after a menu click,
  a follow or a QR scan 3 within 1 minute; outside any window 45015, the window's sends used up 45047;
  an unfollowed person 43004; an unknown openid 40003;
- template messages (`message/template/send`): only known template ids, only to followers;
- temporary media (`media/upload`, `media/get`), parametric QR codes (`qrcode/create`, scene_str ≤ 64),
  the custom menu (`menu/create`: 3 top-level buttons, 5 under each, name and key lengths);
- error injection: `fail_next(method, errcode)` answers the next call of `method` with that error.

The clock is injectable (`now`), so a test can move past a window.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN_TTL = 7200
MESSAGE_WINDOW = 48 * 3600
MESSAGE_QUOTA = 5
EVENT_WINDOW = 60
EVENT_QUOTA = 3
MAX_TEXT_BYTES = 2048

ERRORS = {
    40001: "invalid credential, access_token is invalid or not latest",
    40003: "invalid openid",
    40013: "invalid appid",
    40037: "invalid template_id",
    40125: "invalid appsecret",
    41001: "access_token missing",
    42001: "access_token expired",
    43004: "require subscribe",
    44002: "empty post data",
    45002: "content size out of limit",
    45009: "reach max api daily quota limit",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    47001: "data format error",
    40007: "invalid media_id",
    65316: "menu button count out of limit",
}


@dataclass
class Follower:
    openid: str
    following: bool = True
    message_at: float | None = None
    message_used: int = 0
    event_at: float | None = None
    event_used: int = 0


@dataclass
class Sent:
    """A message the bot sent a person, as they see it."""

    openid: str
    kind: str  # text | msgmenu | image | template
    body: dict[str, Any]
    at: float
    window: str = ""  # "message" | "event" | "template"

    @property
    def text(self) -> str:
        if self.kind == "text":
            return str(self.body["text"]["content"])
        if self.kind == "msgmenu":
            menu = self.body["msgmenu"]
            items = "\n".join(i["content"] for i in menu.get("list", []))
            return "\n".join(x for x in (menu.get("head_content", ""), items, menu.get("tail_content", "")) if x)
        if self.kind == "template":
            return "\n".join(str(v.get("value", "")) for v in self.body.get("data", {}).values())
        return ""

    @property
    def items(self) -> list[dict[str, str]]:
        return list(self.body["msgmenu"].get("list", [])) if self.kind == "msgmenu" else []


@dataclass
class FakeWeChat:
    app_id: str = "wx-test-app"
    app_secret: str = "test-app-secret"
    templates: set[str] = field(default_factory=lambda: {"TPL_RESULT", "TPL_REMINDER"})
    now: Callable[[], float] = time.time
    followers: dict[str, Follower] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    refused: list[tuple[str, int]] = field(default_factory=list)  # (method, errcode) answered
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # media_id -> (bytes, type)
    qrcodes: dict[str, str] = field(default_factory=dict)  # ticket -> scene_str
    menu: dict[str, Any] | None = None
    calls: list[str] = field(default_factory=list)
    token_fetches: int = 0
    picurl_hits: int = 0
    _tokens: dict[str, float] = field(default_factory=dict)  # token -> expires at
    _invalid: set[str] = field(default_factory=set)
    _inject: dict[str, list[int]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    _runner: web.AppRunner | None = None
    port: int = 0

    # -- running ---------------------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_post("/cgi-bin/stable_token", self._stable_token)
        app.router.add_post("/cgi-bin/message/custom/send", self._custom_send)
        app.router.add_post("/cgi-bin/message/template/send", self._template_send)
        app.router.add_post("/cgi-bin/media/upload", self._media_upload)
        app.router.add_get("/cgi-bin/media/get", self._media_get)
        app.router.add_post("/cgi-bin/qrcode/create", self._qrcode)
        app.router.add_post("/cgi-bin/menu/create", self._menu_create)
        app.router.add_get("/picurl/{name}", self._picurl)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- what tests do -----------------------------------------------------------------------------------
    def fail_next(self, method: str, errcode: int, times: int = 1) -> None:
        self._inject.setdefault(method, []).extend([errcode] * times)

    def invalidate_tokens(self) -> None:
        """Every token handed out so far answers 40001 (e.g. another tool fetched a token the old way)."""
        self._invalid.update(self._tokens)

    def expire_tokens(self) -> None:
        self._tokens = dict.fromkeys(self._tokens, 0.0)

    def follower(self, openid: str) -> Follower:
        return self.followers.setdefault(openid, Follower(openid))

    def interacted(self, openid: str, window: str | None) -> None:
        """The person did something in the chat: a message opens the 48 h window, a click/follow/scan the
        1 minute one (each restarts its count)."""
        f = self.follower(openid)
        now = self.now()
        if window == "message":
            f.message_at, f.message_used = now, 0
        elif window == "event":
            f.event_at, f.event_used = now, 0

    def inbox(self, openid: str) -> list[Sent]:
        return [s for s in self.sent if s.openid == openid]

    def add_media(self, data: bytes, kind: str = "image") -> str:
        media_id = f"MEDIA_{secrets.token_hex(8)}"
        self.media[media_id] = (data, kind)
        return media_id

    # -- helpers ----------------------------------------------------------------------------------------
    def _error(self, method: str, code: int) -> web.Response:
        self.refused.append((method, code))
        return web.json_response({"errcode": code, "errmsg": ERRORS.get(code, "error")})

    def _check(self, request: web.Request, method: str) -> web.Response | None:
        self.calls.append(method)
        injected = self._inject.get(method)
        if injected:
            return self._error(method, injected.pop(0))
        token = request.query.get("access_token")
        if not token:
            return self._error(method, 41001)
        if token in self._invalid or token not in self._tokens:
            return self._error(method, 40001)
        if self._tokens[token] <= self.now():
            return self._error(method, 42001)
        return None

    async def _json(self, request: web.Request) -> dict[str, Any] | None:
        try:
            body = await request.json()
        except Exception:
            return None
        return body if isinstance(body, dict) else None

    # -- endpoints ----------------------------------------------------------------------------------------
    async def _stable_token(self, request: web.Request) -> web.Response:
        self.calls.append("stable_token")
        if (injected := self._inject.get("stable_token")) and injected:
            return self._error("stable_token", injected.pop(0))
        body = await self._json(request) or {}
        if body.get("grant_type") != "client_credential":
            return self._error("stable_token", 47001)
        if body.get("appid") != self.app_id:
            return self._error("stable_token", 40013)
        if body.get("secret") != self.app_secret:
            return self._error("stable_token", 40125)
        live = [t for t, exp in self._tokens.items() if exp > self.now() and t not in self._invalid]
        if live and not body.get("force_refresh"):
            token = live[-1]  # the stable token: the same one until it expires
        else:
            token = f"ACCESS_{secrets.token_hex(12)}"
            self._tokens[token] = self.now() + TOKEN_TTL
        self.token_fetches += 1
        return web.json_response({"access_token": token, "expires_in": int(self._tokens[token] - self.now())})

    async def _custom_send(self, request: web.Request) -> web.Response:
        method = "custom_send"
        if (refused := self._check(request, method)) is not None:
            return refused
        body = await self._json(request)
        if body is None:
            return self._error(method, 44002)
        openid, kind = str(body.get("touser", "")), str(body.get("msgtype", ""))
        if openid not in self.followers:
            return self._error(method, 40003)
        if kind == "text":
            if not isinstance(body.get("text"), dict) or not body["text"].get("content"):
                return self._error(method, 44002)
            if len(str(body["text"]["content"]).encode()) > MAX_TEXT_BYTES:
                return self._error(method, 45002)
        elif kind == "msgmenu":
            menu = body.get("msgmenu")
            if not isinstance(menu, dict) or not isinstance(menu.get("list"), list) or not menu["list"]:
                return self._error(method, 47001)
            if any(not {"id", "content"} <= set(i) for i in menu["list"]):
                return self._error(method, 47001)
            size = sum(len(str(menu.get(k, "")).encode()) for k in ("head_content", "tail_content"))
            if size + sum(len(str(i["content"]).encode()) for i in menu["list"]) > MAX_TEXT_BYTES:
                return self._error(method, 45002)
        elif kind == "image":
            if (body.get("image") or {}).get("media_id") not in self.media:
                return self._error(method, 40007)
        else:
            return self._error(method, 47001)
        f = self.followers[openid]
        if not f.following:
            return self._error(method, 43004)
        now = self.now()
        event_open = f.event_at is not None and now - f.event_at <= EVENT_WINDOW
        message_open = f.message_at is not None and now - f.message_at <= MESSAGE_WINDOW
        if event_open and f.event_used < EVENT_QUOTA:
            f.event_used += 1
            window = "event"
        elif message_open and f.message_used < MESSAGE_QUOTA:
            f.message_used += 1
            window = "message"
        elif event_open or message_open:
            return self._error(method, 45047)
        else:
            return self._error(method, 45015)
        self.sent.append(Sent(openid, kind, body, now, window))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _template_send(self, request: web.Request) -> web.Response:
        method = "template_send"
        if (refused := self._check(request, method)) is not None:
            return refused
        body = await self._json(request)
        if body is None:
            return self._error(method, 44002)
        openid = str(body.get("touser", ""))
        if body.get("template_id") not in self.templates:
            return self._error(method, 40037)
        if openid not in self.followers:
            return self._error(method, 40003)
        if not self.followers[openid].following:
            return self._error(method, 43004)
        if not isinstance(body.get("data"), dict) or not body["data"]:
            return self._error(method, 47001)
        self.sent.append(Sent(openid, "template", body, self.now(), "template"))
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": next(self._ids)})

    async def _media_upload(self, request: web.Request) -> web.Response:
        method = "media_upload"
        if (refused := self._check(request, method)) is not None:
            return refused
        kind = request.query.get("type")
        if kind not in ("image", "voice", "video", "thumb"):
            return self._error(method, 40004)
        reader = await request.multipart()
        part = await reader.next()
        if part is None or getattr(part, "name", None) != "media":
            return self._error(method, 41005)
        data = await part.read()  # type: ignore[union-attr]
        if kind == "image" and (len(data) > 10 * 1024 * 1024 or not data.startswith((b"\xff\xd8", b"\x89PNG"))):
            return self._error(method, 40005)
        media_id = self.add_media(bytes(data), kind)
        return web.json_response({"type": kind, "media_id": media_id, "created_at": int(self.now())})

    async def _media_get(self, request: web.Request) -> web.StreamResponse:
        method = "media_get"
        if (refused := self._check(request, method)) is not None:
            return refused
        found = self.media.get(request.query.get("media_id", ""))
        if found is None:
            return self._error(method, 40007)
        return web.Response(body=found[0], content_type="image/jpeg")

    async def _picurl(self, request: web.Request) -> web.Response:
        self.picurl_hits += 1  # the bot must never fetch a PicUrl
        return web.Response(status=404)

    async def _qrcode(self, request: web.Request) -> web.Response:
        method = "qrcode_create"
        if (refused := self._check(request, method)) is not None:
            return refused
        body = await self._json(request) or {}
        if body.get("action_name") not in ("QR_STR_SCENE", "QR_LIMIT_STR_SCENE"):
            return self._error(method, 47001)
        scene = str(((body.get("action_info") or {}).get("scene") or {}).get("scene_str", ""))
        if not 1 <= len(scene) <= 64:
            return self._error(method, 47001)
        ticket = f"TICKET_{secrets.token_hex(10)}"
        self.qrcodes[ticket] = scene
        answer: dict[str, Any] = {"ticket": ticket, "url": f"http://weixin.qq.com/q/{ticket[-12:]}"}
        if body["action_name"] == "QR_STR_SCENE":
            answer["expire_seconds"] = min(int(body.get("expire_seconds") or 60), 2592000)
        return web.json_response(answer)

    async def _menu_create(self, request: web.Request) -> web.Response:
        method = "menu_create"
        if (refused := self._check(request, method)) is not None:
            return refused
        body = await self._json(request) or {}
        buttons = body.get("button")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            return self._error(method, 65316)
        for top in buttons:
            if len(str(top.get("name", "")).encode()) > 16:
                return self._error(method, 40018)
            subs = top.get("sub_button")
            if subs is not None:
                if not 1 <= len(subs) <= 5:
                    return self._error(method, 65316)
                items = subs
            else:
                items = [top]
            for item in items:
                if item is not top and len(str(item.get("name", "")).encode()) > 60:
                    return self._error(method, 40018)
                if item.get("type") == "click" and not 0 < len(str(item.get("key", "")).encode()) <= 128:
                    return self._error(method, 40019)
                if item.get("type") not in ("click", "view"):
                    return self._error(method, 40016)
        self.menu = body
        return web.json_response({"errcode": 0, "errmsg": "ok"})
