"""Roster imports cannot stall the bot: limits on the inflated size (checked in the zip directory before
openpyxl opens anything) and on the rows a sheet holds, refused with the numbers; read before the import's
transaction, in the heavy-work pool, with progress for the admin."""

from __future__ import annotations

import asyncio
import io
import time
import zipfile

import pytest

from bot.app import App
from handlers import admin_roster
from storage import roster_import as xl
from storage.xlsx_write import XLSX
from tests.harness import Person, Transcript, texts
from tests.test_admin import HEADERS
from tests.test_excel import xlsx


def _inflated(data: bytes, member_mb: int) -> bytes:
    """The workbook plus a member that inflates to member_mb MB (zeros compress ~1000:1)."""
    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/media/padding.bin", bytes(member_mb * 1024 * 1024))
    return out.getvalue()


def _formatted_empty_rows(data: bytes, count: int) -> bytes:
    """The workbook with `count` formatted but empty rows appended to its sheet."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                rows = "".join(f'<row r="{n}" s="1" customFormat="1"/>' for n in range(10, 10 + count))
                body = body.replace(b"</sheetData>", rows.encode() + b"</sheetData>")
            zf.writestr(info, body)
    return out.getvalue()


ROWS = [HEADERS, ["HN0001", "郑州市第一人民医院", "综合医院", "三级", "郑州市", "王检验", "13800138000"]]


def test_a_workbook_inflating_past_the_limit_is_refused_with_the_numbers() -> None:
    data = _inflated(xlsx(ROWS), 250)
    assert len(data) < 1_000_000
    started = time.perf_counter()
    report = xl.read_roster(data, **_rules())
    assert time.perf_counter() - started < 1
    (issue,) = report.issues
    assert issue.message_id == "xl-file-too-large"
    assert issue.args["size_mb"] >= 250 and issue.args["max_mb"] == xl.MAX_UNCOMPRESSED_BYTES // (1024 * 1024)


def test_a_million_formatted_empty_rows_are_refused_quickly() -> None:
    data = _formatted_empty_rows(xlsx(ROWS), 1_000_000)
    started = time.perf_counter()
    report = xl.read_roster(data, **_rules(), max_rows=20_000)
    took = time.perf_counter() - started
    (issue,) = report.issues
    assert issue.message_id == "xl-file-too-many-sheet-rows", issue
    assert issue.args["max"] == xl.max_sheet_rows(20_000)
    assert took < 5, took  # it was 10 s (and inside the transaction)


def _rules() -> dict[str, object]:
    from conversations.campaign import load_campaign
    from handlers.admin_roster import roster_rules

    return roster_rules(load_campaign())


async def test_the_roster_is_read_outside_the_transaction_with_progress(
    app: App, transcript: Transcript, admin: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [HEADERS] + [
        [f"HN{i:05d}", f"第{i}医院", "综合医院", "二级", "郑州市", f"联系人{i}", f"138{i:08d}"] for i in range(1, 301)
    ]
    monkeypatch.setattr(admin_roster, "CODES_PER_BATCH", 5)
    monkeypatch.setattr(admin_roster, "PROGRESS_EVERY", 0.0)  # a notice at every step, for the test
    reading = asyncio.Event()
    loop = asyncio.get_running_loop()
    real = xl.read_roster

    def slow_read(data: bytes, **kw: object):  # type: ignore[no-untyped-def]
        loop.call_soon_threadsafe(reading.set)
        time.sleep(1.0)  # a big roster: the read takes a while
        return real(data, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(admin_roster, "read_roster", slow_read)
    await admin.send("/import")
    upload = asyncio.create_task(admin.send_file(xlsx(rows), name="r.xlsx", mime=XLSX))
    await reading.wait()
    # Meanwhile the database is free: someone else is answered at once.
    started = time.perf_counter()
    assert texts(await Person(transcript, "guest-7").send("/help"))
    assert time.perf_counter() - started < 1
    out = await upload
    assert "名单共 300 行：导入 300 行" in texts(out)
    from sqlalchemy import select

    from storage.models import OutboxMessage

    async with app.db.reading() as s:
        payloads = [
            r.payload for r in await s.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == admin.chat_id))
        ]
    assert any("正在读取名册" in str(p) for p in payloads)
