"""Nothing secret stays in the outbox: a `/codes` reply (a binding code in clear) and workbooks (the export,
the binding-code sheet) are redacted once delivered — kept: who, when, what kind — and delivered rows older
than EQA_OUTBOX_KEEP_DAYS are deleted. A backup taken afterwards holds no plain code and no workbook."""

from __future__ import annotations

import base64
import re
import tarfile
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.app import App, build_app
from bot.ops import backup as ops
from bot.scheduler import Scheduler
from conversations.clock import FixedClock
from conversations.events import Reply, SendDocument, to_payload
from storage.models import Broadcast, OutboxMessage, utcnow
from storage.repos import outbox as repo
from tests.conftest import DEMO_NOW
from tests.factories import make_lab
from tests.harness import Person, Transcript, texts
from tests.test_backup import settings_for

CODE = re.compile(r"/start HN0001_([A-Z0-9]+)")
ZIP_B64 = base64.b64encode(b"PK\x03\x04")[:5]  # how every workbook (a zip) starts, in the outbox's base64


async def test_a_backup_after_codes_and_an_export_holds_no_code_and_no_workbook(tmp_path: Path) -> None:
    app: App = await build_app(
        settings_for(f"sqlite+aiosqlite:///{tmp_path / 'eqa.sqlite3'}", tmp_path / "data"),
        clock=FixedClock(DEMO_NOW),
    )
    try:
        transcript = Transcript(app.core)
        admin = Person(transcript, "admin-1", "review-chat", name="李审核")
        await make_lab(app)
        await make_lab(app, code="HN0002")
        issued = texts(await admin.send("/codes HN0001"))
        match = CODE.search(issued)
        assert match, issued
        plain = match.group(1)
        sheet = await admin.press("", data="g:adm:codes")  # the binding-code workbook for labs without one
        export = await admin.send("/export")
        workbooks = [a for a in [*sheet, *export] if isinstance(a, SendDocument)]
        assert len(workbooks) == 2 and all(w.file.data and w.file.data[:2] == b"PK" for w in workbooks)

        async with app.db.reading() as s:
            rows = list(await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        assert rows and all(r.status == "sent" for r in rows)
        kept = [r.payload for r in rows if r.payload.get("redacted")]
        # What the audit needs survives: the kind, the file names; who and when are the row's columns.
        assert {"type": "Reply", "redacted": True, "files": []} in kept
        assert sorted(f for p in kept for f in p["files"]) == sorted(w.file.filename for w in workbooks)
        assert all(r.chat_id == "review-chat" and r.sent_at is not None for r in rows if r.payload.get("redacted"))
        report = await ops.backup(app.settings, tmp_path / "backups")
    finally:
        await app.close()

    with tarfile.open(report.path) as tar:
        member = tar.extractfile("database.sqlite3")
        assert member is not None
        database = member.read()
    assert plain.encode() not in database
    assert f"{plain[:4]}-{plain[4:]}".encode() not in database  # the display form either
    assert ZIP_B64 not in database


async def test_delivered_rows_past_the_keeping_period_are_deleted_by_the_scheduler(app: App) -> None:
    now = utcnow()
    old, recent = now - timedelta(days=31), now - timedelta(days=2)
    async with app.db.transaction() as s:
        bc = Broadcast(kind="broadcast", status="sending", audience={}, created_at=old)
        s.add(bc)
        await s.flush()
        reply = to_payload(Reply("你好", chat_id="1", platform="telegram"))
        await repo.add_rows(s, [repo.NewRow("telegram", "1", reply, f"k{i}") for i in range(4)], now=old)
        await repo.add_rows(s, [repo.NewRow("telegram", "2", reply, "live")], now=old, broadcast_id=bc.id)
    async with app.db.transaction() as s:
        rows = {r.dedupe_key: r for r in await s.scalars(select(OutboxMessage))}
        worker = "w"
        for key in ("k0", "k1", "k2", "live"):
            await repo.claim_ids(s, worker, [rows[key].id], old)
            await repo.mark_sending(s, worker, rows[key].id, old)
        at = {"k0": old, "k1": recent, "k2": old, "live": old}
        await repo.record(
            s,
            worker,
            [repo.Outcome(rows[k].id, "sent" if k != "k2" else "failed", at[k], error="x") for k in at],
        )
    scheduler = Scheduler(app.db, app.campaign, app.services.clock, owner="test", outbox_keep=timedelta(days=30))
    await scheduler.tick()
    async with app.db.reading() as s:
        left = {r.dedupe_key: r.status for r in await s.scalars(select(OutboxMessage))}
    # Gone: delivered or failed over 30 days ago. Kept: recent, still pending, or of a broadcast still sending.
    assert left == {"k1": "sent", "k3": "pending", "live": "sent"}


def test_only_secrets_are_redacted() -> None:
    plain = to_payload(Reply("请输入联系电话"))
    secret = to_payload(Reply("绑定码 ABCD-EFGH", secret=True))
    assert repo.redacted(plain) is None
    assert repo.redacted(secret) == {"type": "Reply", "redacted": True, "files": []}
    assert repo.redacted(repo.redacted(secret) or {}) is None  # once is enough
