"""Albums under real timing: Telegram sends an album's parts as separate updates with no count and no end
marker, so a part may be handled (or still be downloading) after the album was already handed over, and
several workers may hand albums over at once. Every photo must be kept exactly once and answered; none may
be called a duplicate of a different photo, and none may be left behind in the album table."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.app import App
from conversations.events import FileRef, Outcome
from storage.models import AlbumItem, Document
from tests import image_samples as samples
from tests.harness import Person, texts
from tests.test_journey import AGREEMENT, AGREEMENT_PAGE_2, walk_checklist, walk_plan

PAGE_3 = samples.jpeg(samples.document(seal=True, seed=4))
PAGES = (AGREEMENT, AGREEMENT_PAGE_2, PAGE_3)


async def _to_upload(contact: Person) -> None:
    await contact.send("/start")
    await walk_checklist(contact)
    await walk_plan(contact)
    await contact.press("上传签字盖章的协议")


async def _state(app: App) -> tuple[list[str], int]:
    async with app.db.reading() as s:
        docs = list(await s.scalars(select(Document).where(Document.kind == "agreement").order_by(Document.id)))
        left = await s.scalar(select(func.count()).select_from(AlbumItem))
    return [d.sha256 for d in docs if d.status == "active"], int(left or 0)


def _said(contact: Person, outcomes: list[Outcome]) -> str:
    return texts(contact.t.deliver([d for o in outcomes for d in o.deliveries]))


async def test_a_part_handled_after_its_album_was_handed_over_is_kept(app: App, contact: Person) -> None:
    """The first part's album is handed over before the second part is in (a slow download, a busy CPU):
    the second part is a continuation of the album, not a duplicate to drop."""
    await _to_upload(contact)
    assert await contact.send_file(AGREEMENT, name="p1.jpg", kind="photo", media_group_id="g1") == []
    said = _said(contact, await contact.t.core.flush_albums(quiet_for=timedelta(0)))
    assert "已收到 1 份" in said
    assert await contact.send_file(AGREEMENT_PAGE_2, name="p2.jpg", kind="photo", media_group_id="g1") == []
    said = _said(contact, await contact.t.core.flush_albums(quiet_for=timedelta(0)))
    assert "已收到 2 份" in said and "已经收到过了" not in said, said
    kept, left = await _state(app)
    assert len(kept) == 2 and len(set(kept)) == 2 and left == 0
    assert await contact.t.core.flush_albums(force=True) == []


@pytest.mark.parametrize("seed", range(4))
async def test_parts_and_flushes_in_any_order_keep_every_photo_once(app: App, contact: Person, seed: int) -> None:
    """Parts handled concurrently (webhook workers) with shuffled download times, while three flushers hand
    over whatever looks complete: each photo is stored once, nothing is called a duplicate, nothing is
    left behind."""
    await _to_upload(contact)
    rnd = random.Random(seed)
    fetch = contact.t.fetch

    async def slow_fetch(ref):  # type: ignore[no-untyped-def]
        await asyncio.sleep(rnd.uniform(0, 0.05))
        return await fetch(ref)

    app.services.fetch_file = slow_fetch
    core = contact.t.core
    outcomes: list[Outcome] = []
    parts_done = asyncio.Event()

    async def part(data: bytes, n: int) -> None:
        await asyncio.sleep(rnd.uniform(0, 0.05))
        file_id = f"race-{seed}-{n}"
        contact.t.files[file_id] = data
        ref = FileRef(file_id=file_id, size=len(data), mime="image/jpeg", name=f"p{n}.jpg")
        out = await core.handle(contact.event("photo", file=ref, media_group_id=f"race-{seed}"))
        assert not out.deliveries  # collected, answered when the album is handed over

    async def flusher() -> None:
        while not parts_done.is_set():
            outcomes.extend(await core.flush_albums(quiet_for=timedelta(0)))
            await asyncio.sleep(rnd.uniform(0, 0.01))

    order = list(enumerate(PAGES, start=1))
    rnd.shuffle(order)
    flushers = [asyncio.create_task(flusher()) for _ in range(3)]
    await asyncio.gather(*(part(data, n) for n, data in order))
    parts_done.set()
    await asyncio.gather(*flushers)
    outcomes.extend(await core.flush_albums(force=True))
    said = _said(contact, outcomes)
    assert "已经收到过了" not in said and "出错" not in said, said
    kept, left = await _state(app)
    assert sorted(kept) == sorted(app.services.store.put(p) for p in PAGES), said
    assert left == 0
    assert "已收到 3 份" in said
