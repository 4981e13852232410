"""An export does not hold the loop: while an admin's `/export` of a few hundred labs runs (read-only session,
the workbook written in the heavy-work pool), another user's replies keep coming. The 3,000-lab figures
are `python -m bench export`'s."""

from __future__ import annotations

import asyncio
import time

from bench.export import seed
from bot.app import App
from conversations.events import SendDocument
from tests.harness import Person, Transcript, texts

LABS = 600


async def test_another_user_is_answered_while_an_export_runs(app: App, transcript: Transcript, admin: Person) -> None:
    await seed(app.db, app.campaign, LABS)
    other = Person(transcript, "guest-7")
    await other.send("/help")  # warm: the first reply loads the catalogue
    export = asyncio.create_task(admin.send("/export"))
    waits: list[float] = []
    while not export.done():
        started = time.perf_counter()
        out = await other.send("/help")
        waits.append(time.perf_counter() - started)
        assert texts(out)
        await asyncio.sleep(0.02)
    [workbook] = [a for a in await export if isinstance(a, SendDocument)]
    assert workbook.file.data and workbook.file.data[:2] == b"PK"
    waits.sort()
    assert len(waits) >= 5, waits  # the export took long enough for the measure to mean something
    p99 = waits[min(len(waits) - 1, int(0.99 * len(waits)))]
    assert p99 < 0.25, (p99, waits[-5:])
