"""The one settle policy every sender goes through (bot/delivery/policy.py), and the promise it keeps: a
request that went out without an answer is never sent again."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from telegram import error as tg_error

from bot.delivery import Blocked, Rejected, RetryAfter, Transient, Unconfirmed
from bot.delivery.policy import Job, Policy, settle
from bot.telegram.errors import delivery_error, maybe_sent

NOW = datetime(2025, 2, 10, 2, 0, tzinfo=UTC)
JOB = Job(7, "telegram", "42", attempts=0, payload={"type": "SendDocument", "file": {"filename": "a.xlsx"}})


def test_each_answer_has_one_status() -> None:
    policy = Policy(max_attempts=2)
    status = {
        name: settle(policy, JOB, NOW, error=exc)[0].status
        for name, exc in [
            ("429", RetryAfter(3)),
            ("403", Blocked("blocked")),
            ("400", Rejected("bad")),
            ("5xx", Transient("bad gateway")),
            ("timeout", Unconfirmed("read timeout")),
            ("bug", ValueError("x")),
        ]
    }
    assert status == {
        "429": "retry",
        "403": "blocked",
        "400": "failed",
        "5xx": "retry",
        "timeout": "unconfirmed",
        "bug": "retry",
    }
    sent, pause = settle(policy, JOB, NOW, result={"message_ids": [1]})
    assert (sent.status, sent.result, pause) == ("sent", {"message_ids": [1]}, 0.0)
    # A secret payload is redacted once settled, whatever the outcome; a retry keeps it (it is sent again).
    assert sent.redact_to == {"type": "SendDocument", "redacted": True, "files": ["a.xlsx"]}
    assert settle(policy, JOB, NOW, error=Transient("x"))[0].redact_to is None
    # 429: everyone pauses for exactly what the platform said; the row is due when the pause ends.
    retry, pause = settle(policy, JOB, NOW, error=RetryAfter(3))
    assert pause == 3 and retry.retry_at is not None and (retry.retry_at - NOW).total_seconds() == 3
    # Transient errors give up after max_attempts.
    last = Job(7, "telegram", "42", attempts=1)
    assert settle(policy, last, NOW, error=Transient("x"))[0].status == "failed"


def test_robots_count_too_often_as_an_attempt() -> None:
    robots = Policy(max_attempts=3, backoff_base=5.0, rate_limit_is_attempt=True)
    retry, _ = settle(robots, Job(1, "wecom", "robot", attempts=0), NOW, error=RetryAfter(1))
    assert retry.status == "retry" and (retry.retry_at - NOW).total_seconds() >= 4  # type: ignore[operator]
    assert settle(robots, Job(1, "wecom", "robot", attempts=2), NOW, error=RetryAfter(1))[0].status == "failed"


@pytest.mark.parametrize(
    ("cause", "maybe"),
    [
        (httpx.ReadTimeout("read"), True),  # written, no answer: perhaps delivered
        (httpx.RemoteProtocolError("dropped"), True),
        (httpx.ConnectTimeout("connect"), False),  # never left: safe to send again
        (httpx.ConnectError("refused"), False),
    ],
)
def test_a_request_that_went_out_without_an_answer_is_never_resent(cause: Exception, maybe: bool) -> None:
    try:
        try:
            raise cause
        except httpx.HTTPError as exc:
            raise (
                tg_error.TimedOut() if isinstance(exc, httpx.TimeoutException) else tg_error.NetworkError("x")
            ) from exc
    except tg_error.TelegramError as wrapped:
        assert maybe_sent(wrapped) is maybe
    assert isinstance(delivery_error("maybe_sent", "read timeout"), Unconfirmed)
