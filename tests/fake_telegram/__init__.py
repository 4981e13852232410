"""A fake Telegram Bot API server for tests and benchmarks (aiohttp, 127.0.0.1, random port).

It speaks the real wire protocol, so python-telegram-bot and aiogram run against it unchanged, and
validates every call against the official method list in ``api.json`` (Bot API 10.1, MIT, see
``API_LICENSE``; override with ``FakeTelegram(spec_path=...)`` or ``$EQA_BOT_API_SPEC``).

In-process, on the test's event loop::

    async with FakeTelegram() as tg:
        bot = telegram.Bot(tg.token, base_url=tg.api_base_url, base_file_url=tg.file_base_url)
        # aiogram: Bot(tg.token, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.root)))
        u = tg.user(user_id=1001, first_name="张三", language_code="zh-hans")
        await u.send_command("start")
        reply = await u.wait_for_message()        # next bot message or edit after the user's action
        await u.press("确认")                      # callback_query for the newest message with that button
        assert tg.calls("answerCallbackQuery")

For a bot in a subprocess (crash tests), serve from a thread and pass ``tg.root``/``tg.token`` to
the child; the user helpers still work from the test's loop::

    tg = FakeTelegram.start_in_thread()           # or FakeTelegram(...).start_in_thread()
    try: ...
    finally: tg.stop()

Standalone: ``python -m tests.fake_telegram --port 8081`` (plus a ``/_fake/`` control API, see
``control.py``). Pytest fixtures: ``tests.fake_telegram.pytest_plugin``.

Recording and control: ``tg.calls(method, chat_id)``, ``tg.errors()`` (what the fake refused; leaves
out injected faults and long polls the client abandoned, recorded with status 499),
``tg.bot_messages(chat)``,
``tg.sent_files(chat)``, ``tg.commands(scope, language_code)``, ``tg.inject_update(raw)``;
``tg.fail(method, status=429, retry_after=3, times=1, chat_id=None)``, ``tg.block(chat)``,
``tg.slow(method, seconds)``, ``FakeTelegram(rate_limits=RateLimits(scale=...))``.
Deliberate deviations from Telegram: unknown parameters are refused (``strict_params=False`` to
ignore them), media groups must have 2-10 items, webhooks may be plain http, URLs are never
downloaded, and a photo's largest size keeps the original bytes instead of a re-encoded JPEG.
"""

from .media import StoredFile
from .models import BotMessage, Call, Fault, SentFile, WebhookDelivery
from .ratelimit import RateLimits
from .server import DEFAULT_TOKEN, FakeTelegram, FakeTelegramTimeout
from .spec import ApiError, ApiSpec, UploadedFile
from .user import AlbumDocument, AlbumPhoto, FakeGroup, FakeUser

__all__ = [
    "DEFAULT_TOKEN",
    "AlbumDocument",
    "AlbumPhoto",
    "ApiError",
    "ApiSpec",
    "BotMessage",
    "Call",
    "FakeGroup",
    "FakeTelegram",
    "FakeTelegramTimeout",
    "FakeUser",
    "Fault",
    "RateLimits",
    "SentFile",
    "StoredFile",
    "UploadedFile",
    "WebhookDelivery",
]
