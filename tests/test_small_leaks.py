"""Small leaks: binding costs the same whether the lab code exists or not; the SQLite file and the document
folders are private whatever the umask; backups are not kept beside the document key."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.settings import Settings
from storage.db import Database
from storage.files import KEY_FILE, DocumentStore
from storage.models import Lab
from storage.repos import bindings

NOW = datetime(2025, 2, 10, 2, 0, tzinfo=UTC)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
async def db(database_url: str) -> object:
    database = Database(database_url)
    await database.migrate()
    yield database
    await database.dispose()


# -- binding timing ---------------------------------------------------------------------------------------------
async def test_an_unknown_lab_code_costs_a_hash_like_a_known_one(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    async with db.transaction() as s:
        lab = Lab(code="HN0001", name="某医院检验科", institution_type="general_hospital", city="郑州市")
        s.add(lab)
        await s.flush()
        await bindings.issue(s, lab.id, now=NOW, created_by="test")
    calls: list[str] = []
    real = bindings._hash

    def counting(code: str, salt: bytes, iterations: int = bindings._ITERATIONS) -> str:
        calls.append(code)
        return real(code, salt, iterations)

    monkeypatch.setattr(bindings, "_hash", counting)
    counts = {}
    for lab_code in ("HN0001", "HN9999", "NOSUCHLAB"):
        calls.clear()
        async with db.transaction() as s:
            assert await bindings.redeem(s, lab_code, "QRST-6789", now=NOW, used_by="test:x") is None
        counts[lab_code] = len(calls)
    assert counts == {"HN0001": 1, "HN9999": 1, "NOSUCHLAB": 1}, counts


# -- file modes -------------------------------------------------------------------------------------------------
async def test_the_sqlite_file_and_document_folders_are_private_whatever_the_umask(tmp_path: Path) -> None:
    with umask(0o022):
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'var' / 'eqa.sqlite3'}")
        try:
            await db.migrate()
        finally:
            await db.dispose()
        store = DocumentStore(tmp_path / "var" / "data")
        key = store.put(b"a licence scan")
    database = tmp_path / "var" / "eqa.sqlite3"
    assert mode(database) == 0o600
    for extra in ("-wal", "-shm"):
        sidecar = database.with_name(database.name + extra)
        if sidecar.exists():
            assert mode(sidecar) == 0o600, extra
    assert mode(tmp_path / "var") == 0o700
    root = tmp_path / "var" / "data"
    for folder in (root, root / key[:2], root / key[:2] / key[2:4]):
        assert mode(folder) == 0o700, folder
    assert mode(root / key[:2] / key[2:4] / key) == 0o600
    assert mode(root / KEY_FILE) == 0o600


async def test_a_sqlite_backup_is_private_whatever_the_umask(tmp_path: Path) -> None:
    from bot.ops.backup import backup

    url = f"sqlite+aiosqlite:///{tmp_path / 'eqa.sqlite3'}"
    db = Database(url)
    try:
        await db.migrate()
    finally:
        await db.dispose()
    settings = Settings(EQA_DATABASE_URL=url, EQA_DATA_DIR=str(tmp_path / "data"), _env_file=None)
    with umask(0o022):
        report = await backup(settings, tmp_path / "elsewhere" / "backups")
    assert mode(report.path) == 0o600 and mode(report.path.parent) == 0o700


# -- backups and the key ------------------------------------------------------------------------------------------
def _inside(child: Path, parent: Path) -> bool:
    return child.resolve().is_relative_to(parent.resolve())


def test_the_default_backup_folder_is_not_beside_the_document_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("EQA_BACKUP_DIR", "EQA_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    key_file = settings.data_dir / KEY_FILE
    # Copying the backups (or the folder holding them) must not take the key file along.
    assert not _inside(key_file, settings.backup_dir)
    assert not _inside(settings.backup_dir, settings.data_dir)
    assert key_file.resolve().parent.parent != settings.backup_dir.resolve().parent


async def test_a_backup_into_the_folder_holding_the_key_is_refused(tmp_path: Path) -> None:
    from bot.ops.backup import OperationError, backup

    url = f"sqlite+aiosqlite:///{tmp_path / 'eqa.sqlite3'}"
    settings = Settings(EQA_DATABASE_URL=url, EQA_DATA_DIR=str(tmp_path / "data"), _env_file=None)
    DocumentStore(settings.data_dir).put(b"x")  # makes the key file
    for target in (settings.data_dir, settings.data_dir / "backups"):
        with pytest.raises(OperationError, match="key"):
            await backup(settings, target)
    assert not list(settings.data_dir.rglob("eqa-backup-*"))


def test_deployments_keep_backups_off_the_data_volume() -> None:
    root = Path(__file__).resolve().parents[1]
    env = (root / "deploy" / "eqa-bot.env.example").read_text()
    docker = (root / "deploy" / "Dockerfile").read_text()
    data = next(line.split("=", 1)[1] for line in env.splitlines() if line.startswith("EQA_DATA_DIR="))
    backups = next(line.split("=", 1)[1] for line in env.splitlines() if line.startswith("EQA_BACKUP_DIR="))
    assert not backups.startswith(str(Path(data).parent) + "/"), (data, backups)
    assert "EQA_BACKUP_DIR=/var/lib/eqa-bot/" not in docker
    readme = (root / "README.md").read_text()
    assert "keep backups and the key apart" in readme.lower() or "backups and the key apart" in readme.lower()
