"""The `eqa-bot` command line: demo, run, migrate; backup, restore, purge, rotate-key, health."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import datetime
from pathlib import Path

from bot.settings import Settings

DEMO_NOW = "2025-02-10T10:00:00+08:00"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="eqa-bot", description="EQA registration assistant")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="chat with the bot in this terminal (SQLite, no token needed)")
    demo.add_argument("--database", help="database URL (default: var/demo.sqlite3)")
    demo.add_argument("--fresh", action="store_true", help="start from an empty demo database")
    demo.add_argument("--look", choices=["console", "wechat"], default="console", help="render as this channel")
    run = sub.add_parser("run", help="serve Telegram, or the WeChat official account (--transport wechat)")
    run.add_argument("--transport", choices=["ptb", "aiogram", "wechat"], help="overrides EQA_TRANSPORT")
    run.add_argument("--mode", choices=["polling", "webhook"], default="polling")
    sub.add_parser("migrate", help="create or upgrade the database schema")
    sub.add_parser("wechat-menu", help="set the WeChat official account's custom menu from the catalogue")
    qr = sub.add_parser("wechat-qr", help="a one-person binding QR code for a lab (WeChat parametric QR)")
    qr.add_argument("lab", help="the lab's code, e.g. HN0001")
    unconfirmed = sub.add_parser("unconfirmed", help="list messages perhaps lost in a crash (never resent by itself)")
    unconfirmed.add_argument("--resend", type=int, nargs="+", metavar="ID", help="queue these again")
    _add_operations(sub)
    from bot.desk.cli import add_commands as add_desk_commands

    add_desk_commands(sub)
    args = parser.parse_args(argv)

    if args.command == "demo":
        return asyncio.run(_demo(args.database, args.fresh, args.look))
    if args.command == "migrate":
        return asyncio.run(_migrate())
    if args.command == "run":
        return _run(args)
    if args.command in ("wechat-menu", "wechat-qr"):
        from bot.wechat.run import cli

        return cli(args.command, Settings(), args)
    if args.command == "unconfirmed":
        from bot.delivery.unconfirmed import report

        return asyncio.run(report(Settings().database_url, args.resend))
    if args.command in OPERATIONS:
        return _operation(args)
    if args.command in ("desk", "staff"):
        from bot.desk import cli as desk_cli

        return desk_cli.run(args)
    return 2


async def _demo(database: str | None, fresh: bool, look: str = "console") -> int:
    from bot.app import build_app
    from bot.console import Console
    from bot.demo_seed import REVIEW_CHAT, REVIEWER_USER, seed_demo
    from bot.ops.logs import setup_logging
    from conversations.formatting import moment

    url = database or "sqlite+aiosqlite:///var/demo.sqlite3"
    if fresh and url.startswith("sqlite") and url.endswith("var/demo.sqlite3"):
        for suffix in ("", "-wal", "-shm"):
            path = f"var/demo.sqlite3{suffix}"
            if os.path.exists(path):
                os.remove(path)
    env = Settings()
    settings = env.model_copy(
        update={
            "database_url": url,
            "now": env.now or datetime.fromisoformat(DEMO_NOW),
            "admin_ids": env.admin_ids | {REVIEWER_USER},
            "review_chat_id": REVIEW_CHAT,
            "data_dir": env.data_dir.parent / "demo-data" if env.data_dir.name == "data" else env.data_dir,
        }
    )
    setup_logging("WARNING")
    app = await build_app(settings)
    now = app.services.clock.now()
    seeded = await seed_demo(app.db, now)
    console = Console(app)
    if look == "wechat":
        from bot.wechat.look import WeChatLook

        console = WeChatLook(app)
    t = console.t
    console.print(t("con-banner", title=app.campaign.title))
    console.print(t("con-clock", now=moment(now, "zh", app.campaign.tz), zone=app.campaign.timezone, database=url))
    console.print(t("con-try-binding", lab=seeded.other_lab_code, code=seeded.other_binding_code))
    try:
        await console.run()
    finally:
        await app.close()
    return 0


async def _migrate() -> int:
    from storage.db import Database

    settings = Settings()
    db = Database(settings.database_url)
    await db.migrate()
    await db.dispose()
    print(f"database is at the newest schema: {db.url.render_as_string(hide_password=True)}")
    return 0


def _run(args: argparse.Namespace) -> int:
    settings = Settings()
    if (args.transport or settings.transport) == "wechat":
        from bot.wechat.run import run as run_wechat

        return run_wechat(settings)  # a WeChat-only deployment needs no TELEGRAM_* setting
    if settings.telegram_bot_token is None or not settings.telegram_bot_token.get_secret_value():
        print(
            "eqa-bot run: TELEGRAM_BOT_TOKEN is not set. Create a bot with @BotFather, then put the token "
            "in the environment or in .env (see README). To try the bot without Telegram: eqa-bot demo",
            file=sys.stderr,
        )
        return 2
    transport = args.transport or settings.transport
    try:
        from bot import serve
    except ImportError:
        print(f"eqa-bot run: the {transport} transport is not available in this build.", file=sys.stderr)
        return 2
    return serve.run(settings, transport=transport, mode=args.mode)


# -- operations (bot/ops/backup.py, bot/ops/health.py) -----------------------------------------------------------------
OPERATIONS = ("backup", "restore", "purge", "rotate-key", "health")


def _add_operations(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    backup = sub.add_parser("backup", help="back up the database and the documents into one archive")
    backup.add_argument("--to", type=Path, help="directory for the archive (default: EQA_BACKUP_DIR, ./backups)")
    restore = sub.add_parser("restore", help="restore an archive made by `eqa-bot backup` (stop the bot first)")
    restore.add_argument("archive", type=Path)
    restore.add_argument("--force", action="store_true", help="replace a database that already holds labs")
    purge = sub.add_parser("purge", help="delete documents uploaded longer ago than the retention")
    purge.add_argument("--older-than", type=int, metavar="DAYS", help="overrides EQA_RETENTION_DAYS")
    purge.add_argument("--dry-run", action="store_true", help="count what would go, change nothing")
    rotate = sub.add_parser("rotate-key", help="re-seal every document with the newest EQA_DOCUMENT_KEY")
    rotate.add_argument("--new-key", action="store_true", help="print a fresh key and change nothing")
    health = sub.add_parser("health", help="check the database and the Bot API; exit 0 when both answer")
    health.add_argument("--timeout", type=float, default=5.0)


def _operation(args: argparse.Namespace) -> int:
    from bot.ops.backup import run_cli

    return run_cli(args)


if __name__ == "__main__":
    sys.exit(main())
