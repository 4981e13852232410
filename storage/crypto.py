"""Encryption at rest for stored documents: AES-256-GCM, several keys for rotation.

A sealed blob is `MAGIC | key id (8 bytes) | nonce (12 bytes) | ciphertext and tag`. The key id is derived
from the key itself (nobody has to number keys by hand), so a blob names the key that opens it and old
blobs stay readable while a new key is introduced. The associated data binds the blob to its storage key:
a file renamed or swapped on disk fails to open instead of showing another lab's document.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import secrets
from collections.abc import Iterable, Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.private import private_dirs

MAGIC = b"EQA\x01"
KEY_BYTES = 32
KEY_ID_BYTES = 8
NONCE_BYTES = 12
HEADER = len(MAGIC) + KEY_ID_BYTES + NONCE_BYTES


class KeyProblem(Exception):
    """A key is malformed or missing (the message never contains key material)."""


class UnknownKey(KeyProblem):
    def __init__(self, key_id: str) -> None:
        super().__init__(
            f"document sealed with key {key_id}, which is not configured "
            "(add it to EQA_DOCUMENT_OLD_KEYS, or restore the key file it came with)"
        )
        self.key_id = key_id


class Tampered(Exception):
    """The blob does not open with its key: altered, truncated, or moved from another name."""


def key_id(key: bytes) -> str:
    """A short public name for a key (hex), safe to log and to keep in backups' manifests."""
    return hashlib.sha256(b"eqa-bot document key id\0" + key).digest()[:KEY_ID_BYTES].hex()


def generate_key() -> str:
    """A fresh key, as EQA_DOCUMENT_KEY wants it (standard base64 of 32 random bytes)."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def parse_key(text: str, *, name: str = "EQA_DOCUMENT_KEY") -> bytes:
    """Decode a base64 key (standard or URL-safe alphabet). Errors name the setting, never the value."""
    cleaned = "".join(text.split()).replace("-", "+").replace("_", "/").rstrip("=")
    try:
        raw = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise KeyProblem(f"{name} is not base64 (create one with: eqa-bot rotate-key --new-key)") from None
    if len(raw) != KEY_BYTES:
        raise KeyProblem(f"{name} must be {KEY_BYTES} bytes once base64-decoded, not {len(raw)}")
    return raw


def parse_keys(current: str | None, old: str | None) -> tuple[bytes, ...]:
    """EQA_DOCUMENT_KEY (newest, used for sealing) then EQA_DOCUMENT_OLD_KEYS (comma-separated, for opening)."""
    keys: list[bytes] = []
    if current and current.strip():
        keys.append(parse_key(current))
    elif old and old.strip():
        raise KeyProblem("EQA_DOCUMENT_OLD_KEYS is set but EQA_DOCUMENT_KEY is not: set the newest key there")
    for i, part in enumerate((old or "").split(",")):
        if part.strip():
            keys.append(parse_key(part, name=f"EQA_DOCUMENT_OLD_KEYS[{i}]"))
    return tuple(dict.fromkeys(keys))


def load_or_create_key_file(path: Path) -> bytes:
    """The key kept in a file (mode 0600), created on first use. Several processes may race to create it:
    the file appears whole (written aside, then hard-linked into place) and the first one wins."""
    with contextlib.suppress(FileNotFoundError):
        return parse_key(path.read_text(), name=str(path))
    private_dirs(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(generate_key() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return parse_key(path.read_text(), name=str(path))


class Keyring:
    """Keys newest first: the first seals, all of them open."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise KeyProblem("a keyring needs at least one key")
        for k in keys:
            if len(k) != KEY_BYTES:
                raise KeyProblem(f"document keys are {KEY_BYTES} bytes")
        self._keys = {key_id(k): AESGCM(k) for k in keys}
        self.ids: tuple[str, ...] = tuple(self._keys)

    @property
    def current(self) -> str:
        return self.ids[0]

    def seal(self, plaintext: bytes, name: str) -> bytes:
        kid = bytes.fromhex(self.current)
        nonce = secrets.token_bytes(NONCE_BYTES)
        aad = MAGIC + kid + name.encode()
        return MAGIC + kid + nonce + self._keys[self.current].encrypt(nonce, plaintext, aad)

    def open(self, blob: bytes, name: str) -> bytes:
        kid = sealed_with(blob)
        if kid is None:
            raise Tampered("not a sealed document")
        aead = self._keys.get(kid)
        if aead is None:
            raise UnknownKey(kid)
        nonce = blob[len(MAGIC) + KEY_ID_BYTES : HEADER]
        try:
            return aead.decrypt(nonce, blob[HEADER:], blob[: len(MAGIC) + KEY_ID_BYTES] + name.encode())
        except InvalidTag:
            raise Tampered(f"document {name[:12]}… does not open with key {kid}") from None

    def unknown(self, ids: Iterable[str]) -> set[str]:
        """Which of these key ids cannot be opened here."""
        return {i for i in ids if i not in self._keys}


def sealed_with(blob: bytes) -> str | None:
    """The key id a blob was sealed with; None for anything that is not a sealed blob."""
    if len(blob) < HEADER + 16 or not blob.startswith(MAGIC):
        return None
    return blob[len(MAGIC) : len(MAGIC) + KEY_ID_BYTES].hex()
