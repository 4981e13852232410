"""Privacy in logs: whole journeys run with logging at DEBUG (the chattiest the libraries get), then the
logs are searched for any mobile number, credit code, binding code or the bot token.

Three runs: the core through the transcript harness, both Telegram transports in process against the fake
Bot API, and `eqa-bot run` as a process with JSON logs. Each also checks that the unmasked records did
carry such data (otherwise the search would prove nothing).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import signal
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from stdnum.cn import uscc

from bot.app import App, build_app
from bot.ops.logs import MaskingFormatter, mask
from bot.settings import Settings
from conversations.clock import FixedClock
from tests.conftest import DEMO_NOW
from tests.factories import bind, make_lab
from tests.fake_telegram import FakeTelegram
from tests.harness import Person, Transcript
from tests.test_crash_support import MOBILE, PII, Walker, images, journey, run_env, seed

TOKEN = "7300123456:AAH3kQm9vXr2TtLw8ZpQeYbN5cJd4Fs6GhU"

_ANY_MOBILE = re.compile(r"(?<!\d)1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)")
_ANY_CODE = re.compile(r"(?<![0-9A-Za-z])[0-9A-Za-z]{18}(?![0-9A-Za-z])")
# Binding codes as admins are shown them and people type them (any case): XXXX-XXXX.
_DISPLAY_CODE = re.compile(r"(?<![0-9A-Za-z-])[A-HJ-NP-Za-hj-np-z2-9]{4}-[A-HJ-NP-Za-hj-np-z2-9]{4}(?![0-9A-Za-z-])")
# Practice licence registration numbers of the test data (14 digits, and the 22-character kind).
LICENCE_NOS = ("41010219900001", "PDY00001341018211A1001")
TYPED_ATTEMPT = "HN0001 QRST-6789"  # a wrong code typed by hand: still a guess at somebody's code


def leaks(log: str, *, token: str = TOKEN, codes: tuple[str, ...] = ()) -> list[str]:
    """Mobiles (any), valid credit codes (any, in any case), the journey's own data in every typed form,
    binding codes and the token (whole or its secret half)."""
    found: list[str] = []
    # JSON in the logs (SQL parameters, payloads) may spell characters as \uXXXX: read them as written.
    unescaped = re.sub(r"\\+u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), log)
    flat = unicodedata.normalize("NFKC", unescaped)
    found += [f"mobile {m}" for m in _ANY_MOBILE.findall(flat)]
    found += [f"credit code {m}" for m in _ANY_CODE.findall(flat) if uscc.is_valid(m.upper())]
    upper = flat.upper()
    found += [f"journey data {v}" for v in PII if v.upper() in upper]
    found += [f"binding code {c}" for c in (*codes, "QRST6789") if c in upper.replace("-", "")]
    found += [f"binding code {m}" for m in _DISPLAY_CODE.findall(flat)]
    found += [f"licence number {n}" for n in LICENCE_NOS if n in upper]
    # SQL parameters and rows (aiosqlite logs both at DEBUG) are never logged, masked or not.
    found += [f"SQL logged: {line[:60]}" for line in flat.splitlines() if "aiosqlite" in line]
    found += [f"token {part[:6]}…" for part in (token, token.split(":", 1)[1]) if part in log]
    return found


@contextmanager
def debug_logs(token: str = TOKEN) -> Iterator[tuple[io.StringIO, io.StringIO, io.StringIO]]:
    """Everything logged meanwhile, three ways: masked text, masked JSON and (to prove the point) raw."""
    streams = (io.StringIO(), io.StringIO(), io.StringIO())
    formatters: list[logging.Formatter] = [
        MaskingFormatter("%(levelname)s %(name)s: %(message)s", secrets=(token,)),
        MaskingFormatter(secrets=(token,), as_json=True),
        logging.Formatter("%(levelname)s %(name)s: %(message)s"),
    ]
    handlers = []
    for stream, formatter in zip(streams, formatters, strict=True):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter)
        handlers.append(handler)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    root.handlers.extend(handlers)
    try:
        yield streams
    finally:
        for handler in handlers:
            root.removeHandler(handler)
        root.setLevel(level)


def assert_clean(masked: str, as_json: str, raw: str, *, codes: tuple[str, ...] = ()) -> None:
    assert masked and as_json
    assert leaks(masked, codes=codes) == [], leaks(masked, codes=codes)[:10]
    assert leaks(as_json, codes=codes) == [], leaks(as_json, codes=codes)[:10]
    for line in as_json.splitlines():
        entry = json.loads(line)
        assert {"time", "level", "logger", "message"} <= entry.keys()


# -- the masking itself --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "13912345678",
        "+86 139 1234 5678",
        "008613912345678",
        "139-1234-5678",
        "１３９１２３４５６７８",
        json.dumps("１３９１２３４５６７８"),  # as SQL parameters show JSON columns at DEBUG
        json.dumps(json.dumps("１２４１００００４１５８００２８１Ｈ")),
        "tel:13912345678,",
        "12410000415800281H",
        "12410000415800281h",
        "1241000O415800281H",  # mistyped: still somebody's code
        "９１４１０１００ＭＡ４４ＸＸＸＸ１Ｂ",
        "410102199001011234",  # a resident ID number
        f"https://api.telegram.org/bot{TOKEN}/getMe",
        f"http://127.0.0.1/file/bot{TOKEN.replace(':', '%3A')}/documents/file_1.jpg",
        "/start HN0001_ABCD2345",
        "https://t.me/eqa_bot?start=HN0001_ABCD2345",
        "ABCD-2345",  # a binding code as shown
        "abcd-2345",
        "HN0001 ABCD-2345",  # typed by hand, in any of the forms the bind step reads
        "hn0001 abcd2345",
        "HN0001_ABCD2345",
        "HN0001，ABCD 2345",
        "ABCD2345",
        "41010219900001",  # a licence registration number: 14 digits
        "410102199000012",
        "4101021990000",
        "PDY00001341018211A1001",  # and the 22-character kind
    ],
)
def test_mask_hides(text: str) -> None:
    masked = mask(f"'{text}' ", (TOKEN,))
    assert leaks(masked, codes=("ABCD2345",)) == [] and text not in masked, masked


@pytest.mark.parametrize(
    "text",
    [
        "update 123456789 handled",
        "outbox row 42",
        "2025-02-10T10:00:00+08:00",
        "0371-67966305",
        "HN0001",
        "邮编 450052",
        "回执编号 2025-HN0001-R1",
        "HN0001 approved",
        "2025-02-10 10:00",
        "document 3f2a9c01b7de",
    ],
)
def test_mask_leaves_ordinary_numbers(text: str) -> None:
    assert mask(text) == unicodedata.normalize("NFKC", text)


def test_json_lines_are_masked_field_by_field() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "phone %s", ("１３９１２３４５６７８",), None)
    try:
        raise ValueError(f"credit code 12410000415800281H, token {TOKEN}")
    except ValueError:
        record.exc_info = sys.exc_info()
    line = MaskingFormatter(as_json=True).format(record)
    entry = json.loads(line)
    assert entry["message"] == "phone 139****5678"
    assert "ValueError" in entry["exception"] and leaks(line) == []


# -- a journey through the core (transcript harness) --------------------------------------------------------
async def test_a_whole_journey_through_the_core_leaks_nothing(app: App, transcript: Transcript) -> None:
    from tests.test_journey import AGREEMENT, LICENCE, walk_checklist, walk_plan

    lab_id = await make_lab(app)
    person = Person(transcript, "walker", name="王检验")
    await bind(app, person, lab_id, mobile=MOBILE)  # a contact on file with a mobile
    with debug_logs() as (masked, as_json, raw):
        await person.send("/start")
        await walk_checklist(person)
        await person.send("1391234567")  # a refused mobile
        await walk_plan(person)
        await person.press("上传签字盖章的协议")
        await person.send_file(AGREEMENT, name="协议 13912345678.jpg")
        await person.press("缓交协议已传完")
        await person.press("上传执业许可证")
        await person.send_file(LICENCE, kind="photo")
        await person.press("执业许可证已传完")
        await person.press("没有变化")
        await person.press("提交审核")
        await person.send("我的手机 13912345678，信用代码 12410000415800281H，怎么改？")  # the FAQ logs questions
    assert any("已提交！" in m.text for m in person.messages)
    # aiosqlite would log SQL parameters and rows at DEBUG (mobiles, licence numbers, base64 workbooks): it is
    # silenced at the source, so even an unmasked handler sees none of it.
    assert "aiosqlite" not in raw.getvalue() and MOBILE not in raw.getvalue()
    assert_clean(masked.getvalue(), as_json.getvalue(), raw.getvalue())


async def test_binding_codes_and_licence_numbers_stay_out_of_debug_logs(
    app: App, transcript: Transcript, admin: Person
) -> None:
    await make_lab(app)
    with debug_logs() as (masked, as_json, raw):
        logging.getLogger("eqa.test").debug("as a library would log an update: %r", {"text": TYPED_ATTEMPT})
        await admin.send("/codes HN0001")
        found = re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}", admin.last.text)
        assert found is not None
        person = Person(transcript, "newcomer", name="新同事")
        await person.send("/start")
        await person.press("绑定实验室")
        await person.send(TYPED_ATTEMPT)
        assert "绑定" in person.last.text and "绑定成功" not in person.last.text
        await person.send(f"HN0001 {found.group(0)}")
        assert "绑定成功" in person.last.text
        logging.getLogger("eqa.test").debug(
            "code %s for %s, lab licence %s", found.group(0), TYPED_ATTEMPT, LICENCE_NOS
        )
        await admin.send("/audit HN0001")
    assert TYPED_ATTEMPT in raw.getvalue() and found.group(0) in raw.getvalue()  # logged, and masked on the way out
    code = found.group(0).replace("-", "")
    assert_clean(masked.getvalue(), as_json.getvalue(), raw.getvalue(), codes=(code,))
    assert "aiosqlite" not in raw.getvalue()


# -- both transports, in process ------------------------------------------------------------------------------
@pytest.mark.timeout(90)
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("transport_name", ["ptb", "aiogram"])
async def test_a_whole_journey_over_telegram_leaks_nothing(transport_name: str, tmp_path: Path) -> None:
    from bot.serve import Options, make_transport, serve

    url = f"sqlite+aiosqlite:///{tmp_path / 'eqa.sqlite3'}"
    code = await seed(url)
    files = images()
    async with FakeTelegram(token=TOKEN) as tg:
        settings = Settings(
            TELEGRAM_BOT_TOKEN=tg.token,
            TELEGRAM_API_BASE_URL=tg.root,
            EQA_DATABASE_URL=url,
            EQA_DATA_DIR=str(tmp_path / "data"),
            _env_file=None,
        )
        app = await build_app(settings, clock=FixedClock(DEMO_NOW))
        try:
            with debug_logs(tg.token) as (masked, as_json, raw):
                transport = make_transport(transport_name, settings, app.services.store)
                options = Options(long_poll=1)
                task = asyncio.create_task(serve(app, transport, "polling", options))
                try:
                    await asyncio.wait_for(options.ready.wait(), 30)
                    u = tg.user(5001, "王检验", language_code="zh-hans")
                    await Walker(u, timeout=15).walk(journey("HN0001", code, files, typos=True))
                finally:
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
        finally:
            await app.close()
    # python-telegram-bot did log the people's data (whole updates, masked on the way out); aiogram logs none
    # at DEBUG now that aiosqlite's SQL is silenced. Neither may log SQL.
    raw_log = unicodedata.normalize("NFKC", raw.getvalue())
    if transport_name == "ptb":
        assert MOBILE in raw_log.replace(" ", "") and "12410000415800281H" in raw_log
    assert "aiosqlite" not in raw_log
    assert_clean(masked.getvalue(), as_json.getvalue(), raw.getvalue(), codes=(code,))


# -- `eqa-bot run`, JSON logs ---------------------------------------------------------------------------------
@pytest.mark.timeout(120)
async def test_eqa_bot_run_with_json_logs_at_debug_leaks_nothing(tmp_path: Path) -> None:
    code = await seed(f"sqlite+aiosqlite:///{tmp_path / 'eqa.sqlite3'}")
    files = images()
    tg = FakeTelegram(token=TOKEN).start_in_thread()
    try:
        env = run_env(tg, tmp_path, EQA_LOG_LEVEL="DEBUG", EQA_LOG_JSON="1")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
        )
        chunks: list[bytes] = []

        async def drain() -> None:  # a full pipe would stall the bot
            assert proc.stderr is not None
            while chunk := await proc.stderr.read(65536):
                chunks.append(chunk)

        reader = asyncio.create_task(drain())
        try:
            u = tg.user(5001, "王检验", language_code="zh-hans")
            await Walker(u, timeout=30).walk(journey("HN0001", code, files, typos=True))
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 30)
            await reader
    finally:
        tg.stop()
    log = b"".join(chunks).decode()
    assert proc.returncode == 0, log[-3000:]
    lines = [line for line in log.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    assert len(entries) > 100 and any(e["level"] == "DEBUG" for e in entries)
    assert leaks(log, token=tg.token, codes=(code,)) == [], leaks(log, token=tg.token, codes=(code,))[:10]
