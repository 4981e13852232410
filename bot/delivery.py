"""Carrying Outbound actions to a platform: the sender interface every transport implements, the errors
it raises, and the rate gate all sending goes through (replies, alerts, broadcasts alike).

Telegram's limits (its bot FAQ): about 30 messages/s in bulk, 1/s per chat, 20/min per group; a 429
carries `retry_after`, which the whole bot honours, not just the request that got it.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from typing import Any, Protocol

from aiolimiter import AsyncLimiter

from conversations.events import Outbound, Toast


class DeliveryError(Exception):
    """Sending failed; subclasses say whether and when to try again."""


class RetryAfter(DeliveryError):
    """The platform asked everyone to wait (HTTP 429)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds}s")
        self.seconds = seconds


class Blocked(DeliveryError):
    """The person blocked the bot or the chat is gone (HTTP 403): stop writing to them."""


class Rejected(DeliveryError):
    """The platform refused this message for good (HTTP 400); retrying will not help."""


class Transient(DeliveryError):
    """A network error or a server error: retry later with backoff."""


class Sender(Protocol):
    platform: str

    async def send(self, action: Outbound) -> dict[str, Any]:
        """Deliver one action; return what the platform said (e.g. {"message_ids": [...]})."""
        ...

    async def answer(self, toast: Toast) -> None:
        """Answer a button press. Not rate-gated: it is no message and expires within seconds."""
        ...


class Gate:
    """One gate per bot token, shared by every sender and worker in the process."""

    def __init__(
        self,
        per_second: float = 30,
        per_chat_per_second: float = 1,
        per_group_per_minute: float = 20,
        *,
        max_chats: int = 10_000,
    ) -> None:
        self._global = AsyncLimiter(per_second, 1)
        self._per_chat_rate = per_chat_per_second
        self._per_group_rate = per_group_per_minute
        self._chats: OrderedDict[str, AsyncLimiter] = OrderedDict()
        self._max_chats = max_chats
        self._paused_until = 0.0
        self.pauses = 0

    def _chat_limiter(self, chat_id: str, group: bool) -> AsyncLimiter:
        limiter = self._chats.get(chat_id)
        if limiter is None:
            limiter = AsyncLimiter(self._per_group_rate, 60) if group else AsyncLimiter(self._per_chat_rate, 1)
            self._chats[chat_id] = limiter
            if len(self._chats) > self._max_chats:
                self._chats.popitem(last=False)
        else:
            self._chats.move_to_end(chat_id)
        return limiter

    async def wait(self, chat_id: str, *, group: bool = False, interactive: bool = False) -> None:
        """Wait until a message to `chat_id` may go out. Replies to a person who is typing
        (`interactive`) skip the per-chat limit: a short burst of 2–3 replies is fine; bulk is not."""
        await self._wait_pause()
        if not interactive:
            await self._chat_limiter(chat_id, group).acquire()
        await self._global.acquire()
        await self._wait_pause()

    async def _wait_pause(self) -> None:
        while (delay := self._paused_until - time.monotonic()) > 0:
            await asyncio.sleep(delay)

    def pause(self, seconds: float) -> None:
        """Everyone waits after a 429, not just the request that got it."""
        until = time.monotonic() + seconds
        if until > self._paused_until:
            self._paused_until = until
            self.pauses += 1

    @property
    def paused(self) -> bool:
        return time.monotonic() < self._paused_until
