"""Documents at rest: sealed with AES-GCM under their content hash, keys rotated, tampering detected."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from pathlib import Path

import pytest

from bot.settings import Settings
from storage.crypto import KeyProblem, Keyring, generate_key, key_id, parse_key, parse_keys
from storage.files import KEY_FILE, DocumentCorrupt, DocumentKeyMissing, DocumentStore

K1, K2, K3 = (bytes([n]) * 32 for n in (1, 2, 3))
SCAN = b"\xff\xd8\xff\xe0 a scan of the agreement with a red seal \x00\x01" * 50


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def test_nothing_readable_on_disk_and_the_name_is_the_content_hash(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path, [K1])
    key = store.put(SCAN)
    assert key == hashlib.sha256(SCAN).hexdigest()
    path = tmp_path / key[:2] / key[2:4] / key
    blob = path.read_bytes()
    assert b"red seal" not in blob and SCAN not in blob
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert store.get(key) == SCAN
    assert store.sealed_with(key) == key_id(K1)
    # Same bytes again: one copy, not rewritten (only its time refreshed: purging goes by age).
    os.utime(path, (0, 0))
    assert store.put(SCAN) == key and path.read_bytes() == blob and path.stat().st_mtime > 0
    assert list(store.stored()) == [key]


def test_names_users_chose_never_reach_the_file_system(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path, [K1])
    for bad in ("../../etc/passwd", "协议.jpg", "A" * 64, "", key_id(K1)):
        with pytest.raises(ValueError):
            store.get(bad)
        with pytest.raises(ValueError):
            store.delete(bad)


def test_each_seal_uses_a_fresh_nonce(tmp_path: Path) -> None:
    ring = Keyring([K1])
    assert ring.seal(SCAN, "x") != ring.seal(SCAN, "x")


def test_a_swapped_or_altered_file_is_refused(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path, [K1])
    a, b = store.put(b"lab A licence"), store.put(b"lab B licence")
    pa, pb = (tmp_path / k[:2] / k[2:4] / k for k in (a, b))
    blob_b = pb.read_bytes()
    pa.write_bytes(blob_b)  # lab B's blob under lab A's name: the name is authenticated
    with pytest.raises(DocumentCorrupt):
        store.get(a)
    flipped = bytearray(blob_b)
    flipped[-1] ^= 1
    pb.write_bytes(bytes(flipped))
    with pytest.raises(DocumentCorrupt):
        store.get(b)


def test_files_from_before_encryption_open_only_when_they_match_their_hash(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path, [K1])
    key = hashlib.sha256(b"old plain scan").hexdigest()
    path = tmp_path / key[:2] / key[2:4] / key
    path.parent.mkdir(parents=True)
    path.write_bytes(b"old plain scan")
    assert store.get(key) == b"old plain scan" and store.sealed_with(key) is None
    assert store.rotate().resealed == 1  # rotate-key seals them
    assert store.sealed_with(key) == key_id(K1) and b"old plain" not in path.read_bytes()
    path.write_bytes(b"something else")
    with pytest.raises(DocumentCorrupt):
        store.get(key)


def test_rotation_reseals_everything_under_the_newest_key(tmp_path: Path) -> None:
    old = DocumentStore(tmp_path, [K1])
    keys = [old.put(f"document {i}".encode()) for i in range(5)]
    # The operator adds K2 as the newest key, keeping K1 to open what it sealed.
    both = DocumentStore(tmp_path, [K2, K1])
    assert all(both.get(k) == f"document {i}".encode() for i, k in enumerate(keys))
    new_key = both.put(b"written after the new key")
    assert both.sealed_with(new_key) == key_id(K2)
    report = both.rotate()
    assert (report.resealed, report.already_current, report.failed) == (5, 1, [])
    assert both.rotate().resealed == 0  # idempotent
    # K1 can now be dropped.
    only_new = DocumentStore(tmp_path, [K2])
    assert [only_new.get(k) for k in keys] == [f"document {i}".encode() for i in range(5)]
    with pytest.raises(DocumentKeyMissing) as exc:  # a DocumentCorrupt: callers that skip bad files skip it
        DocumentStore(tmp_path, [K3]).get(keys[0])
    assert exc.value.key_id == key_id(K2) and "EQA_DOCUMENT_OLD_KEYS" in str(exc.value)


def test_without_a_configured_key_a_key_file_is_made_once_with_0600(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path / "data")
    assert not (tmp_path / "data" / KEY_FILE).exists()  # nothing written yet, no key file
    key = store.put(SCAN)
    key_file = tmp_path / "data" / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # Another process (another store) uses the same file.
    assert DocumentStore(tmp_path / "data").get(key) == SCAN
    assert key not in key_file.read_text() and store.uses_key_file
    # A configured key later: the file's blobs still open, new ones use the configured key, rotation moves all.
    configured = DocumentStore(tmp_path / "data", [K1])
    assert configured.get(key) == SCAN
    assert configured.rotate().resealed == 1
    key_file.unlink()
    assert DocumentStore(tmp_path / "data", [K1]).get(key) == SCAN


def test_racing_key_file_creation_yields_one_key(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from storage.crypto import load_or_create_key_file

    path = tmp_path / "k"
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: load_or_create_key_file(path), range(16)))
    assert len(keys) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["k"]


def test_key_parsing_names_the_setting_never_the_value() -> None:
    key = generate_key()
    assert parse_key(key) == base64.b64decode(key)
    urlsafe = base64.urlsafe_b64encode(base64.b64decode(key)).decode().rstrip("=")
    assert parse_key(urlsafe) == base64.b64decode(key)
    for bad in ("not base64!!", b64(b"short"), "x" * 7):
        with pytest.raises(KeyProblem) as exc:
            parse_key(bad)
        assert bad not in str(exc.value) and "EQA_DOCUMENT_KEY" in str(exc.value)
    assert parse_keys(b64(K2), f"{b64(K1)}, {b64(K1)},") == (K2, K1)
    with pytest.raises(KeyProblem):
        parse_keys(None, b64(K1))


def test_settings_carry_the_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EQA_DOCUMENT_KEY", b64(K2))
    monkeypatch.setenv("EQA_DOCUMENT_OLD_KEYS", b64(K1))
    monkeypatch.setenv("EQA_RETENTION_DAYS", "400")
    settings = Settings(_env_file=None)
    assert settings.document_keys() == (K2, K1) and settings.retention_days == 400
    assert b64(K2) not in repr(settings)
    monkeypatch.setenv("EQA_DOCUMENT_KEY", "oops")
    with pytest.raises(KeyProblem):
        Settings(_env_file=None).document_keys()


def test_the_running_app_seals_uploads(tmp_path: Path) -> None:
    """What build_app wires: the configured key, not a key file."""
    import asyncio

    from bot.app import build_app

    async def go() -> str:
        settings = Settings(
            EQA_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}",
            EQA_DATA_DIR=str(tmp_path / "data"),
            EQA_DOCUMENT_KEY=b64(K3),
            _env_file=None,
        )
        app = await build_app(settings, migrate=False)
        try:
            key = app.services.store.put(SCAN)
            return str(app.services.store.sealed_with(key))
        finally:
            await app.close()

    assert asyncio.run(go()) == key_id(K3)
    assert not (tmp_path / "data" / KEY_FILE).exists()


def test_leftover_temporary_files_are_cleaned(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path, [K1])
    key = store.put(SCAN)
    tmp = tmp_path / key[:2] / key[2:4] / ".tmp-crashed"
    tmp.write_bytes(b"half")
    os.utime(tmp, (0, 0))
    assert store.clean_temporary() == 1 and not tmp.exists() and store.get(key) == SCAN
