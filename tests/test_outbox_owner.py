"""The outbox has one owner: only storage/repos/outbox.py creates or changes OutboxMessage rows (the ORM
class, or SQL naming the `outbox` table). Everyone else asks it (enqueue, claim, record an outcome, give
back, redact, purge) — so the delivery promise and the statuses have one place to be right in."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OWNER = ROOT / "storage" / "repos" / "outbox.py"
PACKAGES = ("bot", "handlers", "conversations", "storage", "bench")
ALLOWED = {OWNER, ROOT / "storage" / "models.py"}
WRITES = {"update", "insert", "delete", "insert_ignore", "bulk_insert_mappings", "bulk_update_mappings"}
RAW_SQL = re.compile(r"\b(insert\s+into|update|delete\s+from)\s+\"?outbox\b", re.IGNORECASE)


def _names_outbox(node: ast.AST) -> bool:
    return (isinstance(node, ast.Name) and node.id == "OutboxMessage") or (
        isinstance(node, ast.Attribute) and node.attr == "OutboxMessage"
    )


def _callee(call: ast.Call) -> str:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def writes_outside_the_owner(source: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            if _names_outbox(node.func):
                found.append((node.lineno, "constructs OutboxMessage"))
            elif _callee(node) in WRITES and any(_names_outbox(a) for a in node.args):
                found.append((node.lineno, f"{_callee(node)}(OutboxMessage)"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and RAW_SQL.search(node.value):
            found.append((node.lineno, "raw SQL writing the outbox table"))
    return found


def test_only_the_outbox_repository_writes_outbox_rows() -> None:
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path in ALLOWED or "migrations" in path.parts:
                continue
            for line, what in writes_outside_the_owner(path.read_text(encoding="utf-8")):
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert offenders == [], "outbox rows are written only by storage/repos/outbox.py:\n" + "\n".join(offenders)


def test_the_check_sees_each_way_of_writing_a_row() -> None:
    # The check must be able to fail: each of these is what the repository alone may do.
    samples = [
        "session.add(OutboxMessage(platform='telegram', chat_id='1', payload={}))",
        "await s.execute(update(OutboxMessage).where(OutboxMessage.id == 1).values(status='sent'))",
        "await insert_ignore(s, OutboxMessage, {})",
        "await s.execute(sqlite.insert(OutboxMessage).values([]))",
        "await s.execute(delete(models.OutboxMessage))",
        "await s.execute(text('UPDATE outbox SET status = 1'))",
    ]
    for sample in samples:
        assert writes_outside_the_owner(sample), sample
    # Reading is everyone's right.
    assert not writes_outside_the_owner("await s.scalars(select(OutboxMessage).where(OutboxMessage.status == 'x'))")
    assert writes_outside_the_owner(OWNER.read_text(encoding="utf-8"))  # the owner does write
