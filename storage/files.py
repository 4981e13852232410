"""The document store: uploaded files kept under their content hash, never under a name a user chose,
and encrypted at rest (AES-256-GCM, see `storage.crypto`).

Layout: `<root>/ab/cd/<sha256 of the plaintext>`, each file a sealed blob. Storing the same bytes twice keeps
one copy, so one file may back several `Document` rows (even of different labs): whoever deletes a file
must first check that no other row still needs it (`bot.ops.backup.purge` does).

Keys: the ones given (newest first) or, when none are configured (the demo, tests), a key generated on
first use into `<root>/.document-key` (mode 0600). A configured keyring still opens blobs sealed with that
file's key, so moving from the file to EQA_DOCUMENT_KEY is a `rotate-key` away.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from storage.crypto import Keyring, Tampered, UnknownKey, load_or_create_key_file, sealed_with
from storage.private import private_dirs

_KEY = re.compile(r"^[0-9a-f]{64}$")
_SHARD = re.compile(r"^[0-9a-f]{2}$")
KEY_FILE = ".document-key"


class DocumentCorrupt(Exception):
    """A stored file cannot be read as what its name says: altered on disk, sealed for another name, or
    sealed with a key this process does not have (`DocumentKeyMissing`)."""


class DocumentKeyMissing(DocumentCorrupt):
    def __init__(self, key_id: str, message: str) -> None:
        super().__init__(message)
        self.key_id = key_id


@dataclass
class Rotation:
    resealed: int = 0
    already_current: int = 0
    failed: list[str] = field(default_factory=list)  # storage keys that could not be opened


class DocumentStore:
    def __init__(self, root: str | Path, keys: Sequence[bytes] = ()) -> None:
        self.root = Path(root)
        private_dirs(self.root)
        self._configured = tuple(keys)
        self._keyring: Keyring | None = None
        self._lock = threading.Lock()

    # -- keys ------------------------------------------------------------------------------------------
    @property
    def key_file(self) -> Path:
        return self.root / KEY_FILE

    @property
    def uses_key_file(self) -> bool:
        return not self._configured

    @property
    def keyring(self) -> Keyring:
        """Built on first use, so a store nobody writes to creates no key file."""
        with self._lock:
            if self._keyring is None:
                if self._configured:
                    keys = list(self._configured)
                    if self.key_file.exists():  # blobs from before a key was configured stay readable
                        keys.append(load_or_create_key_file(self.key_file))
                else:
                    keys = [load_or_create_key_file(self.key_file)]
                self._keyring = Keyring(list(dict.fromkeys(keys)))
            return self._keyring

    # -- the interface the flows and transports use ----------------------------------------------------
    def _path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError("not a document key")
        return self.root / key[:2] / key[2:4] / key

    def put(self, data: bytes) -> str:
        """Store `data` and return its key; storing the same bytes twice keeps one copy."""
        key = hashlib.sha256(data).hexdigest()
        path = self._path(key)
        if path.exists():
            # Fresh again: purging goes by a file's age too, and must not take what was just sent anew.
            with contextlib.suppress(OSError):
                os.utime(path)
            return key
        self._write(path, self.keyring.seal(data, key))
        return key

    def get(self, key: str) -> bytes:
        blob = self._path(key).read_bytes()
        if sealed_with(blob) is None:
            data = blob  # written before encryption at rest: trusted only if it hashes to its name
        else:
            try:
                data = self.keyring.open(blob, key)
            except Tampered as exc:
                raise DocumentCorrupt(str(exc)) from None
            except UnknownKey as exc:
                raise DocumentKeyMissing(exc.key_id, str(exc)) from None
        if hashlib.sha256(data).hexdigest() != key:
            raise DocumentCorrupt(f"document {key[:12]}… does not match its hash")
        return data

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    # -- operations (rotate-key, purge, backup) --------------------------------------------------------
    def put_sealed(self, key: str, blob: bytes) -> None:
        """Put back a file exactly as it was stored (a restore). It is not opened here: it may be sealed
        with a key this process lacks; `get` checks it on the way out."""
        self._write(self._path(key), blob, replace=True)

    def stored(self) -> Iterator[str]:
        """Every stored document's key (temporary and foreign files are skipped)."""
        for a in sorted(self._dirs(self.root)):
            for b in sorted(self._dirs(a)):
                for entry in sorted(b.iterdir()):
                    if _KEY.match(entry.name) and entry.name.startswith(a.name + b.name) and entry.is_file():
                        yield entry.name

    def sealed_with(self, key: str) -> str | None:
        """The id of the key a document is sealed with (None: stored in the clear, from before encryption)."""
        with open(self._path(key), "rb") as fh:
            return sealed_with(fh.read(64))

    def modified(self, key: str) -> float:
        return self._path(key).stat().st_mtime

    def reseal(self, key: str) -> bool:
        """Seal one document with the newest key; False when it already was. Safe beside a running bot:
        the file is replaced whole, and either version opens with the keys the bot has."""
        if self.sealed_with(key) == self.keyring.current:
            return False
        data = self.get(key)
        self._write(self._path(key), self.keyring.seal(data, key), replace=True)
        return True

    def rotate(self) -> Rotation:
        report = Rotation()
        for key in self.stored():
            try:
                if self.reseal(key):
                    report.resealed += 1
                else:
                    report.already_current += 1
            except Exception:
                report.failed.append(key)
        return report

    def clean_temporary(self, older_than: float = 3600) -> int:
        """Remove half-written files a crash left behind (never a finished document)."""
        cutoff = time.time() - older_than
        removed = 0
        for a in self._dirs(self.root):
            for b in self._dirs(a):
                for entry in b.iterdir():
                    if entry.name.startswith(".tmp-") and entry.stat().st_mtime < cutoff:
                        entry.unlink(missing_ok=True)
                        removed += 1
        return removed

    # -- internals -------------------------------------------------------------------------------------
    @staticmethod
    def _dirs(parent: Path) -> Iterator[Path]:
        with contextlib.suppress(FileNotFoundError):
            for entry in parent.iterdir():
                if _SHARD.match(entry.name) and entry.is_dir():
                    yield entry

    @staticmethod
    def _write(path: Path, blob: bytes, *, replace: bool = False) -> None:
        private_dirs(path.parent)
        # Write then rename: a crash leaves either the whole file or none of it (mkstemp makes it 0600).
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(blob)
                fh.flush()
                os.fsync(fh.fileno())
            if replace or not path.exists():
                os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
        # The rename itself must survive a power cut too, not only the bytes.
        with contextlib.suppress(OSError):
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
