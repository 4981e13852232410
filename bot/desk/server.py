"""The web desk's server: aiohttp with Jinja2 pages, the security around every request, and the wiring.

Every request passes, in order: the security headers (a strict Content-Security-Policy: scripts, styles and
images only from this server), the session (a signed cookie; the account row decides on every request, so a
disabled account or a changed password ends its sessions at once), the CSRF check of every POST, and the page's
own role check. Nothing personal goes in a URL: searches are posted, labs and documents are named by row id.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import jinja2
from aiohttp import web

from bot.app import App
from bot.desk.security import COOKIE, Session, Signer
from conversations.context import Actor, Ctx
from conversations.formatting import day, moment
from handlers import staff_desk
from handlers.staff_desk import DESK_PLATFORM
from storage.models import DeskAccount, utcnow

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PUBLIC = ("/login", "/static/", "/lang/")
LANG_COOKIE = "eqa_desk_lang"
PRE_COOKIE = "eqa_desk_pre"  # before sign-in: the login form's CSRF token is bound to it
FILE_TTL = 15 * 60
MAX_UPLOAD = 20 * 1024 * 1024
ROLE_RANK = {"reviewer": 1, "admin": 2}


@dataclass
class _File:
    account_id: int
    name: str
    mime: str
    data: bytes
    at: float


@dataclass
class Desk:
    """What every page handler needs: the app (database, services), the signer, the templates."""

    app: App
    signer: Signer
    secure: bool
    review_platform: str | None
    env: jinja2.Environment
    files: dict[str, _File] = field(default_factory=dict)

    def keep_file(self, account: DeskAccount, name: str, mime: str, data: bytes) -> str:
        """A generated file (a problems report, a codes sheet) held for its account for a few minutes."""
        now = time.time()
        for token in [k for k, f in self.files.items() if now - f.at > FILE_TTL]:
            del self.files[token]
        token = secrets.token_urlsafe(18)
        self.files[token] = _File(account.id, name, mime, data, now)
        return token

    def actor(self, account: DeskAccount) -> Actor:
        """The desk acts as the person: a linked chat identity makes decisions and audit entries name the same
        reviewer as in chat."""
        if account.platform and account.user_id:
            platform, user_id = account.platform, account.user_id
        else:
            platform, user_id = DESK_PLATFORM, account.name
        return Actor(
            platform=platform,
            user_id=user_id,
            chat_id=user_id,
            name=account.name,
            is_admin=account.role == "admin",
            is_reviewer=account.role in ROLE_RANK,
        )


DESK_KEY = web.AppKey("desk", Desk)
ACCOUNT = web.RequestKey("account", DeskAccount)
T = TypeVar("T")
SESSION = web.RequestKey("session", Session)
PRE_CSRF = web.RequestKey("pre_csrf", str)


def desk_of(request: web.Request) -> Desk:
    return request.app[DESK_KEY]


async def run_as_account(
    request: web.Request,
    fn: Callable[[Ctx], Awaitable[T]],
    *,
    upload: tuple[bytes, str] | None = None,
    prepared: dict[str, Any] | None = None,
) -> staff_desk.Ran[T]:
    """Run a chat-desk service as the signed-in account (its linked chat identity), in its language."""
    desk = desk_of(request)
    return await staff_desk.run_as(
        desk.app.db,
        desk.app.services,
        desk.actor(request[ACCOUNT]),
        lang_of(request),
        fn,
        upload=upload,
        prepared=prepared,
    )


def lang_of(request: web.Request) -> str:
    return "en" if request.cookies.get(LANG_COOKIE) == "en" else "zh"


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    desk = desk_of(request)
    lang = lang_of(request)
    catalog = desk.app.services.catalog
    tz = desk.app.campaign.tz
    account: DeskAccount | None = request.get(ACCOUNT)
    session: Session | None = request.get(SESSION)

    def t(key: str, **args: Any) -> str:
        return catalog.t(lang, key, **args)

    def when(value: datetime | None) -> str:
        return moment(value, lang, tz) if value else "—"

    def date_(value: Any) -> str:
        return day(value, lang) if value else "—"

    html = desk.env.get_template(template).render(
        t=t,
        when=when,
        day=date_,
        lang=lang,
        account=account,
        is_admin=account is not None and account.role == "admin",
        csrf=desk.signer.csrf_token(session) if session else request.get(PRE_CSRF, ""),
        path=request.path,
        campaign=desk.app.campaign,
        **context,
    )
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def require(role: str) -> Callable[[Handler], Handler]:
    """Every page names the least role it needs; the check runs on the server for every request."""

    def wrap(fn: Handler) -> Handler:
        async def inner(request: web.Request) -> web.StreamResponse:
            account: DeskAccount | None = request.get(ACCOUNT)
            if account is None:
                raise _to_login(request)
            if ROLE_RANK.get(account.role, 0) < ROLE_RANK[role]:
                log.warning("desk: %s refused %s (needs %s)", account.name, request.path, role)
                return render(request, "refused.html", status=403)
            return await fn(request)

        inner.__name__ = fn.__name__
        return inner

    return wrap


def _to_login(request: web.Request) -> web.HTTPException:
    target = request.path if request.method == "GET" else "/"
    return web.HTTPSeeOther("/login?next=" + quote(target, safe="/"))


def safe_next(value: str | None) -> str:
    """Only a path on this server (no scheme, no host, no //), so a link cannot send a person elsewhere."""
    if not value or not value.startswith("/") or value.startswith("//"):
        return "/queue"
    parts = urlsplit(value)
    return parts.path if not parts.netloc and not parts.scheme else "/queue"


@web.middleware
async def headers_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _secure_headers(request, exc)
        raise
    _secure_headers(request, response)
    return response


def _secure_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    if not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    desk = desk_of(request)
    session = desk.signer.load(request.cookies.get(COOKIE))
    if session is not None:
        async with desk.app.db.reading() as s:
            account = await s.get(DeskAccount, session.account_id)
            if account is not None and account.user_id and await _revoked_in_chat(s, account):
                account = None
        if account is not None and account.active and account.session_epoch == session.epoch:
            request[ACCOUNT] = account
            request[SESSION] = session
    if ACCOUNT not in request:
        pre = request.cookies.get(PRE_COOKIE) or ""
        request[PRE_CSRF] = desk.signer.csrf_token(Session(0, 0, 0, pre)) if pre else ""
    if request.method == "POST":
        token = request.headers.get("X-CSRF-Token")
        if token is None:
            form = await request.post()
            value = form.get("csrf")
            token = value if isinstance(value, str) else None
        if SESSION in request:
            ok = desk.signer.csrf_ok(request[SESSION], token)
        else:
            ok = bool(request[PRE_CSRF]) and token == request[PRE_CSRF]
        if not ok:
            log.warning("desk: POST %s without a valid CSRF token", request.path)
            return web.Response(status=403, text="403: CSRF token missing or invalid", content_type="text/plain")
    elif ACCOUNT not in request and not request.path.startswith(PUBLIC):
        raise _to_login(request)
    return await handler(request)


async def _revoked_in_chat(s: Any, account: DeskAccount) -> bool:
    """One set of people: a linked account whose chat identity an admin revoked (/revoke) is out of the desk too."""
    from sqlalchemy import select

    from storage.models import Staff

    active = await s.scalar(
        select(Staff.active).where(Staff.platform == account.platform, Staff.user_id == account.user_id)
    )
    return active is False


def set_session(desk: Desk, response: web.StreamResponse, session: Session | None) -> None:
    if session is None:
        response.del_cookie(COOKIE, path="/")
        return
    response.set_cookie(
        COOKIE, desk.signer.dump(session), httponly=True, samesite="Strict", secure=desk.secure, path="/"
    )


def ensure_pre_cookie(request: web.Request) -> str | None:
    """The login form's CSRF token is bound to a random cookie set before anyone signs in; returns the value
    of a cookie still to be set (None when the browser has one)."""
    if request.cookies.get(PRE_COOKIE):
        return None
    value = secrets.token_urlsafe(16)
    request[PRE_CSRF] = desk_of(request).signer.csrf_token(Session(0, 0, 0, value))
    return value


def set_pre_cookie(request: web.Request, response: web.StreamResponse, value: str) -> None:
    secure = desk_of(request).secure
    response.set_cookie(PRE_COOKIE, value, httponly=True, samesite="Strict", secure=secure, path="/")


def make_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("bot.desk", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    return env


def make_desk(
    app: App, *, secret: bytes, public_url: str | None = None, review_platform: str | None = "telegram"
) -> web.Application:
    from bot.desk import admin_pages, pages

    desk = Desk(
        app=app,
        signer=Signer(secret),
        secure=bool(public_url and public_url.startswith("https://")),
        review_platform=review_platform,
        env=make_env(),
    )
    web_app = web.Application(middlewares=[headers_middleware, session_middleware], client_max_size=MAX_UPLOAD)
    web_app[DESK_KEY] = desk
    pages.setup(web_app)
    admin_pages.setup(web_app)
    return web_app


def now() -> datetime:
    return utcnow()


async def serve(app: App, *, port: int | None = None) -> web.AppRunner:
    """Start the desk on the app's settings (EQA_DESK_LISTEN, EQA_DESK_PORT); the caller cleans the runner up."""
    from pathlib import Path

    from bot.desk.security import load_secret

    settings = app.settings
    secret_value = settings.desk_secret.get_secret_value() if settings.desk_secret else None
    secret = load_secret(secret_value, Path(settings.data_dir) / ".desk-secret")
    runner = web.AppRunner(make_desk(app, secret=secret, public_url=settings.public_url), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.desk_listen, port or settings.desk_port).start()
    return runner


async def background(app: App, runner: object = None) -> None:
    """`eqa-bot run` serves the desk beside the transport when EQA_DESK_IN_RUN=1 (one process for a small
    centre); otherwise this job does nothing."""
    import asyncio

    if not app.settings.desk_in_run:
        return
    desk_runner = await serve(app)
    log.info("desk: serving on %s:%s", app.settings.desk_listen, app.settings.desk_port)
    try:
        await asyncio.Event().wait()
    finally:
        await desk_runner.cleanup()
