"""Write a new migration from the difference between the models and a scratch database at head.

python -m storage.migrations.autogen "what changed"
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command

from storage.db import Database, alembic_config


async def _main(message: str, rev_id: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'scratch.sqlite3'}")
        await db.migrate()

        def revise(connection: object) -> None:
            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id)

        async with db.engine.begin() as conn:
            await conn.run_sync(revise)
        await db.dispose()


def _tidy() -> None:
    """Generated code passes the project's lint like any other file."""
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    versions = str(Path(__file__).with_name("versions"))
    subprocess.run([ruff, "format", "-q", versions], check=False)
    subprocess.run([ruff, "check", "--fix", "-q", versions], check=False)


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
    _tidy()
