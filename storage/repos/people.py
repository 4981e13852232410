"""Labs, their contacts, the centre's staff and per-person profiles."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Contact, Lab, Staff, UserProfile
from storage.repos.common import insert_ignore


async def profile(session: AsyncSession, platform: str, user_id: str) -> UserProfile:
    """The person's profile, created on first contact."""
    query = select(UserProfile).where(UserProfile.platform == platform, UserProfile.user_id == user_id)
    row = await session.scalar(query)
    if row is None:
        await insert_ignore(
            session, UserProfile, {"platform": platform, "user_id": user_id, "bind_failures": 0}
        )
        row = await session.scalar(query)
        assert row is not None
    return row


async def active_contact(session: AsyncSession, platform: str, user_id: str) -> Contact | None:
    """The lab binding of this person, if any (the most recent when several)."""
    return await session.scalar(
        select(Contact)
        .where(Contact.platform == platform, Contact.user_id == user_id, Contact.active.is_(True))
        .order_by(Contact.id.desc())
        .limit(1)
    )


async def staff_role(session: AsyncSession, platform: str, user_id: str) -> str | None:
    return await session.scalar(
        select(Staff.role).where(Staff.platform == platform, Staff.user_id == user_id, Staff.active.is_(True))
    )


async def lab_by_code(session: AsyncSession, code: str) -> Lab | None:
    return await session.scalar(select(Lab).where(Lab.code == code))


async def lab_contacts(session: AsyncSession, lab_id: int, *, active_only: bool = True) -> list[Contact]:
    query = select(Contact).where(Contact.lab_id == lab_id, Contact.user_id.is_not(None))
    if active_only:
        query = query.where(Contact.active.is_(True))
    return list(await session.scalars(query.order_by(Contact.is_backup, Contact.id)))
