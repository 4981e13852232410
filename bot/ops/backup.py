"""Operations on what the bot keeps: backup and restore (database and documents), purging documents past
their retention, re-sealing documents under the newest key.

A backup is one tar file, written aside and renamed into place when complete (a crash leaves no
half-archive that looks whole), mode 0600:

    manifest.json        what is inside, each file's SHA-256, the schema revision, the document key ids
    database.sqlite3     SQLite: a consistent copy taken with SQLite's online backup API, while the bot runs
    database.pgdump      PostgreSQL: `pg_dump --format=custom` (a consistent snapshot, while the bot runs)
    documents/ab/cd/<key>  the document store's files as they are: sealed, so the backup holds no readable
                         document — and no key: keep EQA_DOCUMENT_KEY (and old keys) apart from backups

The database is dumped first, then the documents copied: a document is never deleted while a row needs it,
and new ones only add files, so every document the dumped database refers to is in the archive (checked,
and any missing one named in the manifest).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.engine import URL, make_url

from bot.settings import Settings
from storage.db import Database
from storage.files import DocumentStore, Rotation
from storage.models import AlbumItem, AuditLog, Document
from storage.private import private_dirs, private_file

FORMAT = 1
_MEMBER = re.compile(r"^documents/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})$")
_TABLES_WITH_PEOPLE = ("labs", "contacts", "enrollments")


class OperationError(Exception):
    """Something an operator must fix; the message says what (and never holds a password or key)."""


def store_for(settings: Settings) -> DocumentStore:
    return DocumentStore(settings.data_dir, settings.document_keys())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# -- the database -------------------------------------------------------------------------------------------
def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise OperationError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup API: a consistent copy even while the bot writes (WAL included)."""
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    private_file(target)  # sqlite3 would create it under the umask
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _libpq_env(url: URL) -> dict[str, str]:
    """A SQLAlchemy PostgreSQL URL as libpq environment variables (a password on a command line would show
    in `ps`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    parts = {
        "PGHOST": url.host,
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password if isinstance(url.password, str) else None,
        "PGDATABASE": url.database,
    }
    ssl = url.query.get("sslmode") or url.query.get("ssl")
    if isinstance(ssl, str):
        parts["PGSSLMODE"] = {"true": "require", "false": "disable"}.get(ssl, ssl)
    env |= {k: v for k, v in parts.items() if v}
    return env


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise OperationError(
            f"{name} is not installed: install the PostgreSQL client tools (Debian: postgresql-client, the same "
            "major version as the server or newer), or back up with your own PostgreSQL tooling"
        )
    return path


def _run_tool(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise OperationError(f"{Path(args[0]).name} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


async def _revision(db: Database) -> str | None:
    async with db.reading() as s:
        try:
            return await s.scalar(text("SELECT version_num FROM alembic_version"))
        except Exception:
            return None


async def _has_people(db: Database) -> bool:
    async with db.reading() as s:
        for table in _TABLES_WITH_PEOPLE:
            try:
                if await s.scalar(text(f"SELECT 1 FROM {table} LIMIT 1")):  # fixed table names
                    return True
            except Exception:
                await s.rollback()  # no such table yet: an empty database
    return False


# -- backup -------------------------------------------------------------------------------------------------
@dataclass
class BackupReport:
    path: Path
    database: str
    documents: int
    size: int
    key_ids: dict[str, int]
    missing: list[str] = field(default_factory=list)


async def backup(settings: Settings, target_dir: Path | None = None, *, now: datetime | None = None) -> BackupReport:
    url = make_url(settings.database_url)
    store = store_for(settings)
    target_dir = Path(target_dir or settings.backup_dir)
    _apart_from_the_key(target_dir, store)
    private_dirs(target_dir)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    final = target_dir / f"eqa-backup-{stamp}.tar"
    db = Database(settings.database_url)
    # The dump waits beside the archive (same file system, same protection), not in a shared /tmp.
    with tempfile.TemporaryDirectory(prefix=".eqa-backup-", dir=target_dir) as tmp:
        work = Path(tmp)
        try:
            revision = await _revision(db)
            if url.get_backend_name() == "sqlite":
                dump, kind = work / "database.sqlite3", "sqlite"
                await asyncio.to_thread(_sqlite_copy, _sqlite_path(url), dump)
            elif url.get_backend_name() == "postgresql":
                dump, kind = work / "database.pgdump", "postgresql"
                tool = _pg_tool("pg_dump")
                args = [tool, "--format=custom", "--no-owner", "--no-privileges", f"--file={dump}"]
                await asyncio.to_thread(_run_tool, args, _libpq_env(url))
            else:
                raise OperationError(f"cannot back up a {url.get_backend_name()} database")
            referenced = await _referenced(db) if kind == "postgresql" else _referenced_sqlite(dump)
        finally:
            await db.dispose()

        fd, partial = tempfile.mkstemp(dir=target_dir, prefix=".eqa-backup-", suffix=".partial")
        os.close(fd)
        try:
            key_ids: dict[str, int] = {}
            hashes = {dump.name: _sha256(dump)}
            count = 0
            with tarfile.open(partial, "w") as tar:
                tar.add(dump, arcname=dump.name, filter=_private)
                for key in store.stored():
                    member = f"documents/{key[:2]}/{key[2:4]}/{key}"
                    path = store.root / key[:2] / key[2:4] / key
                    try:
                        tar.add(path, arcname=member, filter=_private)
                    except FileNotFoundError:  # purged meanwhile
                        continue
                    kid = store.sealed_with(key) or "plaintext"
                    key_ids[kid] = key_ids.get(kid, 0) + 1
                    count += 1
                present = set(store.stored())
                missing = sorted(k for k in referenced if k not in present)
                manifest = {
                    "format": FORMAT,
                    "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "database": {"kind": kind, "file": dump.name, "revision": revision},
                    "documents": {"count": count, "key_ids": key_ids, "missing": missing},
                    "sha256": hashes,
                }
                _add_bytes(tar, "manifest.json", json.dumps(manifest, indent=2).encode())
            os.chmod(partial, 0o600)
            os.replace(partial, final)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
    return BackupReport(final, kind, count, final.stat().st_size, key_ids, missing)


def _apart_from_the_key(target_dir: Path, store: DocumentStore) -> None:
    """Backups never go into the folder holding the document key file (nor hold that folder): one copy would
    then carry both the sealed documents and what opens them."""
    target, root = target_dir.resolve(), store.root.resolve()
    if target.is_relative_to(root) or root.is_relative_to(target):
        raise OperationError(
            f"{target_dir} holds (or lies inside) {store.root}, where the document key file is kept: "
            "choose a backup folder apart from EQA_DATA_DIR (EQA_BACKUP_DIR or --to)"
        )


def _private(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Members as nobody's, readable by the owner only, whoever extracts them."""
    info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
    return info


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.now(UTC).timestamp())
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


_STORAGE_KEY = re.compile(r"^[0-9a-f]{64}$")


async def _referenced(db: Database) -> set[str]:
    """Storage keys the database still needs (documents not purged)."""
    async with db.reading() as s:
        rows = await s.scalars(select(Document.storage_key).where(Document.status != "purged"))
        return {k for k in rows if _STORAGE_KEY.match(k or "")}


def _referenced_sqlite(path: Path) -> set[str]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT storage_key FROM documents WHERE status != 'purged'").fetchall()
    except sqlite3.OperationalError:  # no documents table (an empty database)
        rows = []
    finally:
        conn.close()
    return {k for (k,) in rows if _STORAGE_KEY.match(k or "")}


# -- restore ------------------------------------------------------------------------------------------------
@dataclass
class RestoreReport:
    database: str
    documents: int
    skipped: int  # already present with the same content
    backup_revision: str | None  # the schema the backup was taken at (migrated to the newest since)
    unknown_keys: set[str]  # key ids of restored documents that the configured keys cannot open


def _members(tar: tarfile.TarFile) -> Iterator[tuple[tarfile.TarInfo, str]]:
    for member in tar.getmembers():
        match = _MEMBER.match(member.name)
        if match and member.isfile() and match.group(3).startswith(match.group(1) + match.group(2)):
            yield member, match.group(3)


async def restore(settings: Settings, archive: Path, *, force: bool = False) -> RestoreReport:
    """Database first (after refusing to overwrite a database holding people's data without `force`),
    then the documents, then migrations up to this version's schema. Stop the bot before restoring."""
    url = make_url(settings.database_url)
    with tarfile.open(archive, "r") as tar:
        try:
            manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        except (KeyError, AttributeError, ValueError):
            raise OperationError(f"{archive} is not an eqa-bot backup (no manifest.json)") from None
        if manifest.get("format") != FORMAT:
            raise OperationError(f"{archive}: backup format {manifest.get('format')} is not supported here")
        kind = manifest["database"]["kind"]
        backend = url.get_backend_name()
        if kind != backend:
            raise OperationError(
                f"the backup holds a {kind} database but EQA_DATABASE_URL is {backend}: restore into the same kind"
            )
        db = Database(settings.database_url)
        try:
            if not force and await _has_people(db):
                raise OperationError(
                    "the database already holds labs or contacts: restoring would replace them. Stop the bot, "
                    "take a backup of what is there, then run again with --force"
                )
        finally:
            await db.dispose()

        with tempfile.TemporaryDirectory(prefix="eqa-restore-") as tmp:
            name = manifest["database"]["file"]
            if name not in ("database.sqlite3", "database.pgdump"):
                raise OperationError(f"{archive}: unexpected database file {name!r}")
            dump = Path(tmp) / name
            with open(dump, "wb") as out:
                shutil.copyfileobj(tar.extractfile(name), out)  # type: ignore[misc]
            if _sha256(dump) != manifest["sha256"][name]:
                raise OperationError(f"{archive}: {name} does not match its checksum (damaged backup)")
            if kind == "sqlite":
                target = _sqlite_path(url)
                private_dirs(target.parent)
                await asyncio.to_thread(_sqlite_copy, dump, target)
            else:
                tool = _pg_tool("pg_restore")
                args = [tool, "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction"]
                env = _libpq_env(url)
                await asyncio.to_thread(_run_tool, [*args, f"--dbname={env.get('PGDATABASE', '')}", str(dump)], env)

        store = store_for(settings)
        restored = skipped = 0
        seen_keys: set[str] = set()
        for member, key in _members(tar):
            blob = tar.extractfile(member).read()  # type: ignore[union-attr]
            path = store.root / key[:2] / key[2:4] / key
            if path.is_file() and path.read_bytes() == blob:
                skipped += 1
            else:
                store.put_sealed(key, blob)
                restored += 1
            kid = store.sealed_with(key)
            if kid is not None:
                seen_keys.add(kid)

    db = Database(settings.database_url)
    try:
        await db.migrate()  # a backup from an older version comes up to this version's schema
    finally:
        await db.dispose()
    revision = manifest["database"].get("revision")
    return RestoreReport(kind, restored, skipped, revision, store.keyring.unknown(seen_keys))


# -- purge --------------------------------------------------------------------------------------------------
@dataclass
class PurgeReport:
    cutoff: datetime
    documents: int = 0  # rows marked purged
    files: int = 0  # files deleted (shared files go when their last row does)
    orphans: int = 0  # files no row needs (generated PDFs, uploads a crash left uncommitted), past retention
    temporary: int = 0
    kept_shared: int = 0  # files still needed by a newer row


async def purge(
    settings: Settings, *, older_than_days: int | None = None, dry_run: bool = False, now: datetime | None = None
) -> PurgeReport:
    """Documents uploaded before the cutoff: rows marked `purged` (kept, with an audit entry, for the record),
    files deleted unless a newer row still needs the same bytes."""
    days = older_than_days or settings.retention_days
    if not days:
        raise OperationError("no retention set: set EQA_RETENTION_DAYS or pass --older-than DAYS")
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    store = store_for(settings)
    report = PurgeReport(cutoff)
    db = Database(settings.database_url)
    try:
        async with db.transaction() as s:
            old = list(
                await s.scalars(
                    select(Document).where(Document.status != "purged", Document.created_at < cutoff).with_for_update()
                )
            )
            report.documents = len(old)
            if not dry_run:
                for doc in old:
                    s.add(
                        AuditLog(
                            at=now or datetime.now(UTC),
                            actor="system:purge",
                            action="document_purged",
                            entity="document",
                            entity_id=str(doc.id),
                            lab_id=doc.lab_id,
                            before={"status": doc.status},
                            after={"status": "purged", "retention_days": days},
                        )
                    )
                if old:
                    # The Telegram file id would let the document be sent again from Telegram's copy.
                    await s.execute(
                        update(Document)
                        .where(Document.id.in_([d.id for d in old]))
                        .values(status="purged", platform_file_id=None)
                    )
            needed = await _needed(s, exclude={d.id for d in old} if dry_run else set())
        candidates = {d.storage_key for d in old}
        for key in candidates:
            if key in needed:
                report.kept_shared += 1
            elif _delete(store, key, dry_run):
                report.files += 1
        for key in list(store.stored()):
            if key in needed or key in candidates:
                continue
            with contextlib.suppress(FileNotFoundError):
                if datetime.fromtimestamp(store.modified(key), UTC) < cutoff and _delete(store, key, dry_run):
                    report.orphans += 1
        if not dry_run:
            report.temporary = store.clean_temporary()
            # A row written meanwhile for the same bytes (a re-upload racing the purge) must not lose its file.
            async with db.reading() as s:
                lost = {k for k in candidates & await _needed(s) if not store.exists(k)}
            if lost:
                raise OperationError(f"{len(lost)} document(s) sent again during the purge lost their file")
    finally:
        await db.dispose()
    return report


async def _needed(session: Any, exclude: set[int] | None = None) -> set[str]:
    query = select(Document.storage_key).where(Document.status != "purged")
    if exclude:
        query = query.where(Document.id.not_in(exclude))
    keys = set(await session.scalars(query))
    # Parts of an album being collected right now.
    for event in await session.scalars(select(AlbumItem.event)):
        stored = ((event or {}).get("file") or {}).get("stored")
        if stored:
            keys.add(stored)
    return keys


def _delete(store: DocumentStore, key: str, dry_run: bool) -> bool:
    if not store.exists(key):
        return False
    if not dry_run:
        store.delete(key)
    return True


# -- keys -----------------------------------------------------------------------------------------------------
def rotate(settings: Settings) -> tuple[Rotation, DocumentStore]:
    store = store_for(settings)
    return store.rotate(), store


async def document_counts(settings: Settings) -> dict[str, int]:
    """Rows by status (for reports)."""
    db = Database(settings.database_url)
    try:
        async with db.reading() as s:
            rows = await s.execute(select(Document.status, func.count()).group_by(Document.status))
            return {status: n for status, n in rows.all()}
    finally:
        await db.dispose()


# -- the command line ---------------------------------------------------------------------------------------
def run_cli(args: argparse.Namespace) -> int:
    """`eqa-bot backup|restore|purge|rotate-key|health` (the parsers are in bot/cli.py)."""
    from storage.crypto import KeyProblem, generate_key

    if args.command == "rotate-key" and args.new_key:
        print(generate_key())
        print(
            "Put this in EQA_DOCUMENT_KEY, move the current key to the front of EQA_DOCUMENT_OLD_KEYS, restart "
            "every worker, then run `eqa-bot rotate-key`.",
            file=sys.stderr,
        )
        return 0
    try:
        settings = Settings()
        if args.command == "backup":
            report = asyncio.run(backup(settings, args.to))
            keys = ", ".join(f"{k}: {n}" for k, n in sorted(report.key_ids.items())) or "none"
            print(f"{report.path} ({report.size} bytes): {report.database} database, {report.documents} documents")
            print(f"documents by key id: {keys}. The archive holds no key: keep the document keys apart from it.")
            if report.missing:
                missing = len(report.missing)
                print(f"warning: {missing} document(s) the database needs are not in the store", file=sys.stderr)
                return 1
            return 0
        if args.command == "restore":
            restored = asyncio.run(restore(settings, args.archive, force=args.force))
            print(
                f"restored the {restored.database} database (taken at schema {restored.backup_revision}, now "
                f"migrated to the newest) and {restored.documents} documents ({restored.skipped} already there)"
            )
            if restored.unknown_keys:
                print(
                    f"warning: documents sealed with key(s) {', '.join(sorted(restored.unknown_keys))} cannot be "
                    "opened with the configured keys: add them to EQA_DOCUMENT_OLD_KEYS",
                    file=sys.stderr,
                )
                return 1
            return 0
        if args.command == "purge":
            purged = asyncio.run(purge(settings, older_than_days=args.older_than, dry_run=args.dry_run))
            verb = "would be" if args.dry_run else "were"
            print(
                f"documents uploaded before {purged.cutoff:%Y-%m-%d %H:%M} UTC: {purged.documents} {verb} "
                "marked purged, "
                f"{purged.files} file(s) deleted ({purged.kept_shared} kept: newer documents hold the same bytes), "
                f"{purged.orphans} unreferenced file(s) past retention, {purged.temporary} temporary file(s)"
            )
            return 0
        if args.command == "rotate-key":
            rotation, store = rotate(settings)
            if store.uses_key_file:
                print(f"note: EQA_DOCUMENT_KEY is not set; documents are sealed with the key file {store.key_file}")
            print(
                f"re-sealed {rotation.resealed} document(s) with key {store.keyring.current}; "
                f"{rotation.already_current} already were; {len(rotation.failed)} could not be opened"
            )
            for key in rotation.failed[:20]:
                print(f"  cannot open {key}", file=sys.stderr)
            return 1 if rotation.failed else 0
        if args.command == "health":
            from bot.ops.health import check

            result = asyncio.run(check(settings, timeout=args.timeout))
            print(json.dumps(result, ensure_ascii=False, indent=2))
            return 0 if result["ok"] else 1
    except (OperationError, KeyProblem) as exc:
        print(f"eqa-bot {args.command}: {exc}", file=sys.stderr)
        return 2
    return 2
