"""The year's registrations and their documents."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Document, Enrollment
from storage.repos.common import insert_ignore


async def enrollment(
    session: AsyncSession, lab_id: int, year: int, *, create: bool = True
) -> Enrollment | None:
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
