"""Heavy uploads through the core: pre-checks run before the event's transaction, one at a time, so an album
of image bombs neither blows the memory nor makes anyone else wait; an album whose handling fails is removed
and its sender told, never handed over again."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest
from sqlalchemy import func, select

from bot.app import App
from storage.models import AlbumItem, Document
from tests.harness import Person, Transcript, texts
from tests.heavy_samples import flat_png, pdf_rotate_text
from tests.test_journey import walk_checklist, walk_plan

BOMB = 8_888  # px a side: 79 MP


async def _at_agreement_upload(contact: Person) -> None:
    await contact.send("/start")
    await walk_checklist(contact)
    await walk_plan(contact)
    await contact.press("上传签字盖章的协议")


async def _documents(app: App) -> int:
    async with app.db.reading() as s:
        return int(await s.scalar(select(func.count()).select_from(Document)) or 0)


async def _album_parts(app: App) -> int:
    async with app.db.reading() as s:
        return int(await s.scalar(select(func.count()).select_from(AlbumItem)) or 0)


# Memory and the loop, not the database: once, on SQLite (where a held write lock would show).
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_an_album_of_bombs_does_not_keep_others_waiting(
    app: App, contact: Person, transcript: Transcript
) -> None:
    await _at_agreement_upload(contact)
    bomb = flat_png(BOMB, BOMB)
    for n in range(10):
        # Distinct files (bytes after IEND are ignored by every reader), so each is checked.
        out = await contact.send_file(bomb + bytes([n]), name=f"{n}.png", mime="image/png", media_group_id="bombs")
        assert out == []
    other = Person(transcript, "guest-9")
    await other.send("/help")
    album = asyncio.create_task(transcript.core.flush_albums(force=True))
    waits: list[float] = []
    while not album.done():
        started = time.perf_counter()
        out = await other.send("/help")
        waits.append(time.perf_counter() - started)
        assert texts(out)
        await asyncio.sleep(0.05)
    outcomes = await album
    text = texts(transcript.deliver(outcomes[0].deliveries))
    assert "第 10 个文件" in text
    assert await _documents(app) == 10 and await _album_parts(app) == 0
    waits.sort()
    assert len(waits) >= 10
    p99 = waits[min(len(waits) - 1, int(0.99 * len(waits)))]
    assert p99 < 1.0, (p99, waits[-5:])


async def test_a_crafted_pdf_in_an_album_is_refused_and_nothing_is_saved(app: App, contact: Person) -> None:
    await _at_agreement_upload(contact)
    for n in range(2):
        await contact.send_file(
            pdf_rotate_text() + bytes([n]), name="x.pdf", mime="application/pdf", media_group_id="a"
        )
    outcomes = await contact.t.core.flush_albums(force=True)
    text = texts(contact.t.deliver(outcomes[0].deliveries))
    assert text.count("无法读取这个 PDF 文件") == 2 and "已保存" not in text.replace("未保存", "")
    assert await _documents(app) == 0 and await _album_parts(app) == 0
    assert await contact.t.core.flush_albums(force=True) == []


async def test_an_album_whose_handling_fails_is_removed_and_its_sender_told(
    app: App, contact: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _at_agreement_upload(contact)
    for n in range(2):
        await contact.send_file(flat_png(900, 1200) + bytes([n]), name="p.png", mime="image/png", media_group_id="b")

    async def broken(ctx):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug")

    from conversations import flow as flows

    step = flows.REGISTRY["documents"].steps["agreement"]
    steps = dict(flows.REGISTRY["documents"].steps, agreement=dataclasses.replace(step, on_album=broken))
    monkeypatch.setitem(flows.REGISTRY, "documents", dataclasses.replace(flows.REGISTRY["documents"], steps=steps))
    outcomes = await contact.t.core.flush_albums(force=True)
    assert len(outcomes) == 1 and outcomes[0].deliveries
    text = texts(contact.t.deliver(outcomes[0].deliveries))
    assert "这组 2 个文件处理出错，未保存" in text and "都已保存" not in text
    assert await _album_parts(app) == 0 and await _documents(app) == 0
    assert await contact.t.core.flush_albums(force=True) == []  # never handed over again


async def test_an_uploaded_pdf_is_drawn_for_reviewers_before_the_transaction(app: App, contact: Person) -> None:
    from tests.conftest import require_tool
    from tests.heavy_samples import pdf_with_javascript

    require_tool("pdftoppm")
    await _at_agreement_upload(contact)
    await contact.send_file(pdf_with_javascript(), name="a.pdf", mime="application/pdf")
    async with app.db.reading() as s:
        doc = await s.scalar(select(Document))
    assert doc is not None and "pre-pdf-active" in doc.precheck["issues"]
    (key,) = doc.precheck["review_copies"]
    assert app.services.store.get(key)[:2] == b"\xff\xd8"


async def test_an_upload_is_read_before_the_transaction(
    app: App, contact: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OCR takes seconds: inside the event's transaction it would hold SQLite's only write lock (every other
    chat waits). The reader sees no transaction open, and what it found is stored with the document."""
    from storage.reading import Reading
    from tests.test_journey import AGREEMENT

    seen: list[bool] = []

    def reader(kind: str, data: bytes, context: object) -> Reading:
        seen.append(app.db._write_lock is not None and app.db._write_lock.locked())
        return Reading(kind, "read")

    monkeypatch.setattr("conversations.reading.read_document", reader)
    app.services.reading = True
    await _at_agreement_upload(contact)
    out = await contact.send_file(AGREEMENT, name="协议.jpg")
    assert "✅" in texts(out), texts(out)
    assert seen == [False]  # read once, with no write lock held
    async with app.db.reading() as s:
        doc = await s.scalar(select(Document))
    assert doc is not None and doc.reading is not None and doc.reading["status"] == "read"
