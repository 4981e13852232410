"""Reviewers' decisions and the reviewers themselves.

A decision is one `Review` row per (subject, subject id, revision), unique in the database: whoever inserts
first decides; a second reviewer's insert changes nothing and they are told who came first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Enrollment, Review, Staff
from storage.repos.common import insert_ignore


async def standing(session: AsyncSession, subject: str, subject_id: int, revision: int) -> Review | None:
    """The decision on this revision, if any."""
    return await session.scalar(
        select(Review).where(Review.subject == subject, Review.subject_id == subject_id, Review.revision == revision)
    )


async def record(
    session: AsyncSession,
    *,
    subject: str,
    subject_id: int,
    revision: int,
    decision: str,
    reasons: Sequence[str],
    note: str | None,
    reviewer: str,
    at: datetime,
) -> tuple[bool, Review]:
    """Record a decision unless this revision is decided already. Returns (ours, the decision that stands)."""
    ours = await insert_ignore(
        session,
        Review,
        {
            "subject": subject,
            "subject_id": subject_id,
            "revision": revision,
            "decision": decision,
            "reasons": list(reasons),
            "note": note,
            "reviewer": reviewer,
            "created_at": at,
        },
    )
    first = await standing(session, subject, subject_id, revision)
    assert first is not None
    return ours, first


async def history(session: AsyncSession, subject: str, subject_id: int) -> list[Review]:
    query = select(Review).where(Review.subject == subject, Review.subject_id == subject_id)
    return list(await session.scalars(query.order_by(Review.revision, Review.id)))


async def latest_for_year(session: AsyncSession, year: int) -> dict[int, Review]:
    """The latest decision on each enrollment of the year, by enrollment id."""
    rows = await session.scalars(
        select(Review)
        .join(Enrollment, Enrollment.id == Review.subject_id)
        .where(Review.subject == "enrollment", Enrollment.year == year)
        .order_by(Review.subject_id, Review.revision, Review.id)
    )
    return {r.subject_id: r for r in rows}  # later revisions overwrite earlier ones


# -- reviewers ----------------------------------------------------------------------------------------------
async def staff_member(session: AsyncSession, platform: str, user_id: str) -> Staff | None:
    return await session.scalar(select(Staff).where(Staff.platform == platform, Staff.user_id == user_id))


async def grant(
    session: AsyncSession, platform: str, user_id: str, *, role: str, name: str | None, by: str, now: datetime
) -> tuple[str, dict[str, Any] | None]:
    """Make someone a reviewer (or staff admin). Returns what happened — "granted", "restored", "changed" or
    "unchanged" — and the row as it was before (None when new), for the audit log."""
    row = await staff_member(session, platform, user_id)
    if row is None:
        session.add(
            Staff(platform=platform, user_id=user_id, role=role, name=name, active=True, granted_by=by, granted_at=now)
        )
        await session.flush()
        return "granted", None
    before = {"role": row.role, "active": row.active, "name": row.name}
    if row.active and row.role == role:
        if name and not row.name:
            row.name = name
        return "unchanged", before
    outcome = "restored" if not row.active else "changed"
    row.role, row.active, row.granted_by, row.granted_at = role, True, by, now
    row.name = name or row.name
    return outcome, before


async def revoke(session: AsyncSession, platform: str, user_id: str) -> Staff | None:
    """Withdraw someone's rights; None when they had none. The row stays, inactive, for the record."""
    row = await staff_member(session, platform, user_id)
    if row is None or not row.active:
        return None
    row.active = False
    return row


async def staff_list(session: AsyncSession) -> list[Staff]:
    return list(await session.scalars(select(Staff).order_by(Staff.active.desc(), Staff.role, Staff.granted_at)))
