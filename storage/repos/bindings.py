"""One-time binding codes: issued by an admin per lab, stored only as a salted slow hash, single use,
expiring. A code is 8 characters from an alphabet without look-alikes, shown as XXXX-XXXX."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import BindingCode, Lab

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud and typed on phones
LENGTH = 8
_ITERATIONS = 60_000


def normalise_code(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).upper()
    return "".join(ch for ch in text if ch.isalnum())


def display_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def _hash(code: str, salt: bytes, iterations: int = _ITERATIONS) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", code.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def _verify(code: str, stored: str) -> bool:
    try:
        _, iterations, salt, _digest = stored.split("$")
        expected = _hash(code, bytes.fromhex(salt), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(expected, stored)


# Hashed against when there is nothing to check a code against (unknown lab, no live code): the reply then
# takes as long as for a lab that exists, so timing does not tell which lab codes are real.
# (A made-up digest: verifying against it costs the full hash and never matches.)
_DUMMY = f"pbkdf2_sha256${_ITERATIONS}${'00' * 16}${'00' * 32}"


def new_code() -> tuple[str, str]:
    """A fresh code and its salted hash. Slow on purpose (it resists guessing from a stolen database):
    callers issuing many at once run it in worker threads (hashlib releases the GIL)."""
    code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return code, _hash(code, secrets.token_bytes(16))


async def issue(
    session: AsyncSession, lab_id: int, *, now: datetime, created_by: str, days: int = 60, for_backup: bool = False
) -> str:
    """A new code for the lab; the plain code is returned once and never stored."""
    code, hashed = new_code()
    session.add(
        BindingCode(
            lab_id=lab_id,
            code_hash=hashed,
            expires_at=now + timedelta(days=days),
            created_by=created_by,
            created_at=now,
            for_backup=for_backup,
        )
    )
    return code


async def redeem(
    session: AsyncSession, lab_code: str, code: str, *, now: datetime, used_by: str
) -> tuple[Lab, BindingCode] | None:
    """Use a code for the lab: the lab and the code on success, None otherwise (unknown lab, wrong,
    used or expired code: the caller must not tell which)."""
    code = normalise_code(code)
    if len(code) != LENGTH:  # decided before the lab is looked up: no clue about the lab either way
        return None
    lab = await session.scalar(select(Lab).where(Lab.code == lab_code.strip().upper()))
    candidates = (
        list(
            await session.scalars(
                select(BindingCode)
                .where(BindingCode.lab_id == lab.id, BindingCode.used_at.is_(None), BindingCode.expires_at > now)
                .with_for_update()
            )
        )
        if lab is not None
        else []
    )
    if not candidates:
        _verify(code, _DUMMY)  # the same slow hash as a real attempt
        return None
    for row in candidates:
        if _verify(code, row.code_hash):
            assert lab is not None
            row.used_at = now
            row.used_by = used_by
            return lab, row
    return None
