"""Who holds outbox rows, and whether they are still alive: names that tell a dead process of this machine
from a live one, so its rows are taken back at once instead of after the lease."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import datetime

from storage.db import Database
from storage.repos import outbox as repo

log = logging.getLogger(__name__)


def host() -> str:
    return socket.gethostname()[:32]


def worker_name() -> str:
    """A bulk worker's claim name: "host:pid:random"."""
    return f"{host()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def fast_path_name() -> str:
    """The claim name of this process's fast path ("fast-path:host:pid"): one per process."""
    return f"fast-path:{host()}:{os.getpid()}"


def dead_here(claimant: str) -> bool:
    """A claim made by a process of this machine that no longer exists. Claims from other machines, or
    from processes still alive, wait for their lease as usual."""
    parts = claimant.split(":")
    if host() not in parts:
        return False
    pid = next((int(p) for p in parts[parts.index(host()) + 1 :] if p.isdigit()), None)
    if pid is None or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


async def release_dead_claims(db: Database, now: datetime) -> list[str]:
    """Rows held by a process of this machine that died (SIGKILL, a crash) are taken back at once: the
    never-sent ones go back to the queue, the ones on the wire are settled unconfirmed (never resent). A
    replacement process calls this on start, workers every few seconds."""
    async with db.transaction() as s:
        dead = [c for c in await repo.claimants(s) if dead_here(c)]
        for claimant in dead:
            await repo.release_dead(s, claimant, now)
    if dead:
        log.warning("outbox: took back the rows of dead processes %s", ", ".join(dead))
    return dead
