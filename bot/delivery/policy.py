"""The settle policy: what becomes of an outbox row once its sender answered — one rule for every sender (the
fast path, the bulk worker, the group robots, any channel that comes).

    a result            → sent (the result kept: message ids a later edit names)
    RetryAfter (429)    → everyone on the gate waits; the row is due again when the pause ends
    Blocked (403)       → blocked, and the person's contact is deactivated (`storage.repos.outbox.record`)
    Rejected (400)      → failed for good (retrying cannot help)
    Unconfirmed         → unconfirmed: the request went out, no answer came (never resent: no duplicate)
    anything else       → retried with doubling backoff and ±20 % jitter, failed after `max_attempts`

A settled row that carried a secret (a file, a binding code) keeps only its redacted summary.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.delivery.sender import Blocked, Rejected, RetryAfter, Transient, Unconfirmed
from storage.repos import outbox as repo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    max_attempts: int = 6
    backoff_base: float = 2.0  # seconds before the first retry
    backoff_cap: float = 600.0
    # Group robots: "too often" counts as an attempt and waits at least the backoff (their limit is per
    # minute and the platforms do not say for how long). Telegram: a 429 says exactly when, never gives up.
    rate_limit_is_attempt: bool = False
    label: str = ""  # who delivers, in logs ("group robot wecom"); default: the row's platform

    def backoff(self, attempt: int) -> float:
        """Seconds before retry number `attempt` (1, 2, …): doubling, capped, with ±20 % jitter so many
        failed rows do not all come back at the same instant."""
        return min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1)) * random.uniform(0.8, 1.2)


@dataclass(frozen=True)
class Job:
    """One row in a sender's hands (from a claimed row, or from this turn's deliveries)."""

    row_id: int
    platform: str
    chat_id: str
    attempts: int = 0  # before this one
    contact_id: int | None = None
    payload: dict[str, Any] | None = None  # to redact from once settled (None: nothing secret)


def settle(
    policy: Policy, job: Job, now: datetime, *, result: dict[str, Any] | None = None, error: BaseException | None = None
) -> tuple[repo.Outcome, float]:
    """The outcome to record for one send, and how long everyone sending through the gate should pause
    (a 429; 0 otherwise)."""
    attempt = job.attempts + 1
    who = policy.label or job.platform
    kept = repo.redacted(job.payload) if job.payload is not None else None

    def outcome(status: str, **kw: Any) -> repo.Outcome:
        final = status in ("sent", "failed", "blocked", "unconfirmed")
        return repo.Outcome(
            row_id=job.row_id,
            status=status,
            at=now,
            contact_id=job.contact_id,
            platform=job.platform,
            chat_id=job.chat_id,
            redact_to=kept if final else None,
            **kw,
        )

    if error is None:
        return outcome("sent", result=result), 0.0
    if isinstance(error, RetryAfter):
        wait = error.seconds
        if policy.rate_limit_is_attempt:
            if attempt >= policy.max_attempts:
                return outcome("failed", error=f"{job.platform}: too often, given up"), error.seconds
            wait = max(wait, policy.backoff(attempt))
        return outcome("retry", error=str(error), retry_at=now + timedelta(seconds=wait)), error.seconds
    if isinstance(error, Blocked):
        return outcome("blocked", error=(str(error) or "blocked")[:500]), 0.0
    if isinstance(error, Unconfirmed):
        log.warning("%s: outbox row %s perhaps delivered, not resent (%s)", who, job.row_id, error)
        text = f"no answer after sending; not resent to avoid a duplicate: {error}"[:500]
        return outcome("unconfirmed", error=text), 0.0
    if isinstance(error, Rejected):
        log.warning("%s refused outbox row %s: %s", who, job.row_id, error)
        return outcome("failed", error=(str(error) or "rejected")[:500]), 0.0
    if not isinstance(error, Transient):
        log.error("%s: unexpected error while sending outbox row %s", who, job.row_id, exc_info=error)
    text = (str(error) if isinstance(error, Transient) else f"{type(error).__name__}: {error}")[:500]
    if attempt >= policy.max_attempts:
        log.error("%s: outbox row %s given up after %d attempts (%s)", who, job.row_id, attempt, text)
        return outcome("failed", error=text), 0.0
    wait = policy.backoff(attempt)
    log.warning("%s: outbox row %s not delivered (%s); again in %.0fs", who, job.row_id, text, wait)
    return outcome("retry", error=text, retry_at=now + timedelta(seconds=wait)), 0.0
