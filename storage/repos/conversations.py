"""Conversation state and update idempotency."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ConversationState, ProcessedUpdate
from storage.repos.common import insert_ignore


async def claim_update(session: AsyncSession, platform: str, update_id: str, chat_id: str | None) -> bool:
    """Record an update id; False when it was handled before (a redelivery or a duplicate)."""
    return await insert_ignore(
        session, ProcessedUpdate, {"platform": platform, "update_id": update_id, "chat_id": chat_id}
    )


async def peek_state(session: AsyncSession, platform: str, chat_id: str, user_id: str) -> ConversationState | None:
    return await session.scalar(
        select(ConversationState).where(
            ConversationState.platform == platform,
            ConversationState.chat_id == chat_id,
            ConversationState.user_id == user_id,
        )
    )


async def load_state(session: AsyncSession, platform: str, chat_id: str, user_id: str) -> ConversationState:
    """The person's state in this chat, created on first contact."""
    row = await peek_state(session, platform, chat_id, user_id)
    if row is None:
        await insert_ignore(
            session,
            ConversationState,
            {"platform": platform, "chat_id": chat_id, "user_id": user_id, "data": {}, "nonce": 1},
        )
        row = await peek_state(session, platform, chat_id, user_id)
        assert row is not None
    return row


async def forget_processed_before(session: AsyncSession, cutoff: datetime) -> int:
    result = await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < cutoff))
    return result.rowcount or 0
