"""Reading the audit log (writing is `Ctx.audit`, in the same transaction as the change it records)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditLog, Staff, UserProfile


async def for_lab(
    session: AsyncSession, lab_id: int, *, limit: int = 20, offset: int = 0
) -> tuple[list[AuditLog], int]:
    """A lab's entries, newest first, and how many there are in all."""
    total = await session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.lab_id == lab_id)) or 0
    rows = await session.scalars(
        select(AuditLog)
        .where(AuditLog.lab_id == lab_id)
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


async def entries(session: AsyncSession, *, action: str | None = None, entity: str | None = None) -> list[AuditLog]:
    query = select(AuditLog)
    if action is not None:
        query = query.where(AuditLog.action == action)
    if entity is not None:
        query = query.where(AuditLog.entity == entity)
    return list(await session.scalars(query.order_by(AuditLog.id)))


async def display_names(session: AsyncSession, refs: Iterable[str]) -> dict[str, str]:
    """People's names for actor refs ("platform:user id"): the staff name an admin gave, else the name the
    platform reported. Refs without a known name are left out."""
    pairs = {tuple(r.split(":", 1)) for r in refs if ":" in r}
    if not pairs:
        return {}
    names: dict[str, str] = {}
    match_profile = or_(*(and_(UserProfile.platform == p, UserProfile.user_id == u) for p, u in pairs))
    for row in await session.scalars(select(UserProfile).where(match_profile)):
        if row.display_name:
            names[f"{row.platform}:{row.user_id}"] = row.display_name
    match_staff = or_(*(and_(Staff.platform == p, Staff.user_id == u) for p, u in pairs))
    for staff in await session.scalars(select(Staff).where(match_staff)):
        if staff.name:
            names[f"{staff.platform}:{staff.user_id}"] = staff.name
    return names
