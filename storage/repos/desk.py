"""What the web desk reads and keeps: staff accounts, and the queue of every lab's registration filtered,
searched, sorted and paged in SQL (a season holds a few thousand labs; a page reads one page of rows)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import DeskAccount, Document, Enrollment, Lab

NO_ENROLLMENT = "none"  # a lab that has not started this year's registration
SORTS = ("submitted", "code", "name", "city", "status", "waiting")


# -- accounts -----------------------------------------------------------------------------------------------
async def account_by_name(session: AsyncSession, name: str) -> DeskAccount | None:
    return await session.scalar(select(DeskAccount).where(DeskAccount.name == name))


async def accounts(session: AsyncSession) -> list[DeskAccount]:
    return list(await session.scalars(select(DeskAccount).order_by(DeskAccount.name)))


# -- the queue ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QueueFilter:
    status: str | None = None
    city: str | None = None
    kind: str | None = None  # institution type code
    q: str | None = None  # name, lab code or credit code
    sort: str = "submitted"
    page: int = 1
    per_page: int = 50


@dataclass(frozen=True)
class QueueRow:
    lab_id: int
    code: str
    name: str
    city: str
    kind: str
    status: str
    enrollment_id: int | None
    revision: int
    specialties: list[str]
    submitted_at: datetime | None
    decided_at: datetime | None
    advice: int


@dataclass
class QueuePage:
    rows: list[QueueRow]
    total: int
    counts: Counter[str]
    page: int
    pages: int


def _status() -> Any:
    return func.coalesce(Enrollment.status, NO_ENROLLMENT)


def _joined(year: int) -> Any:
    return select(Lab).outerjoin(Enrollment, and_(Enrollment.lab_id == Lab.id, Enrollment.year == year))


def _where(f: QueueFilter) -> list[Any]:
    clauses: list[Any] = []
    if f.city:
        clauses.append(Lab.city == f.city)
    if f.kind:
        clauses.append(Lab.institution_type == f.kind)
    if f.q:
        text = f.q.strip()
        like = f"%{text.replace('%', '').replace('_', '')}%"
        clauses.append(
            or_(
                Lab.name.like(like),
                Lab.code == text.upper(),
                Lab.code.like(text.upper() + "%"),
                Lab.credit_code == text.upper(),
            )
        )
    return clauses


async def queue_page(session: AsyncSession, year: int, f: QueueFilter) -> QueuePage:
    base = _where(f)
    count_rows = await session.execute(
        select(Enrollment.status, func.count())
        .select_from(Lab)
        .outerjoin(Enrollment, and_(Enrollment.lab_id == Lab.id, Enrollment.year == year))
        .where(*base)
        .group_by(Enrollment.status)
    )
    counts: Counter[str] = Counter()
    for status, n in count_rows.all():
        counts[status or NO_ENROLLMENT] += n
    clauses = [*base, _status() == f.status] if f.status else base
    total = sum(counts.values()) if not f.status else counts.get(f.status, 0)
    pages = max(1, (total + f.per_page - 1) // f.per_page)
    page = max(1, min(f.page, pages))
    order: list[Any] = {
        "submitted": [Enrollment.submitted_at.is_(None), Enrollment.submitted_at, Lab.code],
        "waiting": [(_status() != "submitted"), Enrollment.submitted_at, Lab.code],
        "code": [Lab.code],
        "name": [Lab.name, Lab.code],
        "city": [Lab.city, Lab.code],
        "status": [_status(), Lab.code],
    }.get(f.sort, [Lab.code])
    stmt = (
        select(
            Lab.id,
            Lab.code,
            Lab.name,
            Lab.city,
            Lab.institution_type,
            _status(),
            Enrollment.id,
            Enrollment.revision,
            Enrollment.specialties,
            Enrollment.submitted_at,
            Enrollment.decided_at,
        )
        .select_from(Lab)
        .outerjoin(Enrollment, and_(Enrollment.lab_id == Lab.id, Enrollment.year == year))
        .where(*clauses)
        .order_by(*order)
        .limit(f.per_page)
        .offset((page - 1) * f.per_page)
    )
    raw = (await session.execute(stmt)).all()
    enr_ids = [r[6] for r in raw if r[6] is not None]
    advice: Counter[int] = Counter()
    if enr_ids:
        docs = await session.execute(
            select(Document.enrollment_id, Document.precheck).where(
                Document.enrollment_id.in_(enr_ids), Document.status == "active"
            )
        )
        for enr_id, pre in docs.all():
            if (pre or {}).get("advice"):
                advice[enr_id] += 1
    rows = [
        QueueRow(
            lab_id=r[0],
            code=r[1],
            name=r[2],
            city=r[3],
            kind=r[4],
            status=r[5],
            enrollment_id=r[6],
            revision=r[7] or 0,
            specialties=list(r[8] or []),
            submitted_at=r[9],
            decided_at=r[10],
            advice=advice.get(r[6], 0) if r[6] else 0,
        )
        for r in raw
    ]
    return QueuePage(rows=rows, total=total, counts=counts, page=page, pages=pages)


async def next_to_review(session: AsyncSession, year: int) -> int | None:
    """The lab whose registration has waited longest."""
    return await session.scalar(
        select(Enrollment.lab_id)
        .where(Enrollment.year == year, Enrollment.status == "submitted")
        .order_by(Enrollment.submitted_at, Enrollment.id)
        .limit(1)
    )


async def pending_pairs(session: AsyncSession, year: int, lab_ids: list[int]) -> list[tuple[int, int, str, str]]:
    """(registration id, revision, lab code, lab name) of these labs' registrations awaiting a decision."""
    if not lab_ids:
        return []
    rows = await session.execute(
        select(Enrollment.id, Enrollment.revision, Lab.code, Lab.name)
        .join(Lab, Lab.id == Enrollment.lab_id)
        .where(Enrollment.year == year, Enrollment.status == "submitted", Enrollment.lab_id.in_(lab_ids))
        .order_by(Enrollment.submitted_at)
    )
    return [(a, b, c, d) for a, b, c, d in rows.all()]


# -- the dashboard ------------------------------------------------------------------------------------------
@dataclass
class Dashboard:
    labs: int
    by_status: Counter[str]
    submitted_per_day: Counter[date]
    decided_per_day: Counter[date]
    checklist_done: int
    plan_done: int
    documents_done: int
    by_city: dict[str, Counter[str]]
    by_type: dict[str, Counter[str]]
    specialty: Counter[str]
    specialty_last_year: Counter[str]
    not_started: list[tuple[int, str, str, str]]  # lab id, code, name, city


async def dashboard(session: AsyncSession, year: int, previous_year: int, tz: Any) -> Dashboard:
    rows = (
        await session.execute(
            select(
                Lab.id,
                Lab.code,
                Lab.name,
                Lab.city,
                Lab.institution_type,
                _status(),
                Enrollment.id,
                Enrollment.checklist_submitted_at,
                Enrollment.plan_confirmed_at,
                Enrollment.submitted_at,
                Enrollment.decided_at,
                Enrollment.specialties,
            )
            .select_from(Lab)
            .outerjoin(Enrollment, and_(Enrollment.lab_id == Lab.id, Enrollment.year == year))
            .order_by(Lab.code)
        )
    ).all()
    with_docs = {
        e
        for (e,) in (
            await session.execute(
                select(Document.enrollment_id)
                .join(Enrollment, Enrollment.id == Document.enrollment_id)
                .where(Enrollment.year == year, Document.status == "active", Document.kind == "agreement")
                .distinct()
            )
        ).all()
    }
    d = Dashboard(0, Counter(), Counter(), Counter(), 0, 0, 0, {}, {}, Counter(), Counter(), [])
    for lab_id, code, name, city, kind, status, enr_id, checklist, plan, submitted, decided, specs in rows:
        d.labs += 1
        d.by_status[status] += 1
        d.by_city.setdefault(city, Counter())[status] += 1
        d.by_type.setdefault(kind, Counter())[status] += 1
        if submitted is not None:
            d.submitted_per_day[submitted.astimezone(tz).date()] += 1
        if decided is not None and status in ("approved", "returned"):
            d.decided_per_day[decided.astimezone(tz).date()] += 1
        d.checklist_done += checklist is not None
        d.plan_done += plan is not None
        d.documents_done += enr_id in with_docs
        if plan is not None:
            d.specialty.update(specs or [])
        if status == NO_ENROLLMENT or (checklist is None and plan is None and submitted is None):
            d.not_started.append((lab_id, code, name, city))
    last = await session.execute(
        select(Enrollment.specialties).where(Enrollment.year == previous_year, Enrollment.status == "approved")
    )
    for (specs,) in last.all():
        d.specialty_last_year.update(specs or [])
    return d
