"""The database handle: engine, sessions, migrations. SQLite (embedded default) and PostgreSQL alike."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

if TYPE_CHECKING:
    from alembic.config import Config

from storage.private import private_file


class _NoDebug(logging.Filter):
    """Drops a logger's DEBUG records. aiosqlite logs every call at DEBUG with its SQL parameters and results
    (mobiles, credit codes, base64 workbooks), SQLAlchemy its result rows: personal data, whatever the
    masking could recognise. Attached to the loggers themselves, so no handler or level setting sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


for _name in ("aiosqlite", "sqlalchemy.engine.Engine", "sqlalchemy.engine"):
    logging.getLogger(_name).addFilter(_NoDebug())

# Any fixed number works; it only has to be the same in every process migrating one PostgreSQL database.
_MIGRATION_LOCK = 7_349_201


class Database:
    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 5) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        # Parameters hold personal data (mobiles, credit codes): never let an error or a debug log print them.
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if self.is_sqlite:
            if self.url.database and self.url.database != ":memory:":
                private_file(Path(self.url.database))  # people's data: 0600, whatever the umask
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs |= {"pool_size": pool_size, "max_overflow": pool_size, "pool_pre_ping": True}
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time: queueing writers here beats them fighting for the file lock.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction, committed on success and rolled back on any error."""
        lock = self._write_lock or contextlib.nullcontext()
        async with lock, self.sessions() as session, session.begin():
            yield session

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session for reads that need no write lock."""
        async with self.sessions() as session:
            yield session

    async def migrate(self) -> None:
        """Bring the schema to the newest revision (safe to run from several processes at once)."""
        lock = self._write_lock or contextlib.nullcontext()
        async with lock, self.engine.begin() as conn:
            if not self.is_sqlite:
                await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            if await conn.run_sync(_at_heads):
                return  # the usual start: nothing to do, and alembic (~12 MB) is never imported
            await conn.run_sync(_upgrade)

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets readers go on while one writer commits; foreign keys are off by default in SQLite.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # Deleted and overwritten content is zeroed, not left in free pages: a redacted outbox payload (a
    # binding code, a workbook) must not survive in the file, nor in a backup copied page by page.
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("storage") / "migrations"))
    return cfg


def script_heads() -> set[str]:
    """The newest revisions among the migration scripts, read from their source (no alembic import)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (Path(str(resources.files("storage"))) / "migrations" / "versions").glob("*.py"):
        found: dict[str, Any] = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
            target = node.target if isinstance(node, ast.AnnAssign) else target
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision") and node.value:  # type: ignore[union-attr]
                with contextlib.suppress(ValueError):
                    found[target.id] = ast.literal_eval(node.value)  # type: ignore[union-attr]
        if isinstance(found.get("revision"), str):
            revisions.add(found["revision"])
            down = found.get("down_revision")
            parents.update(down if isinstance(down, tuple | list) else [down] if down else [])
    return revisions - parents


def _at_heads(connection: Connection) -> bool:
    """Whether the database is at the newest revisions already (when unsure: no, and alembic decides)."""
    exists = (
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        if connection.dialect.name == "sqlite"
        else "SELECT to_regclass('alembic_version')"
    )
    if connection.execute(text(exists)).scalar() is None:
        return False  # no schema yet
    current = {row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))}
    heads = script_heads()
    return bool(heads) and current == heads


def _upgrade(connection: Connection) -> None:
    from alembic import command

    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")
