"""`eqa-bot desk` (serve the web desk; `--demo` on the demo database with printed passwords) and
`eqa-bot staff add|passwd|disable|list` (desk accounts)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import signal
import sys
from datetime import datetime

from bot.settings import Settings

DEMO_NOW = "2025-02-10T10:00:00+08:00"


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    desk = sub.add_parser("desk", help="serve the centre's web desk (EQA_DESK_LISTEN:EQA_DESK_PORT)")
    desk.add_argument("--demo", action="store_true", help="on the demo database, with a demo reviewer and admin")
    desk.add_argument("--port", type=int, help="overrides EQA_DESK_PORT")
    staff = sub.add_parser("staff", help="web desk accounts: add, passwd, disable, list")
    ops = staff.add_subparsers(dest="staff_command", required=True)
    add = ops.add_parser("add", help="a new account (the password is asked for, or read from stdin)")
    add.add_argument("name")
    add.add_argument("--role", choices=["reviewer", "admin"], required=True)
    add.add_argument("--link", metavar="PLATFORM:USER_ID", help="the person's chat identity, e.g. telegram:123456")
    add.add_argument("--totp", action="store_true", help="require a one-time code (prints the secret to enrol)")
    passwd = ops.add_parser("passwd", help="set a new password (ends the account's sessions)")
    passwd.add_argument("name")
    disable = ops.add_parser("disable", help="disable an account (ends its sessions)")
    disable.add_argument("name")
    ops.add_parser("list", help="list the accounts")


def run(args: argparse.Namespace) -> int:
    if args.command == "desk":
        return asyncio.run(_serve(args.demo, args.port))
    return asyncio.run(_staff(args))


def _read_password(prompt: str = "password: ") -> str:
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("again: ") != first:
            raise SystemExit("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\n")


async def _staff(args: argparse.Namespace) -> int:
    from bot.app import build_app
    from bot.desk.security import hash_password, new_totp_secret, password_problem, totp_uri
    from storage.models import DeskAccount
    from storage.repos import desk as repo

    app = await build_app(Settings())
    catalog = app.services.catalog
    try:
        async with app.db.transaction() as s:
            account = await repo.account_by_name(s, getattr(args, "name", ""))
            if args.staff_command == "list":
                for a in await repo.accounts(s):
                    link = f"{a.platform}:{a.user_id}" if a.user_id else "-"
                    print(f"{a.name}\t{a.role}\t{'active' if a.active else 'disabled'}\t{link}")
                return 0
            if args.staff_command == "add":
                if account is not None:
                    print(f"an account named {args.name!r} exists", file=sys.stderr)
                    return 1
                platform = user_id = None
                if args.link:
                    platform, _, user_id = args.link.partition(":")
                    if not platform or not user_id:
                        print("--link needs PLATFORM:USER_ID", file=sys.stderr)
                        return 2
                password = _read_password()
                problem = password_problem(password)
                if problem:
                    print(catalog.t("en", problem), file=sys.stderr)
                    return 1
                account = DeskAccount(
                    name=args.name,
                    role=args.role,
                    password_hash=hash_password(password),
                    platform=platform,
                    user_id=user_id,
                    session_epoch=1,
                )
                if args.totp:
                    account.totp_secret = new_totp_secret()
                    print(f"TOTP: {account.totp_secret}\n{totp_uri(account.totp_secret, args.name)}")
                s.add(account)
                print(f"added {args.name} ({args.role})")
                return 0
            if account is None:
                print(f"no account named {args.name!r}", file=sys.stderr)
                return 1
            if args.staff_command == "passwd":
                password = _read_password()
                problem = password_problem(password)
                if problem:
                    print(catalog.t("en", problem), file=sys.stderr)
                    return 1
                account.password_hash = hash_password(password)
                account.failed_logins, account.locked_until = 0, None
            else:
                account.active = False
            account.session_epoch += 1
            print(f"{args.staff_command}: {args.name}")
            return 0
    finally:
        await app.close()


async def _serve(demo: bool, port: int | None) -> int:
    from bot.app import build_app
    from bot.desk.server import serve
    from bot.ops.logs import setup_logging

    env = Settings()
    settings = env
    if demo:
        settings = env.model_copy(
            update={
                "database_url": "sqlite+aiosqlite:///var/demo.sqlite3",
                "now": env.now or datetime.fromisoformat(DEMO_NOW),
                "data_dir": env.data_dir.parent / "demo-data" if env.data_dir.name == "data" else env.data_dir,
            }
        )
    setup_logging(settings.log_level)
    app = await build_app(settings)
    if demo:
        from bot.demo_seed import seed_demo
        from bot.desk.demo import demo_accounts, seed_labs

        await seed_demo(app.db, app.services.clock.now())
        await seed_labs(app)
        accounts = await demo_accounts(app)
    runner = await serve(app, port=port)
    listen_port = port or settings.desk_port
    url = f"http://{settings.desk_listen}:{listen_port}/"
    print(f"eqa-bot desk: {url}", flush=True)
    if demo:
        print(f"  reviewer: {accounts.reviewer} / {accounts.reviewer_password}", flush=True)
        print(f"  admin:    {accounts.admin} / {accounts.admin_password}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await app.close()
    return 0
