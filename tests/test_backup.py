"""Operations, run as an operator would: `eqa-bot backup` and `restore` round trips (SQLite and, where the
server is there, PostgreSQL with pg_dump/pg_restore), `purge` past the retention, `rotate-key`, and the
health check (`/healthz`, `eqa-bot health`)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import stat
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import App, build_app
from bot.cli import main
from bot.ops import backup as ops
from bot.settings import Settings
from conversations.clock import FixedClock
from storage.crypto import key_id
from storage.db import Database
from storage.files import KEY_FILE, DocumentStore
from storage.models import AuditLog, Contact, Document, Enrollment, Lab, OutboxMessage
from tests.conftest import DEMO_NOW, drop_postgres_database, fresh_postgres_url, require_tool
from tests.factories import bind, make_lab
from tests.harness import Person, Transcript
from tests.test_crash_support import images, journey

KEY = base64.b64encode(bytes(range(32))).decode()
OTHER_KEY = base64.b64encode(bytes(range(1, 33))).decode()
FILES = images()


def settings_for(url: str, data: Path, **extra: Any) -> Settings:
    values = {
        "EQA_DATABASE_URL": url,
        "EQA_DATA_DIR": str(data),
        "EQA_DOCUMENT_KEY": KEY,
        "EQA_ADMIN_IDS": "admin-1",
        "EQA_REVIEW_CHAT_ID": "review-chat",
    }
    return Settings(_env_file=None, **(values | extra))


async def walk(person: Person, lab_code: str) -> None:
    """The whole journey of a bound contact, through the core."""
    for act in journey(lab_code, "", FILES)[1:]:
        if act.kind == "send":
            await person.send(act.arg)
        elif act.kind == "press":
            await person.press(act.arg)
        else:
            await person.send_file(act.data, name=act.arg or "licence.jpg", kind=act.kind)


async def registered_app(url: str, data: Path, *, labs: int = 1) -> App:
    app = await build_app(settings_for(url, data), clock=FixedClock(DEMO_NOW))
    transcript = Transcript(app.core)
    app.services.fetch_file = transcript.fetch
    for i in range(labs):
        code = f"HN000{i + 1}"
        person = Person(transcript, f"contact-{i}")
        await bind(app, person, await make_lab(app, code=code), mobile=None)  # type: ignore[arg-type]
        await person.send("/start")
        await walk(person, code)
    return app


async def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """What an operator would compare after a restore."""
    async with db.reading() as s:
        return {
            "labs": [(r.code, r.name, r.credit_code) for r in await s.scalars(select(Lab).order_by(Lab.id))],
            "contacts": [
                (r.user_id, r.mobile, r.active) for r in await s.scalars(select(Contact).order_by(Contact.id))
            ],
            "enrollments": [
                (r.status, r.revision, r.last_year_tests, r.lab_info, r.invoice, r.mailing, r.specialties)
                for r in await s.scalars(select(Enrollment).order_by(Enrollment.id))
            ],
            "documents": [
                (r.kind, r.status, r.sha256, r.storage_key, r.original_name)
                for r in await s.scalars(select(Document).order_by(Document.id))
            ],
            "audit": [(r.action, r.entity_id) for r in await s.scalars(select(AuditLog).order_by(AuditLog.id))],
            "outbox": [
                (r.chat_id, r.status) for r in await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
            ],
        }


@pytest.fixture
def target_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A second, empty database of the same kind to restore into."""
    if database_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    require_tool("pg_dump")
    require_tool("pg_restore")
    url = asyncio.run(fresh_postgres_url())
    try:
        yield url
    finally:
        asyncio.run(drop_postgres_database(url))


# -- backup and restore ---------------------------------------------------------------------------------------
@pytest.mark.timeout(120)
async def test_backup_and_restore_round_trip(database_url: str, target_url: str, tmp_path: Path) -> None:
    app = await registered_app(database_url, tmp_path / "data")
    try:
        before = await snapshot(app.db)
        keys = {d[3] for d in before["documents"]}
        report = await ops.backup(app.settings, tmp_path / "backups")
    finally:
        await app.close()
    assert report.documents >= 4 and report.missing == []  # 2 uploads, the agreement PDF, the receipt
    assert report.key_ids == {key_id(base64.b64decode(KEY)): report.documents}
    archive = report.path
    assert archive.name.startswith("eqa-backup-") and stat.S_IMODE(archive.stat().st_mode) == 0o600
    raw = archive.read_bytes()
    assert FILES["agreement"][2000:2100] not in raw and FILES["licence"][2000:2100] not in raw  # sealed
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert not [n for n in names if KEY_FILE in n] and KEY not in raw.decode("latin-1")
    assert manifest["database"]["revision"] and manifest["documents"]["count"] == report.documents

    restored = settings_for(target_url, tmp_path / "restored-data")
    result = await ops.restore(restored, archive)
    assert result.documents == report.documents and result.unknown_keys == set()
    db = Database(target_url)
    try:
        assert await snapshot(db) == before
    finally:
        await db.dispose()
    store = ops.store_for(restored)
    docs = {d[0]: d[3] for d in before["documents"]}
    assert store.get(docs["agreement"]) == FILES["agreement"] and store.get(docs["licence"]) == FILES["licence"]
    assert set(store.stored()) >= keys

    # Restoring over a database that holds labs needs --force; the same archive again changes nothing.
    with pytest.raises(ops.OperationError, match="--force"):
        await ops.restore(restored, archive)
    again = await ops.restore(restored, archive, force=True)
    assert again.documents == 0 and again.skipped == report.documents


async def test_restore_names_the_keys_it_lacks(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'a.sqlite3'}"
    app = await registered_app(url, tmp_path / "data")
    try:
        report = await ops.backup(app.settings, tmp_path / "backups")
    finally:
        await app.close()
    elsewhere = settings_for(
        f"sqlite+aiosqlite:///{tmp_path / 'b.sqlite3'}", tmp_path / "b-data", EQA_DOCUMENT_KEY=OTHER_KEY
    )
    result = await ops.restore(elsewhere, report.path)
    assert result.unknown_keys == {key_id(base64.b64decode(KEY))}
    # With the old key added, everything opens again.
    fixed = settings_for(
        elsewhere.database_url, tmp_path / "b-data", EQA_DOCUMENT_KEY=OTHER_KEY, EQA_DOCUMENT_OLD_KEYS=KEY
    )
    store = ops.store_for(fixed)
    assert [store.get(k) for k in store.stored()]


async def test_a_damaged_or_foreign_archive_is_refused(tmp_path: Path) -> None:
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}", tmp_path / "data")
    junk = tmp_path / "junk.tar"
    with tarfile.open(junk, "w") as tar:
        tar.add(__file__, arcname="something.py")
    with pytest.raises(ops.OperationError, match="not an eqa-bot backup"):
        await ops.restore(settings, junk)
    app = await registered_app(settings.database_url, tmp_path / "data")
    try:
        report = await ops.backup(app.settings, tmp_path / "backups")
    finally:
        await app.close()
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(report.path) as src, tarfile.open(damaged, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "database.sqlite3":
                data = data[:-4096] + b"\0" * 4096
            member.size = len(data)
            import io

            dst.addfile(member, io.BytesIO(data))
    target = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'y.sqlite3'}", tmp_path / "y-data")
    with pytest.raises(ops.OperationError, match="checksum"):
        await ops.restore(target, damaged)


def test_backup_and_restore_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    app = asyncio.run(_registered_and_closed(url, tmp_path / "data"))
    assert app
    for name, value in {
        "EQA_DATABASE_URL": url,
        "EQA_DATA_DIR": str(tmp_path / "data"),
        "EQA_DOCUMENT_KEY": KEY,
    }.items():
        monkeypatch.setenv(name, value)
    assert main(["backup", "--to", str(tmp_path / "out")]) == 0
    archive = next((tmp_path / "out").glob("eqa-backup-*.tar"))
    assert "holds no key" in capsys.readouterr().out
    monkeypatch.setenv("EQA_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'new.sqlite3'}")
    monkeypatch.setenv("EQA_DATA_DIR", str(tmp_path / "new-data"))
    assert main(["restore", str(archive)]) == 0
    assert main(["restore", str(archive)]) == 2 and "--force" in capsys.readouterr().err
    assert main(["restore", str(archive), "--force"]) == 0


async def _registered_and_closed(url: str, data: Path) -> bool:
    app = await registered_app(url, data)
    await app.close()
    return True


def test_pg_dump_missing_is_said_plainly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ops.shutil, "which", lambda _: None)
    with pytest.raises(ops.OperationError, match="postgresql-client"):
        ops._pg_tool("pg_dump")


def test_libpq_environment_keeps_the_password_off_the_command_line() -> None:
    from sqlalchemy.engine import make_url

    env = ops._libpq_env(make_url("postgresql+asyncpg://eqa:s3cr%40t@db.internal:6543/eqa?ssl=require"))
    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"], env["PGPASSWORD"], env["PGDATABASE"]) == (
        "db.internal",
        "6543",
        "eqa",
        "s3cr@t",
        "eqa",
    )
    assert env["PGSSLMODE"] == "require"


# -- purge --------------------------------------------------------------------------------------------------
async def test_purge_past_retention_keeps_the_rows_and_deletes_the_files(database_url: str, tmp_path: Path) -> None:
    app = await registered_app(database_url, tmp_path / "data", labs=2)  # two labs sent the very same scans
    try:
        # The purge runs 200 days from now with a 180-day retention; lab 2 sends its licence again (the same
        # scan lab 1 sent) after the cutoff. File times are the machine's; rows carry the demo clock.
        async with app.db.transaction() as s:
            recent = await s.scalar(select(Document).where(Document.lab_id == 2, Document.kind == "licence"))
            assert recent is not None
            recent.created_at = datetime.now(UTC) + timedelta(days=30)
            recent.platform_file_id = "AgAD-telegram-copy"
        store = app.services.store
        files_before = set(store.stored())
        now = datetime.now(UTC) + timedelta(days=200)
        settings = app.settings.model_copy(update={"retention_days": 180})

        dry = await ops.purge(settings, dry_run=True, now=now)
        assert dry.documents == 3 and set(store.stored()) == files_before
        report = await ops.purge(settings, now=now)
        assert (report.documents, report.kept_shared) == (3, 1)
        async with app.db.reading() as s:
            docs = list(await s.scalars(select(Document).order_by(Document.id)))
            audit = await s.scalar(
                select(func.count()).select_from(AuditLog).where(AuditLog.action == "document_purged")
            )
        assert [d.status for d in docs] == ["purged", "purged", "purged", "active"]
        assert audit == 3 and all(d.platform_file_id is None for d in docs[:3])
        left = set(store.stored())
        assert left == {docs[3].storage_key}  # the shared licence stays for lab 2; PDFs and the rest are gone
        assert store.get(docs[3].storage_key) == FILES["licence"]
        assert (await ops.purge(settings, now=now)).documents == 0
    finally:
        await app.close()


async def test_purge_needs_a_retention(tmp_path: Path) -> None:
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'q.sqlite3'}", tmp_path / "data")
    with pytest.raises(ops.OperationError, match="EQA_RETENTION_DAYS"):
        await ops.purge(settings)


# -- rotate-key ---------------------------------------------------------------------------------------------
def test_rotate_key_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["rotate-key", "--new-key"]) == 0
    fresh = capsys.readouterr().out.strip()
    assert len(base64.b64decode(fresh)) == 32
    old = DocumentStore(tmp_path / "data", [base64.b64decode(KEY)])
    keys = [old.put(f"scan {i}".encode()) for i in range(3)]
    monkeypatch.setenv("EQA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EQA_DOCUMENT_KEY", fresh)
    monkeypatch.setenv("EQA_DOCUMENT_OLD_KEYS", KEY)
    assert main(["rotate-key"]) == 0
    assert "re-sealed 3" in capsys.readouterr().out
    only_new = DocumentStore(tmp_path / "data", [base64.b64decode(fresh)])
    assert [only_new.get(k) for k in keys] == [f"scan {i}".encode() for i in range(3)]
    monkeypatch.setenv("EQA_DOCUMENT_KEY", OTHER_KEY)
    monkeypatch.delenv("EQA_DOCUMENT_OLD_KEYS")
    assert main(["rotate-key"]) == 1  # a key went missing: said, and the exit code shows it
    monkeypatch.setenv("EQA_DOCUMENT_KEY", "not-a-key")
    assert main(["rotate-key"]) == 2 and "EQA_DOCUMENT_KEY" in capsys.readouterr().err


# -- health -------------------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_healthz_reports_database_and_bot_api(tmp_path: Path) -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from bot.ops.health import HealthCheck
    from tests.fake_telegram import FakeTelegram

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'h.sqlite3'}")
    await db.migrate()
    async with FakeTelegram() as tg:
        good, bad = HealthCheck(db, tg.root, tg.token), HealthCheck(db, tg.root, "123456:" + "x" * 35)
        web_app = web.Application()
        good.add_to(web_app)
        bad.add_to(web_app, "/healthz-bad")
        async with TestClient(TestServer(web_app)) as client:
            resp = await client.get("/healthz")
            body = await resp.json()
            assert resp.status == 200 and body["ok"], body
            assert body["database"]["schema_current"] and body["bot_api"]["username"]
            resp = await client.get("/healthz-bad")
            text = await resp.text()
            assert resp.status == 503 and "x" * 35 not in text
            calls = len(tg.calls("getMe"))
            await client.get("/healthz")
            assert len(tg.calls("getMe")) == calls  # remembered, not asked again at every probe
    await db.dispose()
    broken = HealthCheck(
        Database(f"sqlite+aiosqlite:///{tmp_path / 'none' / 'x' / 'h.sqlite3'}"), "http://127.0.0.1:9", ""
    )
    report = await broken.report()
    assert not report["ok"] and not report["bot_api"]["ok"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_eqa_bot_health(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.fake_telegram import FakeTelegram

    monkeypatch.chdir(tmp_path)
    url = f"sqlite+aiosqlite:///{tmp_path / 'h.sqlite3'}"
    asyncio.run(_migrated(url))
    tg = FakeTelegram.start_in_thread()
    try:
        monkeypatch.setenv("EQA_DATABASE_URL", url)
        monkeypatch.setenv("TELEGRAM_API_BASE_URL", tg.root)
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", tg.token)
        assert main(["health"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["database"]["ok"] and report["bot_api"]["ok"] and report["database"]["outbox_pending"] == 0
        monkeypatch.setenv("TELEGRAM_API_BASE_URL", "http://127.0.0.1:9")
        assert main(["health", "--timeout", "2"]) == 1
        out = capsys.readouterr().out
        assert tg.token.split(":")[1] not in out and not json.loads(out)["bot_api"]["ok"]
    finally:
        tg.stop()


async def _migrated(url: str) -> None:
    db = Database(url)
    await db.migrate()
    await db.dispose()


def test_key_file_mode_is_announced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EQA_DATA_DIR", str(tmp_path / "data"))
    for name in ("EQA_DOCUMENT_KEY", "EQA_DOCUMENT_OLD_KEYS"):
        monkeypatch.delenv(name, raising=False)
    DocumentStore(tmp_path / "data").put(b"scan")
    assert main(["rotate-key"]) == 0
    assert KEY_FILE in capsys.readouterr().out
    assert os.stat(tmp_path / "data" / KEY_FILE).st_mode & 0o077 == 0


@pytest.mark.timeout(60)
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_the_webhook_server_serves_healthz(tmp_path: Path) -> None:
    import aiohttp

    from bot.telegram.webhook import WebhookConfig
    from tests.e2e.conftest import RunningBot, e2e_settings, free_port
    from tests.fake_telegram import FakeTelegram

    async with FakeTelegram() as tg:
        app = await build_app(e2e_settings(tg, tmp_path), clock=FixedClock(DEMO_NOW))
        port = free_port()
        config = WebhookConfig(f"http://127.0.0.1:{port}/telegram/hook", "health_secret", "127.0.0.1", port)
        bot = RunningBot(tg, app, "ptb", mode="webhook", webhook=config)
        await bot.start()
        try:
            async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                body = await resp.json()
            assert resp.status == 200 and body["database"]["ok"] and body["bot_api"]["ok"], body
        finally:
            await bot.stop()
            await app.close()
