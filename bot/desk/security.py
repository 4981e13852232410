"""Who is signed in to the desk: argon2 password hashes, signed session cookies, CSRF tokens, lockouts, TOTP.

A session cookie holds the account id, the account's session epoch (bumped when the password changes or the
account is disabled, so older cookies stop working), when it was issued and a random CSRF secret, signed with
HMAC-SHA256. The server keeps no session table; the account row decides on every request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from storage.models import DeskAccount

COOKIE = "eqa_desk"
SESSION_HOURS = 10  # a working day; then the person signs in again
MAX_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)
ROLES = ("reviewer", "admin")
_hasher = PasswordHasher()
# A hash computed once, so that an unknown name costs as much time as a wrong password.
_DUMMY = _hasher.hash("not-a-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> str | None:
    """The catalogue key of what is wrong with a new password, or None."""
    if len(password) < 10:
        return "desk-pw-short"
    if len(set(password)) < 5:
        return "desk-pw-simple"
    return None


def load_secret(explicit: str | None, path: Path) -> bytes:
    """EQA_DESK_SECRET when set; otherwise a secret generated once into a 0600 file."""
    if explicit:
        return explicit.encode()
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(value)
    return value


@dataclass(frozen=True)
class Session:
    account_id: int
    epoch: int
    issued: float
    csrf: str


class Signer:
    def __init__(self, secret: bytes) -> None:
        self._key = hashlib.sha256(b"eqa-desk-session\0" + secret).digest()

    def _mac(self, body: bytes) -> str:
        return base64.urlsafe_b64encode(hmac.new(self._key, body, hashlib.sha256).digest()).decode().rstrip("=")

    def dump(self, s: Session) -> str:
        body = base64.urlsafe_b64encode(
            json.dumps([s.account_id, s.epoch, int(s.issued), s.csrf], separators=(",", ":")).encode()
        ).decode()
        return f"{body}.{self._mac(body.encode())}"

    def load(self, value: str | None, now: float | None = None) -> Session | None:
        if not value or "." not in value:
            return None
        body, mac = value.rsplit(".", 1)
        if not hmac.compare_digest(mac, self._mac(body.encode())):
            return None
        try:
            account_id, epoch, issued, csrf = json.loads(base64.urlsafe_b64decode(body.encode()))
        except (ValueError, TypeError):
            return None
        if (now or time.time()) - issued > SESSION_HOURS * 3600:
            return None
        return Session(int(account_id), int(epoch), float(issued), str(csrf))

    def csrf_token(self, s: Session) -> str:
        return self._mac(f"csrf:{s.account_id}:{s.csrf}".encode())

    def csrf_ok(self, s: Session, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(token or "", self.csrf_token(s))


def new_session(account: DeskAccount) -> Session:
    return Session(account.id, account.session_epoch, time.time(), secrets.token_urlsafe(16))


def locked(account: DeskAccount, now: datetime) -> bool:
    return account.locked_until is not None and account.locked_until > now


def register_failure(account: DeskAccount, now: datetime) -> None:
    """Five failures in a row lock the account for 15 minutes (the count starts again afterwards)."""
    account.failed_logins += 1
    if account.failed_logins >= MAX_FAILURES:
        account.locked_until = now + LOCK_FOR
        account.failed_logins = 0


def totp_ok(secret: str | None, code: str) -> bool:
    if not secret:
        return True
    return pyotp.TOTP(secret).verify(code.strip().replace(" ", ""), valid_window=1)


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, name: str, issuer: str = "EQA desk") -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=issuer)
