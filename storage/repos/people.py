"""Labs, their contacts, the centre's staff and per-person profiles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Contact, Lab, Staff, UserProfile
from storage.repos.common import insert_ignore


async def profile(session: AsyncSession, platform: str, user_id: str) -> UserProfile:
    """The person's profile, created on first contact."""
    query = select(UserProfile).where(UserProfile.platform == platform, UserProfile.user_id == user_id)
    row = await session.scalar(query)
    if row is None:
        await insert_ignore(session, UserProfile, {"platform": platform, "user_id": user_id, "bind_failures": 0})
        row = await session.scalar(query)
        assert row is not None
    return row


async def lab_by_code(session: AsyncSession, code: str) -> Lab | None:
    return await session.scalar(select(Lab).where(Lab.code == code))


async def lab_contacts(session: AsyncSession, lab_id: int, *, active_only: bool = True) -> list[Contact]:
    query = select(Contact).where(Contact.lab_id == lab_id, Contact.user_id.is_not(None))
    if active_only:
        query = query.where(Contact.active.is_(True))
    return list(await session.scalars(query.order_by(Contact.is_backup, Contact.id)))


@dataclass(frozen=True)
class Sender:
    """What the core needs to know about whoever sent an update, read in one round trip."""

    role: str | None
    language: str | None
    display_name: str | None
    has_profile: bool
    contact_id: int | None
    lab_id: int | None
    contact_active: bool
    unanswered_reminders: int
    last_seen_at: datetime | None


def _sender_statement() -> Select[Any]:
    p, u = bindparam("platform"), bindparam("user_id")
    contact = (
        select(Contact)
        .where(
            Contact.platform == p,
            Contact.user_id == u,
            or_(Contact.active.is_(True), Contact.blocked_at.is_not(None)),
        )
        .order_by(Contact.active.desc(), Contact.id.desc())
        .limit(1)
        .subquery()
    )
    profile_where = (UserProfile.platform == p, UserProfile.user_id == u)
    return select(
        select(Staff.role)
        .where(Staff.platform == p, Staff.user_id == u, Staff.active.is_(True))
        .limit(1)
        .scalar_subquery(),
        select(UserProfile.language).where(*profile_where).scalar_subquery(),
        select(UserProfile.display_name).where(*profile_where).scalar_subquery(),
        select(UserProfile.id).where(*profile_where).scalar_subquery(),
        select(contact.c.id).scalar_subquery(),
        select(contact.c.lab_id).scalar_subquery(),
        select(contact.c.active).scalar_subquery(),
        select(contact.c.unanswered_reminders).scalar_subquery(),
        select(contact.c.last_seen_at).scalar_subquery(),
    )


# Built once: every update runs it, and a prebuilt statement skips SQLAlchemy's construction work.
_SENDER = _sender_statement()


async def sender(session: AsyncSession, platform: str, user_id: str) -> Sender:
    row = (await session.execute(_SENDER, {"platform": platform, "user_id": user_id})).one()
    role, language, name, profile_id, contact_id, lab_id, active, unanswered, seen = row
    return Sender(
        role=role,
        language=language,
        display_name=name,
        has_profile=profile_id is not None,
        contact_id=contact_id,
        lab_id=lab_id,
        contact_active=bool(active),
        unanswered_reminders=unanswered or 0,
        last_seen_at=seen,
    )
