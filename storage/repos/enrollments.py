"""The year's registrations and their documents."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Document, Enrollment
from storage.repos.common import insert_ignore


async def enrollment(session: AsyncSession, lab_id: int, year: int, *, create: bool = True) -> Enrollment | None:
    query = select(Enrollment).where(Enrollment.lab_id == lab_id, Enrollment.year == year)
    row = await session.scalar(query)
    if row is None and create:
        await insert_ignore(
            session,
            Enrollment,
            {
                "lab_id": lab_id,
                "year": year,
                "status": "draft",
                "revision": 0,
                "version": 1,
                "last_year_tests": [],
                "lab_info": {},
                "invoice": {},
                "mailing": {},
                "specialties": [],
                "returned_items": [],
            },
        )
        row = await session.scalar(query)
    return row


async def active_documents(session: AsyncSession, lab_id: int, kind: str | None = None) -> list[Document]:
    query = select(Document).where(Document.lab_id == lab_id, Document.status == "active")
    if kind is not None:
        query = query.where(Document.kind == kind)
    return list(await session.scalars(query.order_by(Document.id)))


async def refuse_documents(session: AsyncSession, enr: Enrollment, kinds: Sequence[str]) -> list[int]:
    """The centre returned these kinds: this year's files of them are refused. They leave the submission
    (no longer active, never counted again) but stay on record, shown to the lab as refused."""
    if not kinds:
        return []
    result = await session.execute(
        update(Document)
        .where(
            Document.lab_id == enr.lab_id,
            Document.enrollment_id == enr.id,
            Document.kind.in_(list(kinds)),
            Document.status == "active",
        )
        .values(status="refused")
        .returning(Document.id)
    )
    return list(result.scalars())


async def refused_documents(session: AsyncSession, enr: Enrollment) -> list[Document]:
    query = select(Document).where(
        Document.lab_id == enr.lab_id, Document.enrollment_id == enr.id, Document.status == "refused"
    )
    return list(await session.scalars(query.order_by(Document.id)))
