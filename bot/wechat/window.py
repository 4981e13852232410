"""Each follower's customer-service windows, kept by the bot itself so it never provokes 45015/45047.

WeChat's rules since June 2023: after a person's message, 5 customer-service messages within 48 hours; after
a menu click, a follow or a QR scan, 3 within 1 minute. Each new message (or event) starts its window's count
again. A send takes one unit with a guarded UPDATE, so several workers never overspend; our windows close a
little before WeChat's, so a send on the edge is not refused there.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import WeChatPeer
from storage.repos import outbox as outbox_repo

MESSAGE_QUOTA, MESSAGE_WINDOW = 5, timedelta(hours=48) - timedelta(minutes=1)
EVENT_QUOTA, EVENT_WINDOW = 3, timedelta(seconds=55)
WAITING = outbox_repo.WAITING  # an outbox status: a push that waits until the person next writes


async def peer(session: AsyncSession, openid: str) -> WeChatPeer:
    row = await session.get(WeChatPeer, openid)
    if row is None:
        row = WeChatPeer(openid=openid, following=True, message_used=0, event_used=0, menu={})
        session.add(row)
        await session.flush()
    return row


async def opened(session: AsyncSession, openid: str, window: str | None, now: datetime) -> None:
    """The person did something: they follow, and a message or an event opens its window afresh. Pushes that
    waited for them are due now (the outbox worker takes them)."""
    row = await peer(session, openid)
    row.following = True
    if window == "message":
        row.message_at, row.message_used = now, 0
    elif window == "event":
        row.event_at, row.event_used = now, 0
    if window is not None:
        await outbox_repo.wake_waiting(session, "wechat", openid, now)


async def unfollowed(session: AsyncSession, openid: str) -> None:
    row = await peer(session, openid)
    row.following, row.message_at, row.event_at = False, None, None


def remaining(row: WeChatPeer | None, now: datetime) -> int:
    if row is None or not row.following:
        return 0
    left = 0
    if row.event_at is not None and now - row.event_at <= EVENT_WINDOW:
        left += max(0, EVENT_QUOTA - row.event_used)
    if row.message_at is not None and now - row.message_at <= MESSAGE_WINDOW:
        left += max(0, MESSAGE_QUOTA - row.message_used)
    return left


async def take(
    db: Database, openid: str, now: datetime, count: int = 1, *, menu: tuple[str, list[str]] | None = None
) -> list[str]:
    """Spend up to `count` sends of the person's open windows (the 1-minute one first: it closes soonest), in
    one transaction; `menu` (the numbered items of what is about to go out) is remembered in the same one.
    Returns the windows spent, one per send granted (fewer than `count` when the windows run out)."""
    P = WeChatPeer
    spent: list[str] = []
    async with db.transaction() as s:
        for name, at, used, quota, span in (
            ("event", P.event_at, P.event_used, EVENT_QUOTA, EVENT_WINDOW),
            ("message", P.message_at, P.message_used, MESSAGE_QUOTA, MESSAGE_WINDOW),
        ):
            while len(spent) < count:
                done = await s.execute(
                    update(P)
                    .where(and_(P.openid == openid, P.following.is_(True), at >= now - span, used < quota))
                    .values({used: used + 1})
                    .execution_options(synchronize_session=False)
                )
                if not done.rowcount:  # type: ignore[attr-defined]
                    break
                spent.append(name)
        if menu is not None:
            await s.execute(
                update(P)
                .where(P.openid == openid)
                .values(menu={"mid": menu[0], "items": menu[1]})
                .execution_options(synchronize_session=False)
            )
    return spent


async def give_back(db: Database, openid: str, windows: list[str]) -> None:
    """Sends that never reached WeChat (a network error, a refusal, the rest of a turn that stopped) cost
    nothing."""
    P = WeChatPeer
    async with db.transaction() as s:
        for name, used in (("event", P.event_used), ("message", P.message_used)):
            if n := windows.count(name):
                await s.execute(
                    update(P)
                    .where(P.openid == openid)
                    .values({used: case((used > n, used - n), else_=0)})
                    .execution_options(synchronize_session=False)
                )


async def use_up(db: Database, openid: str) -> None:
    """WeChat said 45015/45047 although we counted sends left (another tool wrote to them, or the clocks
    disagree): believe WeChat until the person writes again."""
    P = WeChatPeer
    async with db.transaction() as s:
        await s.execute(
            update(P)
            .where(P.openid == openid)
            .values(event_used=EVENT_QUOTA, message_used=MESSAGE_QUOTA)
            .execution_options(synchronize_session=False)
        )


async def menu(db: Database, openid: str) -> dict[str, Any]:
    async with db.reading() as s:
        found = await s.scalar(select(WeChatPeer.menu).where(WeChatPeer.openid == openid))
    return dict(found or {})
