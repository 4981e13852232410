"""The one interface a channel implements to have the outbox delivered through it, and the errors it raises.

A new channel (WeChat, a web desk, a group robot) plugs in with three things:

1. a `Sender`: `platform` (the outbox rows' `platform` it serves), `send(action)` and `answer(toast)`;
2. its failures translated into the `DeliveryError`s below — the settle policy
   (`bot.delivery.policy`) turns them into row statuses, retries and deactivations the same way for every
   channel, so a sender never touches the outbox itself;
3. an `OutboxWorker(db, sender, gate_or_None, config=...)` running beside it (`bot.delivery.worker`), and,
   if the channel answers people as they write, `OutboxWorker.deliver_turn(...)` for the replies of the
   turn (the fast path). A channel with its own rate limits passes `gate=None` and paces inside `send`.

The delivery promise comes with the worker, not the sender: each row is committed "on the wire" (`sending`)
just before `send` is called, so a process killed at any moment never sends a row twice — a row that was
on the wire is settled `unconfirmed` and reported, not resent. `send` therefore must not retry a request
that may have reached the platform unless the platform makes that harmless (Telegram: an edit that
changes nothing).
"""

from __future__ import annotations

from typing import Any, Protocol

from conversations.events import Outbound, Toast


class DeliveryError(Exception):
    """Sending failed; subclasses say whether and when to try again."""


class RetryAfter(DeliveryError):
    """The platform asked everyone to wait (HTTP 429, "too often"). Nothing was delivered."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds}s")
        self.seconds = seconds


class Blocked(DeliveryError):
    """The person blocked the bot or the chat is gone (HTTP 403): stop writing to them."""


class Rejected(DeliveryError):
    """The platform refused this message for good (HTTP 400, a misconfiguration); retrying will not help."""


class Transient(DeliveryError):
    """A network error or a server error before the request could reach the platform (or a server error
    answered): retry later with backoff. Any other exception counts as this."""


class Unconfirmed(DeliveryError):
    """The request went out but no answer came back (a read timeout, the connection dropped after the
    request was written): perhaps delivered. Settled `unconfirmed` and reported, never resent."""


class Sender(Protocol):
    """What the outbox needs of a channel."""

    platform: str  # the `platform` of the outbox rows this sender delivers ("telegram", "wecom", …)

    async def send(self, action: Outbound) -> dict[str, Any]:
        """Deliver one action (`action.chat_id` is set); return what the platform said, kept as the row's
        `result` (e.g. {"message_ids": [...]}: a later Edit names one). Raise a `DeliveryError`."""
        ...

    async def answer(self, toast: Toast) -> None:
        """Answer a button press. Not rate-gated and not queued: it expires within seconds. A channel
        without buttons returns None."""
        ...
