"""`eqa-bot run --transport wechat`: the official account's server URL (aiohttp), on the same core.

One POST: checked (bot.wechat.protocol: signature, msg_signature, clock skew, app id, XML) → the neutral event
→ `core.handle` in one transaction, which also opens the person's reply window (so a crash after the answer
loses nothing, and a redelivery is a duplicate) → "success" within WeChat's 5 seconds → the replies, merged,
as customer-service messages (bot.wechat.sender). What cannot go now (no window left, WeChat away) stays in
the outbox for the WeChat outbox worker, which shares the delivery path and settle policy of every platform.

Each person's events run in order; different people concurrently. WeChat retries a request it got no answer
to within 5 s: a retry of an event still in hand waits for the same commit instead of running twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiohttp import web
from wechatpy.replies import TextReply

from bot.app import App
from bot.delivery import Gate, Rejected, Transient
from bot.delivery.liveness import fast_path_name, release_dead_claims
from bot.delivery.policy import Job
from bot.delivery.policy import settle as settle_outcome
from bot.delivery.worker import OutboxWorker, WorkerConfig
from bot.wechat import protocol, window
from bot.wechat.api import WeChatAPI
from bot.wechat.links import LinkSigner
from bot.wechat.protocol import PLATFORM, Keys, Other, Refused
from bot.wechat.sender import CURRENT_ROW, TurnResult, WeChatSender
from conversations.events import (
    FileRef,
    Inbound,
    Outbound,
    Outcome,
    Reply,
    SendAlbum,
    SendDocument,
    SendPhoto,
    to_payload,
)
from storage.models import OutboxMessage, utcnow
from storage.repos import outbox as outbox_repo
from storage.repos.conversations import claim_update

log = logging.getLogger(__name__)

ANSWER_WITHIN = 4.5  # WeChat gives up after 5 s (and retries): answer before, committed or not
RETRY_LATER = timedelta(seconds=15)


@dataclass
class Options:
    host: str = "127.0.0.1"
    port: int = 8080
    path: str = "/wechat"
    background: list[Callable[[App, Any], Awaitable[None]]] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    server: WeChatServer | None = None  # set by serve() (tests and benchmarks read its port)
    worker: WorkerConfig | None = None


def keys_from(app: App) -> Keys:
    s = app.settings
    if not s.wechat_app_id or s.wechat_token is None or not s.wechat_token.get_secret_value():
        raise ValueError("the WeChat transport needs WECHAT_APP_ID and WECHAT_TOKEN (and WECHAT_APP_SECRET)")
    aes = s.wechat_encoding_aes_key.get_secret_value() if s.wechat_encoding_aes_key else ""
    if aes and len(aes) != 43:
        raise ValueError("WECHAT_ENCODING_AES_KEY has 43 characters (the MP console's EncodingAESKey)")
    return Keys(s.wechat_app_id, s.wechat_token.get_secret_value(), aes or None)


def make_sender(app: App, api: WeChatAPI | None = None) -> WeChatSender:
    s = app.settings
    secret = s.wechat_app_secret.get_secret_value() if s.wechat_app_secret else ""
    if not secret:
        raise ValueError("the WeChat transport needs WECHAT_APP_SECRET")
    clock = app.services.clock.now
    api = api or WeChatAPI(app.db, s.wechat_app_id or "", secret, s.wechat_api_base_url, clock=clock)
    token = s.wechat_token.get_secret_value() if s.wechat_token else ""
    links = LinkSigner((secret + "\0" + token).encode(), s.public_url or f"http://{s.webhook_listen}:{s.webhook_port}")
    return WeChatSender(
        api,
        app.db,
        app.services.store,
        links,
        app.services.catalog,
        clock,
        template_result=s.wechat_template_result,
        template_reminder=s.wechat_template_reminder,
    )


class WeChatServer:
    def __init__(self, app: App, keys: Keys, sender: WeChatSender, options: Options | None = None) -> None:
        self.app = app
        self.keys = keys
        self.sender = sender
        self.options = options or Options()
        self.clock = app.services.clock.now
        # The fast path is an outbox worker of its own: this turn's rows are written claimed by it, marked on
        # the wire before each message goes, and settled by the shared policy (bot.delivery).
        self.fast = WeChatOutboxWorker(app.db, sender, None, name=fast_path_name(), config=self.options.worker)
        self.claimant = self.fast.name
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._in_flight: dict[str, asyncio.Future[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self.port = self.options.port
        self.refused = 0
        self.handled = 0

    # -- the HTTP side -------------------------------------------------------------------------------------
    def web_app(self) -> web.Application:
        app = web.Application(client_max_size=protocol.MAX_BODY)
        path = self.options.path
        app.router.add_get(path, self._verify)
        app.router.add_post(path, self._post)
        app.router.add_get(self.sender.links.path + "/{token}/{name}", self._file)
        app.router.add_get("/healthz", self._health)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.web_app(), access_log=None, shutdown_timeout=5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.options.host, self.options.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        mode = "safe mode (encrypted)" if self.keys.safe else "plaintext mode"
        log.info("WeChat server URL listening on %s:%s%s, %s", self.options.host, self.port, self.options.path, mode)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=10)
        await self.fast.flush()

    async def _verify(self, request: web.Request) -> web.Response:
        try:
            echo = protocol.verify_url(self.keys, request.query, self.clock())
        except Refused as exc:
            return self._refuse(request, exc)
        return web.Response(text=echo)

    def _refuse(self, request: web.Request, exc: Refused) -> web.Response:
        self.refused += 1
        log.warning("WeChat endpoint: a request from %s was refused (%s): %s", request.remote, exc.status, exc)
        return web.Response(status=exc.status, text="")

    async def _post(self, request: web.Request) -> web.Response:
        if (request.content_length or 0) > protocol.MAX_BODY:
            return self._refuse(request, Refused(413, "body too large"))  # refused unread
        try:
            body = await request.content.read(protocol.MAX_BODY + 1)
            message = protocol.open_post(self.keys, request.query, body, self.clock())
        except Refused as exc:
            return self._refuse(request, exc)
        menu = await window.menu(self.app.db, str(message.source)) if message.type == "text" else None
        event = protocol.to_event(message, menu)
        if isinstance(event, Other):
            reply = await self._other(event, message)
            if reply:
                xml = TextReply(message=message, content=reply).render()
                return web.Response(
                    text=protocol.seal_reply(self.keys, xml, request.query.get("nonce", ""), self.clock())
                )
            return web.Response(text="success")
        committed = self.submit(event, protocol.opens(message))
        try:
            await asyncio.wait_for(asyncio.shield(committed), ANSWER_WITHIN)
        except TimeoutError:
            # Not committed in time: no answer, so WeChat retries; the retry joins this same event.
            log.warning("update %s: not committed within %.1fs; WeChat will retry", event.update_id, ANSWER_WITHIN)
            return web.Response(status=503)
        except asyncio.CancelledError:
            return web.Response(status=503)
        return web.Response(text="success")

    async def _other(self, event: Other, message: Any) -> str | None:
        """An unfollow, or a kind the bot cannot use (a passive reply: it costs no customer-service send)."""
        if event.what == "ignore":
            return None
        async with self.app.db.transaction() as s:
            if not await claim_update(s, PLATFORM, event.update_id, event.openid):
                return None
            if event.what == "unfollow":
                await window.unfollowed(s, event.openid)
                await outbox_repo.deactivate_chat(s, PLATFORM, event.openid, None)
                return None
            await window.opened(s, event.openid, "message", self.clock())
            lang = await _language(s, event.openid)
        return self.app.services.catalog.t(lang, "wx-unsupported")

    async def _file(self, request: web.Request) -> web.Response:
        linked = self.sender.links.open(request.match_info["token"], self.clock())
        data: bytes | None = None
        if linked is not None:
            try:
                data = await asyncio.to_thread(self.app.services.store.get, linked.key)
            except Exception:
                log.info("a file link named a document that is gone or unreadable")
        if linked is None or data is None:
            t = self.app.services.catalog.t
            page = (
                "<!doctype html><html lang=zh><meta charset=utf-8><meta name=viewport content='width=device-width'>"
                f"<title>{html.escape(t('zh', 'wx-link-expired-title'))}</title>"
                f"<h1>{html.escape(t('zh', 'wx-link-expired-title'))}</h1><p>{html.escape(t('zh', 'wx-link-expired'))}"
                f"<p lang=en>{html.escape(t('en', 'wx-link-expired'))}</html>"
            )
            return web.Response(status=403, text=page, content_type="text/html", charset="utf-8")
        return web.Response(
            body=data,
            content_type=linked.mime,
            headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
        )

    async def _health(self, _request: web.Request) -> web.Response:
        ok = await self.app.db.ping()
        return web.json_response({"database": ok}, status=200 if ok else 503)

    # -- one person's events, in order ------------------------------------------------------------------
    def submit(self, event: Inbound, opens: str | None) -> asyncio.Future[None]:
        if (fut := self._in_flight.get(event.update_id)) is not None:
            return fut  # WeChat's retry of an event still in hand
        committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._in_flight[event.update_id] = committed
        prev = self._tails.get(event.chat_id)
        task = asyncio.create_task(self._run(event, opens, prev, committed))
        self._tails[event.chat_id] = task
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._finished(t, event))
        return committed

    def _finished(self, task: asyncio.Task[None], event: Inbound) -> None:
        self._tasks.discard(task)
        self._in_flight.pop(event.update_id, None)
        if self._tails.get(event.chat_id) is task:
            del self._tails[event.chat_id]

    async def _run(
        self, event: Inbound, opens: str | None, prev: asyncio.Task[None] | None, committed: asyncio.Future[None]
    ) -> None:
        if prev is not None:
            with contextlib.suppress(BaseException):
                await asyncio.shield(prev)
        now = self.clock()

        async def note_window(session: Any) -> None:
            await window.opened(session, event.chat_id, opens, now)

        outcome: Outcome | None = None
        delay = 0.5
        while outcome is None:
            try:
                outcome = await self.app.core.handle(event, after=note_window, claimant=self.claimant)
            except asyncio.CancelledError:
                if not committed.done():
                    committed.cancel()
                raise
            except Exception:  # the database away: wait, never acknowledge an event not committed
                log.exception("update %s: could not be handled, retrying in %.0fs", event.update_id, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)
        self.handled += 1
        if not committed.done():
            committed.set_result(None)
        if outcome.duplicate:
            return
        # WeChat has no button answers: a toast's words ("thanks", "not allowed") join the turn's reply
        # (an id of its own below zero: no outbox row stands behind it).
        toasts = [
            (-n, Reply(t.text, chat_id=event.chat_id, platform=PLATFORM))
            for n, t in enumerate(outcome.toasts, 1)
            if t.text
        ]
        if outcome.deliveries or toasts:
            await self.deliver([*toasts, *outcome.deliveries], event.chat_id)

    # -- delivery of a turn ---------------------------------------------------------------------------------
    async def deliver(self, deliveries: Sequence[tuple[int, Outbound]], reply_chat: str) -> None:
        """This turn's WeChat rows, per chat, merged; other platforms' rows wait for their own workers."""
        chats: dict[str, list[tuple[int, Outbound]]] = {}
        for row_id, action in deliveries:
            if getattr(action, "platform", None) == PLATFORM:
                chats.setdefault(str(getattr(action, "chat_id", "")), []).append((row_id, action))
        for chat, rows in chats.items():
            try:
                result = await self.sender.deliver(chat, rows, push=chat != reply_chat, on_wire=self._on_wire)
            except Exception as exc:
                log.exception("delivery to a WeChat follower failed; the outbox worker takes over")
                result = TurnResult(retry=[(r, f"{type(exc).__name__}") for r, _ in rows])
            self._settle(chat, dict(rows), result)

    async def _on_wire(self, ids: list[int]) -> bool:
        rows = [i for i in ids if i > 0]  # below zero: a toast's words, no row behind them
        marks = await asyncio.gather(*(self.fast.ledger.on_the_wire(i) for i in rows))
        return all(marks)

    def _settle(self, chat: str, actions: dict[int, Outbound], result: TurnResult) -> None:
        """The turn's outcomes through the shared settle policy, group-committed by the fast path's ledger;
        rows no window can carry wait (status "waiting") until the person writes again."""
        now = self.fast.clock()
        policy, ledger = self.fast.policy, self.fast.ledger

        def job(row_id: int) -> Job:
            return Job(row_id, PLATFORM, chat, payload=_secret_payload(actions.get(row_id)))

        for row_id, res in result.sent:
            if row_id > 0:
                ledger.settled(settle_outcome(policy, job(row_id), now, result=res)[0])
        for row_id, why in result.failed:
            if row_id > 0:
                ledger.settled(settle_outcome(policy, job(row_id), now, error=Rejected(why))[0])
        for row_id, why in result.retry:
            if row_id <= 0:
                continue
            if result.pause:
                due = now + timedelta(seconds=result.pause)
                ledger.settled(outbox_repo.Outcome(row_id, "retry", now, error=why, retry_at=due))
            else:
                ledger.settled(settle_outcome(policy, job(row_id), now, error=Transient(why))[0])
        for row_id in result.waiting:
            if row_id > 0:
                ledger.settled(outbox_repo.Outcome(row_id, "waiting", now, error=WAITING_WHY))


WAITING_WHY = "waiting for the person to open the chat (no reply window, no template)"


def _secret_payload(action: Outbound | None) -> dict[str, Any] | None:
    """Files are redacted from a settled row (as every channel's are)."""
    return to_payload(action) if isinstance(action, SendDocument | SendPhoto | SendAlbum) else None


class WeChatOutboxWorker(OutboxWorker):
    """The shared outbox worker for WeChat rows: a push that no window or template can carry is set
    "waiting" (not retried with backoff until it fails); window.opened makes it due again."""

    sender: WeChatSender

    async def _send_row(self, row: OutboxMessage) -> None:
        token = CURRENT_ROW.set(row)
        try:
            await super()._send_row(row)
        finally:
            CURRENT_ROW.reset(token)

    def _settled(self, job: Job, result: dict[str, Any] | None, error: BaseException | None) -> outbox_repo.Outcome:
        if error is not None and job.row_id in self.sender.waited:
            self.sender.waited.discard(job.row_id)
            outcome = outbox_repo.Outcome(job.row_id, "waiting", self.clock(), error=WAITING_WHY)
            self.ledger.settled(outcome)
            return outcome
        return super()._settled(job, result, error)


async def _language(session: Any, openid: str) -> str:
    from sqlalchemy import select

    from storage.models import UserProfile

    lang = await session.scalar(
        select(UserProfile.language).where(UserProfile.platform == PLATFORM, UserProfile.user_id == openid)
    )
    return lang if lang in ("zh", "en") else "zh"


async def serve(app: App, options: Options | None = None, *, sender: WeChatSender | None = None) -> None:
    """Serve the WeChat endpoint and the WeChat outbox worker until cancelled. Nothing is sent at start-up:
    rows an earlier run left behind are for the worker, and the token is fetched at the first send."""
    opts = options or Options()
    keys = keys_from(app)
    sender = sender or make_sender(app)

    async def fetch(ref: FileRef) -> bytes:
        return await sender.api.get_media(ref.file_id)

    app.services.fetch_file = fetch
    if app.services.review_chat and app.services.review_platform is None:
        app.services.review_platform = "telegram"  # an official account has no group chats
    server = opts.server = WeChatServer(app, keys, sender, opts)
    await release_dead_claims(app.db, utcnow())
    # WeChat documents no per-person rate beyond the reply quota (which the window tracker keeps).
    worker = WeChatOutboxWorker(app.db, sender, Gate(per_chat_per_second=5), config=opts.worker)
    stop = asyncio.Event()
    jobs = [asyncio.create_task(worker.run(stop))]
    jobs += [asyncio.create_task(job(app, None)) for job in opts.background]
    try:
        await server.start()
        opts.ready.set()
        await asyncio.Event().wait()
    finally:
        stop.set()
        await server.stop()
        for job in jobs[1:]:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
        await sender.api.close()


__all__ = ["Options", "WeChatOutboxWorker", "WeChatServer", "keys_from", "make_sender", "serve"]
