"""The rate gate all sending to one bot token goes through (replies, alerts, broadcasts alike).

Telegram's limits (its bot FAQ): about 30 messages/s in bulk, 1/s per chat, 20/min per group; a 429
carries `retry_after`, which the whole bot honours, not just the request that got it.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque


class Pacer:
    """Even spacing at `cap` per `window` + `margin` seconds, with a hard guard: never more than `cap` sends in
    any such span, counted over a sliding window of actual departures as the platform counts arrivals.

    Why not a leaky bucket: a bucket of capacity 30 lets 30 go at once and 30 more within the same second
    (the platform counts 60 and answers 429); a bucket of capacity 1 loses every millisecond the event loop
    wakes late. Here sends are spaced by `interval` (virtual scheduling, GCRA); a late wake may be made up by
    at most half an interval, and `margin` leaves room for network jitter."""

    def __init__(self, cap: int, window: float, margin: float = 0.0) -> None:
        self.cap = cap
        self.span = window + margin
        self.interval = self.span / cap
        self.tolerance = self.interval / 2
        self._due = 0.0  # the theoretical time of the next send
        self._times: deque[float] = deque(maxlen=cap)

    async def wait(self) -> None:
        while True:
            now = time.monotonic()
            at = self._due - self.tolerance
            if len(self._times) == self.cap:
                at = max(at, self._times[0] + self.span)
            if at <= now:
                self._due = max(self._due, now) + self.interval
                self._times.append(now)
                return
            await asyncio.sleep(at - now)

    def departed(self) -> None:
        """The send admitted last leaves only now: the window counts it from now, so a slow step between
        admission and sending cannot squeeze it against the following sends at the platform."""
        if self._times:
            self._times[-1] = time.monotonic()


def _pacer(per_window: float, window: float, margin: float) -> Pacer:
    cap = max(1, int(per_window))
    return Pacer(cap, window * cap / per_window, margin)


class Gate:
    """One gate per bot token, shared by every sender and worker in the process: replies, alerts and
    broadcasts go out at one even pace."""

    def __init__(
        self,
        per_second: float = 30,
        per_chat_per_second: float = 1,
        per_group_per_minute: float = 20,
        *,
        window: float = 1.0,
        margin: float = 0.03,
        max_chats: int = 10_000,
    ) -> None:
        # `window`: the span the platform counts over (Telegram: a second; a scaled fake server: less).
        self._global = _pacer(per_second * window, window, margin)
        self._per_chat_rate = per_chat_per_second
        self._per_group_rate = per_group_per_minute
        self._margin = margin
        self._chats: OrderedDict[str, Pacer] = OrderedDict()
        self._max_chats = max_chats
        self._paused_until = 0.0
        self.pauses = 0

    def _chat_pacer(self, chat_id: str, group: bool) -> Pacer:
        pacer = self._chats.get(chat_id)
        if pacer is None:
            pacer = (
                _pacer(self._per_group_rate, 60.0, self._margin)
                if group
                else _pacer(self._per_chat_rate, 1.0, self._margin)
            )
            self._chats[chat_id] = pacer
            if len(self._chats) > self._max_chats:
                self._chats.popitem(last=False)
        else:
            self._chats.move_to_end(chat_id)
        return pacer

    async def wait(self, chat_id: str, *, group: bool = False, interactive: bool = False) -> None:
        """Wait until a message to `chat_id` may go out. Replies to a person who is typing
        (`interactive`) skip the per-chat limit: a short burst of 2–3 replies is fine; bulk is not."""
        while True:
            await self._wait_pause()
            if not interactive:
                await self._chat_pacer(chat_id, group).wait()
            await self._global.wait()  # last: it counts departures
            if not self.paused:  # a 429 elsewhere while we waited: wait with everyone
                return

    def departed(self) -> None:
        """The message admitted last is leaving only now (see `Pacer.departed`)."""
        self._global.departed()

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


def is_group(chat_id: str) -> bool:
    """Telegram's group and channel ids are negative (private chats are the user's own positive id): groups
    have their own, slower per-chat limit."""
    return chat_id.startswith("-")
