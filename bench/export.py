"""The enrolment export of N labs (default 3,000): wall time and peak memory of eqa-bot's `/export` path
(read-only session, Core rows, the workbook written in the heavy-work pool) next to a plain openpyxl
write-only workbook of the very same rows, measured in the same run.

    python -m bench export [--labs 3000] [--repeat 3] [--check]

Targets (issue 13): time ≤ 1.2 × the baseline; peak memory < 30 MB above idle. `--check` exits 1 when
either is missed. Memory is the peak of Python allocations (tracemalloc) during the export, in a run of
its own (tracing slows everything), and the resident-set growth sampled every 2 ms in the timed run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import os
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from openpyxl import Workbook
from sqlalchemy import insert

from conversations.campaign import Campaign, load_campaign
from conversations.i18n import Catalog
from handlers.admin_export import export_sheet, export_workbook
from storage.db import Database
from storage.models import Contact, Document, Enrollment, Lab, Review
from storage.xlsx_write import EXPORT_TZ

TIME_RATIO = 1.2
MEMORY_MB = 30.0


async def seed(db: Database, campaign: Campaign, labs: int) -> None:
    """`labs` labs, each with two contacts, a submitted registration, two documents; every third decided.
    Bulk inserts: a few seconds for thousands of labs."""
    now = datetime(2025, 2, 10, 2, 0, tzinfo=UTC)
    specialties = [s.code for s in campaign.specialties]
    tests = [k for k in campaign.test_index][:40]
    types = [t.code for t in campaign.institution_types if t.eligible]
    lab_rows, contact_rows, enr_rows, doc_rows, review_rows = [], [], [], [], []
    for i in range(1, labs + 1):
        lab_rows.append(
            {
                "id": i, "code": f"HN{i:05d}", "name": f"河南省第{i}人民医院检验科", "institution_type": types[i % len(types)],
                "level": "3", "city": "郑州市", "licence_no": f"PDY{i:011d}", "licence_valid_from": date(2020, 1, 1),
                "licence_valid_to": date(2030, 1, 1), "credit_code": "12410000415800107K",
                "address": f"郑州市金水区纬五路{i}号", "source": "roster", "created_at": now, "updated_at": now,
            }
        )  # fmt: skip
        for n, backup in ((0, False), (1, True)):
            contact_rows.append(
                {
                    "lab_id": i, "platform": "telegram", "user_id": str(10_000_000 + 2 * i + n),
                    "chat_id": str(10_000_000 + 2 * i + n), "name": f"联系人{i}-{n}", "mobile": f"138{i:04d}{n:04d}",
                    "language": "zh", "is_backup": backup, "active": True, "unanswered_reminders": 0,
                    "created_at": now,
                }
            )  # fmt: skip
        enr_rows.append(
            {
                "id": i, "lab_id": i, "year": campaign.year, "status": "approved" if i % 3 == 0 else "submitted",
                "last_year_tests": tests[: 10 + i % 30], "lab_info": {"name": f"河南省第{i}人民医院", "address": "郑州市",
                "phone": "0371-66666666", "head": "张主任"}, "invoice": {"title": f"河南省第{i}人民医院",
                "taxpayer_id": "12410000415800107K"}, "mailing": {"recipient": "王检验", "phone": "13800138000",
                "address": f"郑州市金水区纬五路{i}号检验科", "postcode": "450003"},
                "specialties": specialties[: 3 + i % 13], "mandatory_declined": [], "revision": 1,
                "submitted_at": now, "returned_items": [], "decided_at": now if i % 3 == 0 else None,
                "checklist_submitted_at": now - timedelta(days=3), "plan_confirmed_at": now - timedelta(days=2),
                "updated_at": now, "version": 1,
            }
        )  # fmt: skip
        for kind in ("agreement", "licence"):
            doc_rows.append(
                {
                    "lab_id": i, "enrollment_id": i, "kind": kind, "status": "active", "sha256": f"{i:064x}",
                    "size": 300_000, "mime": "image/jpeg", "storage_key": f"{i:064x}",
                    "precheck": {"advice": ["pre-no-seal"] if i % 7 == 0 else [], "width": 2400, "height": 1800},
                    "uploaded_by": f"telegram:{10_000_000 + 2 * i}", "created_at": now,
                }
            )  # fmt: skip
        if i % 3 == 0:
            review_rows.append(
                {
                    "subject": "enrollment", "subject_id": i, "revision": 1, "decision": "approved", "reasons": [],
                    "note": None, "reviewer": "telegram:1", "created_at": now,
                }
            )  # fmt: skip
    async with db.transaction() as s:
        for model, rows in ((Lab, lab_rows), (Contact, contact_rows), (Enrollment, enr_rows),
                            (Document, doc_rows), (Review, review_rows)):  # fmt: skip
            for start in range(0, len(rows), 1000):
                await s.execute(insert(model), rows[start : start + 1000])


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class _PeakRss:
    """The resident set's peak above its level at start, sampled every 2 ms in a thread."""

    def __enter__(self) -> _PeakRss:
        self.idle = self.peak = _rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, _rss_mb())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mb())

    @property
    def above_idle(self) -> float:
        return self.peak - self.idle


def _plain(value: object) -> object:
    """What the baseline may write: Excel has no time zones."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(EXPORT_TZ).replace(tzinfo=None)
    return value


def baseline(rows: list[list[object]], headers: list[str]) -> bytes:
    """A plain openpyxl write-only workbook of the same values: no checks, no widths, no styles."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("export")
    ws.append(headers)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def _measure(fn: Callable[[], Awaitable[object]], repeat: int) -> tuple[float, float, float]:
    """(median seconds, peak RSS MB above idle, peak traced MB) of `fn`."""
    times, rss = [], []
    for _ in range(repeat):
        gc.collect()
        with _PeakRss() as peak:
            started = time.perf_counter()
            await fn()
            times.append(time.perf_counter() - started)
        rss.append(peak.above_idle)
    gc.collect()
    tracemalloc.start()
    await fn()
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return statistics.median(times), max(rss), traced


async def run(labs: int, repeat: int) -> dict[str, float]:
    campaign, catalog = load_campaign(), Catalog()

    def t(key: str, **args: Any) -> str:
        return catalog.t("zh", key, **args)

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}")
        await db.migrate()
        started = time.perf_counter()
        await seed(db, campaign, labs)
        print(f"seeded {labs} labs in {time.perf_counter() - started:.1f} s")

        async def ours() -> None:
            async with db.reading() as session:
                data, count = await export_workbook(session, campaign, t, "zh")
            assert count == labs and data

        # The baseline's rows: exactly the values our export writes, in column order (prepared beforehand).
        async with db.reading() as session:
            from storage.repos import reports

            records = await reports.export_records(session, campaign.year)
        columns, row_dicts = export_sheet(SimpleNamespace(campaign=campaign, t=t, lang="zh"), records, {})  # type: ignore[arg-type]
        headers = [c.header for c in columns]
        rows = [[_plain(r.get(c.key)) for c in columns] for r in row_dicts]
        del records, row_dicts

        async def plain() -> None:
            await asyncio.to_thread(baseline, rows, headers)

        mine = await _measure(ours, repeat)
        base = await _measure(plain, repeat)
        await db.dispose()
    return {
        "labs": labs, "ours_s": mine[0], "ours_rss_mb": mine[1], "ours_traced_mb": mine[2],
        "base_s": base[0], "base_rss_mb": base[1], "base_traced_mb": base[2], "ratio": mine[0] / base[0],
    }  # fmt: skip


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench export", description=__doc__)
    parser.add_argument("--labs", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    r = asyncio.run(run(args.labs, args.repeat))
    try:
        import lxml  # noqa: F401

        writer = "lxml"
    except ImportError:
        writer = "xml.etree (no lxml)"
    print(f"export of {r['labs']:.0f} labs, openpyxl writing with {writer}, median of {args.repeat}:")
    print(f"  eqa-bot /export   {r['ours_s']:6.2f} s   peak RSS +{r['ours_rss_mb']:5.1f} MB   "
          f"peak traced {r['ours_traced_mb']:5.1f} MB")  # fmt: skip
    print(f"  plain openpyxl    {r['base_s']:6.2f} s   peak RSS +{r['base_rss_mb']:5.1f} MB   "
          f"peak traced {r['base_traced_mb']:5.1f} MB   (rows prepared beforehand)")  # fmt: skip
    print(f"  ratio {r['ratio']:.2f}× (target ≤ {TIME_RATIO}×); memory above idle "
          f"{max(r['ours_rss_mb'], r['ours_traced_mb']):.1f} MB (target < {MEMORY_MB:.0f} MB)")  # fmt: skip
    missed = r["ratio"] > TIME_RATIO or max(r["ours_rss_mb"], r["ours_traced_mb"]) >= MEMORY_MB
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
