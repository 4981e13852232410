"""`eqa-bot unconfirmed`: the rows a killed process had on the wire — almost always delivered, never resent by
the bot (that could send them twice). Listed for the operator; `--resend ID …` queues chosen ones again, for
a person who says they got nothing."""

from __future__ import annotations

from typing import Any

from storage.db import Database
from storage.models import utcnow
from storage.repos import outbox as repo


async def report(database_url: str, resend: list[int] | None = None) -> int:
    db = Database(database_url)
    try:
        if resend:
            async with db.transaction() as s:
                queued = await repo.resend(s, resend, utcnow())
            print(f"queued again: {', '.join(map(str, queued)) or 'nothing (not unconfirmed)'}")
            return 0 if queued else 1
        async with db.reading() as s:
            rows = await repo.unconfirmed(s)
        if not rows:
            print("no unconfirmed messages")
        for r in rows:
            print(f"{r.id}\t{r.created_at:%Y-%m-%d %H:%M}\t{r.platform}:{r.chat_id}\t{_kind(r.payload)}")
        return 0
    finally:
        await db.dispose()


def _kind(payload: dict[str, Any]) -> str:
    return str(payload.get("type", "?")) + (" (redacted)" if payload.get("redacted") else "")
