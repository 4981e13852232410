"""Run the fake Bot API server standalone: ``python -m tests.fake_telegram --port 8081``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from .server import DEFAULT_TOKEN, FakeTelegram


async def _serve(args: argparse.Namespace) -> None:
    tg = FakeTelegram(
        args.token,
        host=args.host,
        port=args.port,
        spec_path=args.spec,
        strict_params=not args.lenient,
        auto_create_chats=True,
    )
    async with tg:
        print(f"fake Telegram Bot API on {tg.root}  token={tg.token}", flush=True)
        print(f"  python-telegram-bot: Bot(token, base_url='{tg.api_base_url}', base_file_url='{tg.file_base_url}')")
        print(f"  aiogram: AiohttpSession(api=TelegramAPIServer.from_base('{tg.root}'))")
        print(f'  act as a user: curl -d \'{{"text":"hi"}}\' {tg.root}/_fake/users/1001/text', flush=True)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_telegram", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--spec", default=None, help="api.json path (default: $EQA_BOT_API_SPEC or the bundled copy)")
    parser.add_argument("--lenient", action="store_true", help="ignore unknown parameters like Telegram does")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
