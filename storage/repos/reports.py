"""Read-only queries for the centre: the review queue, the figures, finding a lab, and the full export.

Everything here reads whole tables at most once per call (no per-lab queries), so a province of a few
thousand labs stays a handful of statements.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Application, Contact, Document, Enrollment, Lab, Review

NO_ENROLLMENT = "none"  # status shown for a lab that has not started this year's registration


# -- the queue ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QueueItem:
    subject: str  # enrollment | application
    id: int
    revision: int
    name: str
    lab_code: str | None
    city: str | None
    since: datetime
    advice: int = 0  # documents whose pre-check advises a closer look


async def queue(session: AsyncSession, year: int) -> list[QueueItem]:
    """What awaits a decision, oldest first: submitted registrations and pending new-lab applications."""
    items: list[QueueItem] = []
    rows = await session.execute(
        select(Enrollment.id, Enrollment.revision, Enrollment.submitted_at, Lab.name, Lab.code, Lab.city)
        .join(Lab, Lab.id == Enrollment.lab_id)
        .where(Enrollment.year == year, Enrollment.status == "submitted")
    )
    enrolments = rows.all()
    advice = await _advice_counts(session, year)
    for enr_id, revision, since, name, code, city in enrolments:
        items.append(
            QueueItem("enrollment", enr_id, revision, name, code, city, since, advice.get(enr_id, 0))  # type: ignore[arg-type]
        )
    apps = await session.scalars(select(Application).where(Application.year == year, Application.status == "pending"))
    for app in apps:
        items.append(
            QueueItem(
                "application",
                app.id,
                app.revision,
                str(app.data.get("name") or "?"),
                None,
                app.data.get("city"),
                app.submitted_at,
            )
        )
    items.sort(key=lambda i: (i.since, i.subject, i.id))
    return items


async def _advice_counts(session: AsyncSession, year: int) -> dict[int, int]:
    rows = await session.execute(
        select(Document.enrollment_id, Document.precheck)
        .join(Enrollment, Enrollment.id == Document.enrollment_id)
        .where(Enrollment.year == year, Enrollment.status == "submitted", Document.status == "active")
    )
    counts: Counter[int] = Counter()
    for enr_id, precheck in rows.all():
        if (precheck or {}).get("advice"):
            counts[enr_id] += 1
    return dict(counts)


# -- figures ------------------------------------------------------------------------------------------------
@dataclass
class Stats:
    labs: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_city: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_type: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    # Per specialty: labs whose plan names it (confirmed plans), and among them the approved ones.
    specialty_chosen: Counter[str] = field(default_factory=Counter)
    specialty_approved: Counter[str] = field(default_factory=Counter)
    applications: Counter[str] = field(default_factory=Counter)


async def stats(session: AsyncSession, year: int) -> Stats:
    out = Stats()
    rows = await session.execute(
        select(Lab.city, Lab.institution_type, Enrollment.status, Enrollment.specialties, Enrollment.plan_confirmed_at)
        .select_from(Lab)
        .outerjoin(Enrollment, (Enrollment.lab_id == Lab.id) & (Enrollment.year == year))
    )
    for city, kind, status, specialties, confirmed in rows.all():
        state = status or NO_ENROLLMENT
        out.labs += 1
        out.by_status[state] += 1
        out.by_city[city][state] += 1
        out.by_type[kind][state] += 1
        if confirmed is not None:
            for code in specialties or []:
                out.specialty_chosen[code] += 1
                if state == "approved":
                    out.specialty_approved[code] += 1
    apps = await session.execute(
        select(Application.status, func.count()).where(Application.year == year).group_by(Application.status)
    )
    out.applications.update({status: n for status, n in apps.all()})
    return out


# -- finding labs -------------------------------------------------------------------------------------------
async def find_labs(session: AsyncSession, query: str, *, limit: int = 10) -> list[Lab]:
    """By exact code first; otherwise labs whose name contains the text (or whose code starts with it)."""
    text = query.strip()
    if not text:
        return []
    exact = await session.scalar(select(Lab).where(Lab.code == text.upper()))
    if exact is not None:
        return [exact]
    like = "%" + re.sub(r"([\\%_])", r"\\\1", text) + "%"
    prefix = re.sub(r"([\\%_])", r"\\\1", text.upper()) + "%"
    rows = await session.scalars(
        select(Lab)
        .where(or_(Lab.name.like(like, escape="\\"), Lab.code.like(prefix, escape="\\")))
        .order_by(Lab.code)
        .limit(limit)
    )
    return list(rows)


async def next_lab_code(session: AsyncSession, prefix: str = "HN", width: int = 4) -> str:
    """The next free code "HN" + number, one above the highest in use (padded to `width` digits)."""
    codes = await session.scalars(select(Lab.code).where(Lab.code.like(prefix + "%")))
    numbers = [int(c[len(prefix) :]) for c in codes if c[len(prefix) :].isdigit()]
    return f"{prefix}{(max(numbers, default=0) + 1):0{width}d}"


async def lab_with_credit_code(session: AsyncSession, credit_code: str, name: str) -> list[Lab]:
    """Labs already known under this credit code or this exact name (an application may be a duplicate)."""
    conditions = [Lab.name == name]
    if credit_code:
        conditions.append(Lab.credit_code == credit_code)
    return list(await session.scalars(select(Lab).where(or_(*conditions)).order_by(Lab.code).limit(5)))


# -- the export ---------------------------------------------------------------------------------------------
@dataclass
class ExportRecord:
    """One lab's row of the export, as plain rows (Core selects, attribute access by column name): no ORM
    objects, identity map or change tracking for a few thousand labs."""

    lab: Any  # Row of _LAB
    enrollment: Any | None  # Row of _ENROLLMENT
    contacts: list[Any]  # Rows of _CONTACT
    documents: list[Any]  # Rows of _DOCUMENT, active ones: this year's and earlier licences still in force
    review: Any | None  # Row of _REVIEW: the latest decision on this year's registration


_LAB = (
    Lab.id, Lab.code, Lab.name, Lab.institution_type, Lab.level, Lab.city, Lab.credit_code, Lab.licence_no,
    Lab.licence_valid_from, Lab.licence_valid_to, Lab.address, Lab.source,
)  # fmt: skip
_ENROLLMENT = (
    Enrollment.id, Enrollment.lab_id, Enrollment.status, Enrollment.lab_info, Enrollment.invoice,
    Enrollment.mailing, Enrollment.specialties, Enrollment.mandatory_declined, Enrollment.last_year_tests,
    Enrollment.extra_tests,
    Enrollment.revision, Enrollment.submitted_at, Enrollment.decided_at, Enrollment.returned_items,
    Enrollment.checklist_submitted_at, Enrollment.plan_confirmed_at,
)  # fmt: skip
_CONTACT = (Contact.lab_id, Contact.platform, Contact.user_id, Contact.name, Contact.mobile, Contact.is_backup,
            Contact.active)  # fmt: skip
_DOCUMENT = (Document.lab_id, Document.enrollment_id, Document.kind, Document.precheck)
_REVIEW = (Review.subject_id, Review.decision, Review.reasons, Review.note, Review.reviewer)


async def export_records(session: AsyncSession, year: int) -> list[ExportRecord]:
    """Every lab with its registration of the year, in five statements. Read it in a read-only session
    (``Database.reading``): a transaction would hold SQLite's write lock for the whole export."""
    labs = (await session.execute(select(*_LAB).order_by(Lab.code))).all()
    enrolments = {e.lab_id: e for e in await session.execute(select(*_ENROLLMENT).where(Enrollment.year == year))}
    contacts: dict[int, list[Any]] = defaultdict(list)
    for c in await session.execute(select(*_CONTACT).order_by(Contact.lab_id, Contact.is_backup, Contact.id)):
        contacts[c.lab_id].append(c)
    documents: dict[int, list[Any]] = defaultdict(list)
    for d in await session.execute(select(*_DOCUMENT).where(Document.status == "active").order_by(Document.id)):
        documents[d.lab_id].append(d)
    latest: dict[int, Any] = {}
    for r in await session.execute(
        select(*_REVIEW)
        .join(Enrollment, Enrollment.id == Review.subject_id)
        .where(Review.subject == "enrollment", Enrollment.year == year)
        .order_by(Review.subject_id, Review.revision, Review.id)
    ):
        latest[r.subject_id] = r  # later revisions overwrite earlier ones
    return [
        ExportRecord(
            lab=lab,
            enrollment=enrolments.get(lab.id),
            contacts=contacts.get(lab.id, []),
            documents=documents.get(lab.id, []),
            review=latest.get(enrolments[lab.id].id) if lab.id in enrolments else None,
        )
        for lab in labs
    ]


def precheck_advice(documents: Sequence[Any]) -> list[str]:
    """The distinct pre-check advice ids over some documents, in a stable order."""
    seen: dict[str, None] = {}
    for d in documents:
        for advice in (d.precheck or {}).get("advice") or []:
            seen[str(advice)] = None
    return list(seen)


async def waiting_pushes(session: AsyncSession) -> int:
    """Outbox rows waiting for their person to open the chat again (a channel with reply windows, such as a
    WeChat official account, cannot reach them before)."""
    from storage.models import OutboxMessage

    return int(await session.scalar(select(func.count()).where(OutboxMessage.status == "waiting")) or 0)
