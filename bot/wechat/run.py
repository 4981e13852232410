"""The operator's WeChat commands: `eqa-bot run --transport wechat`, `eqa-bot wechat-menu`, `eqa-bot wechat-qr`.

A WeChat-only deployment needs no TELEGRAM_* setting. Secrets (app secret, server token, EncodingAESKey, the
access_token) are masked in every log line.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.app import App, build_app, until_stopped
from bot.ops.logs import setup_logging
from bot.settings import Settings
from bot.wechat.server import Options, keys_from, make_sender, serve
from conversations.i18n import Catalog
from storage.repos.bindings import issue

log = logging.getLogger(__name__)

QR_DAYS = 30  # a temporary QR code lives at most 30 days (WeChat's limit)


def _secrets(settings: Settings) -> tuple[str, ...]:
    values = (settings.wechat_app_secret, settings.wechat_token, settings.wechat_encoding_aes_key)
    return tuple(v.get_secret_value() for v in values if v is not None and v.get_secret_value())


def _check(settings: Settings) -> str | None:
    missing = [
        name
        for name, value in (
            ("WECHAT_APP_ID", settings.wechat_app_id),
            ("WECHAT_APP_SECRET", settings.wechat_app_secret and settings.wechat_app_secret.get_secret_value()),
            ("WECHAT_TOKEN", settings.wechat_token and settings.wechat_token.get_secret_value()),
        )
        if not value
    ]
    if missing:
        return f"the WeChat transport needs {', '.join(missing)} (see the README's WeChat section)"
    return None


def run(settings: Settings) -> int:
    setup_logging(settings.log_level, secrets=_secrets(settings))
    if (problem := _check(settings)) is not None:
        log.error("%s", problem)
        return 2
    return asyncio.run(_main(settings))


async def _main(settings: Settings) -> int:
    app = await build_app(settings)
    try:
        keys_from(app)
    except ValueError as exc:
        log.error("%s", exc)
        await app.close()
        return 2
    from bot import scheduler

    options = Options(host=settings.webhook_listen, port=settings.webhook_port, background=[scheduler.background])
    try:
        await until_stopped(asyncio.create_task(serve(app, options)))
    finally:
        await app.close()
    return 0


# -- the custom menu ---------------------------------------------------------------------------------------
def menu_from(catalog: Catalog, lang: str = "zh") -> dict[str, Any]:
    """继续申报 / 申报进度 / 常见问题 with their items, from the catalogue (3 top-level, ≤ 5 under each).
    Keys are "btn:<global button data>" or "cmd:<command>", read back by bot.wechat.protocol.click_event."""
    t = lambda key: catalog.t(lang, key)  # noqa: E731

    def click(label: str, key: str) -> dict[str, str]:
        return {"type": "click", "name": t(label), "key": key}

    return {
        "button": [
            {
                "name": t("wx-menu-journey"),
                "sub_button": [click("wx-menu-continue", "btn:g:go:journey"), click("wx-menu-bind", "btn:g:go:bind")],
            },
            {
                "name": t("wx-menu-progress"),
                "sub_button": [click("wx-menu-status", "cmd:status"), click("wx-menu-lang", "cmd:lang")],
            },
            {
                "name": t("wx-menu-faq"),
                "sub_button": [
                    click("wx-menu-faq-all", "btn:g:faq:"),
                    click("wx-menu-contacts", "btn:g:faq:contacts"),
                    click("wx-menu-help", "cmd:help"),
                ],
            },
        ]
    }


async def set_menu(app: App) -> dict[str, Any]:
    sender = make_sender(app)
    try:
        menu = menu_from(app.services.catalog)
        await sender.api.create_menu(menu)
        return menu
    finally:
        await sender.api.close()


async def lab_qr(app: App, lab_code: str, *, by: str = "cli") -> str:
    """A one-person binding QR for `lab_code`: a fresh binding code in a QR_STR_SCENE code (scan = follow +
    bind). Returns the line to hand the lab (the QR's content URL)."""
    from sqlalchemy import select

    from storage.models import Lab

    async with app.db.transaction() as s:
        lab = await s.scalar(select(Lab).where(Lab.code == lab_code))
        if lab is None:
            raise LookupError(f"no lab {lab_code}")
        code = await issue(s, lab.id, now=app.services.clock.now(), created_by=by, days=QR_DAYS)
        name = lab.name
    sender = make_sender(app)
    try:
        qr = await sender.api.create_qrcode(f"{lab_code}_{code}", expire_seconds=QR_DAYS * 86400)
    finally:
        await sender.api.close()
    return app.services.catalog.t("zh", "wx-qr-caption", lab=lab_code, name=name, days=QR_DAYS, url=qr["url"])


def binding_qrs(app: App) -> Callable[[list[str]], Awaitable[list[str | None]]]:
    """What `Services.binding_qrs` calls: one QR_STR_SCENE code per scene, a few requests at a time."""

    async def make(scenes: list[str]) -> list[str | None]:
        sender = make_sender(app)
        gate = asyncio.Semaphore(4)

        async def one(scene: str) -> str | None:
            async with gate:
                try:
                    qr = await sender.api.create_qrcode(scene, expire_seconds=QR_DAYS * 86400)
                except Exception as exc:  # the sheet still carries the typed code; say which failed, not why
                    log.warning("WeChat QR for one lab failed: %s", type(exc).__name__)
                    return None
                return str(qr["url"])

        try:
            return list(await asyncio.gather(*(one(s) for s in scenes)))
        finally:
            await sender.api.close()

    return make


def cli(command: str, settings: Settings, args: Any) -> int:
    setup_logging("WARNING", secrets=_secrets(settings))
    if (problem := _check(settings)) is not None:
        print(f"eqa-bot {command}: {problem}")
        return 2

    async def go() -> int:
        app = await build_app(settings)
        try:
            if command == "wechat-menu":
                menu = await set_menu(app)
                print(" / ".join(b["name"] for b in menu["button"]))
            else:
                print(await lab_qr(app, args.lab))
            return 0
        finally:
            await app.close()

    return asyncio.run(go())
