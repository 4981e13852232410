"""Helpers shared by the repositories."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Base


async def insert_ignore(session: AsyncSession, model: type[Base], values: dict[str, Any]) -> bool:
    """INSERT unless a unique key already exists; True when a row was inserted. Race-free on both
    backends, unlike select-then-insert."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = make(model).values(**values).on_conflict_do_nothing()
    result = await session.execute(stmt)
    return bool(result.rowcount)
