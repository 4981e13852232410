"""Support for the outbox, broadcast and reminder tests (no tests here): a recording fake Sender, bulk data."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime
from typing import Any

from bot.app import App
from bot.delivery import Blocked, Gate
from conversations.events import Outbound, Reply, Toast, to_payload
from storage.models import Contact, Enrollment, Lab
from storage.repos.outbox import NewRow, add_rows, create_broadcast


class FakeSender:
    """Records every action it delivers and answers with message ids; raises on demand:
    `fail[chat] = [RetryAfter(0.01), Transient("boom")]` (one per attempt), `blocked = {chat}`,
    `hang_after = n` (the n+1-th send records, then never returns: a worker dying mid-request)."""

    platform = "test"

    def __init__(self) -> None:
        self.sent: list[Outbound] = []
        self.attempts: list[str] = []
        self.fail: dict[str, list[Exception]] = {}
        self.blocked: set[str] = set()
        self.hang_after: int | None = None
        self.hung = asyncio.Event()

    async def send(self, action: Outbound) -> dict[str, Any]:
        chat = str(getattr(action, "chat_id", ""))
        self.attempts.append(chat)
        if chat in self.blocked:
            raise Blocked("Forbidden: bot was blocked by the user")
        if self.fail.get(chat):
            raise self.fail[chat].pop(0)
        self.sent.append(action)
        if self.hang_after is not None and len(self.sent) > self.hang_after:
            self.hung.set()
            await asyncio.Event().wait()
        return {"message_ids": [len(self.sent)]}

    async def answer(self, toast: Toast) -> None:
        return None

    def chats(self) -> Counter[str]:
        return Counter(str(getattr(a, "chat_id", "")) for a in self.sent)


def fast_gate() -> Gate:
    return Gate(per_second=10_000, per_chat_per_second=10_000, per_group_per_minute=100_000)


async def add_lab(
    app: App,
    code: str,
    *,
    city: str = "郑州市",
    institution_type: str = "general_hospital",
    status: str | None = None,
    contacts: int = 1,
    backups: int = 0,
    platform: str = "test",
    **enrollment: Any,
) -> tuple[int, list[int]]:
    """A lab with bound contacts (chat ids "<code>-p0", "<code>-b0", …) and, optionally, an enrollment."""
    async with app.db.transaction() as s:
        lab = Lab(code=code, name=f"{code} 检验科", institution_type=institution_type, level="L3", city=city)
        s.add(lab)
        await s.flush()
        ids = []
        for i in range(contacts + backups):
            backup = i >= contacts
            chat = f"{code}-{'b' if backup else 'p'}{i}"
            c = Contact(lab_id=lab.id, platform=platform, user_id=chat, chat_id=chat, is_backup=backup)
            s.add(c)
            await s.flush()
            ids.append(c.id)
        if status is not None:
            s.add(Enrollment(lab_id=lab.id, year=app.campaign.year, status=status, **enrollment))
        return lab.id, ids


async def queue_broadcast(app: App, chats: list[str], *, now: datetime, report_chat: str | None = None) -> int:
    async with app.db.transaction() as s:
        bc = await create_broadcast(
            s, kind="broadcast", text="hi", audience={}, created_by="test:admin", report_chat=report_chat, now=now
        )
        rows = [
            NewRow("test", chat, to_payload(Reply(f"hello {chat}", chat_id=chat, platform="test")), f"bc{bc.id}:{chat}")
            for chat in chats
        ]
        await add_rows(s, rows, now=now, broadcast_id=bc.id)
        return bc.id
