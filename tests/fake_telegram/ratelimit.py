"""Optional enforcement of Telegram's documented broadcast limits (off unless configured)."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field

# Methods that put a message into a chat; edits count too, as they do on Telegram.
DEFAULT_LIMITED_METHODS = frozenset(
    m.lower()
    for m in (
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendMediaGroup",
        "sendAudio",
        "sendVideo",
        "sendVoice",
        "sendAnimation",
        "sendSticker",
        "sendLocation",
        "sendContact",
        "sendPoll",
        "copyMessage",
        "forwardMessage",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
        "editMessageMedia",
    )
)


class _Window:
    """Sliding window allowing ``cap`` events per ``seconds``."""

    def __init__(self, cap: int, seconds: float) -> None:
        self.cap = cap
        self.seconds = seconds
        self.events: deque[float] = deque()

    def wait_time(self, now: float) -> float:
        while self.events and self.events[0] <= now - self.seconds:
            self.events.popleft()
        if len(self.events) < self.cap:
            return 0.0
        return self.events[len(self.events) - self.cap] + self.seconds - now

    def add(self, now: float, count: int) -> None:
        self.events.extend([now] * count)


def _normalise(per: float, seconds: float, scale: float) -> tuple[int, float]:
    """A rate of ``per`` events per ``seconds`` as an integer cap over a (scaled) window."""
    if per <= 0:
        raise ValueError("rates must be positive")
    if per >= 1:
        cap = int(per)
        return cap, seconds * (cap / per) / scale
    return 1, seconds / per / scale


@dataclass
class RateLimits:
    """Telegram's limits: ~30 msg/s overall, 1 msg/s per chat, 20 msg/min per group.

    ``scale`` multiplies all rates (scale=10 → 300 msg/s overall, 10/s per chat) so benchmarks run
    faster while the ratios between the limits stay meaningful. Refused requests get 429 with an
    integer ``retry_after`` ≥ 1, as Telegram answers; ``hits`` counts them.
    """

    per_second_global: float = 30
    per_second_per_chat: float = 1
    per_minute_per_group: float = 20
    scale: float = 1.0
    methods: frozenset[str] = DEFAULT_LIMITED_METHODS
    hits: int = field(default=0, init=False)
    _global: _Window = field(init=False, repr=False)
    _chats: dict[object, _Window] = field(default_factory=dict, init=False, repr=False)
    _groups: dict[object, _Window] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self.methods = frozenset(m.lower() for m in self.methods)
        self._global = _Window(*_normalise(self.per_second_global, 1.0, self.scale))

    def applies_to(self, method: str) -> bool:
        return method.lower() in self.methods

    def _windows(self, chat_id: object, is_group: bool) -> list[_Window]:
        windows = [self._global]
        if chat_id is not None:
            chat = self._chats.get(chat_id)
            if chat is None:
                chat = self._chats[chat_id] = _Window(*_normalise(self.per_second_per_chat, 1.0, self.scale))
            windows.append(chat)
            if is_group:
                group = self._groups.get(chat_id)
                if group is None:
                    group = self._groups[chat_id] = _Window(*_normalise(self.per_minute_per_group, 60.0, self.scale))
                windows.append(group)
        return windows

    def peek(self, chat_id: object, *, is_group: bool, now: float | None = None) -> int | None:
        """The retry_after to answer if a send now would exceed a limit (counted in ``hits``)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            wait = max(w.wait_time(now) for w in self._windows(chat_id, is_group))
            if wait <= 0:
                return None
            self.hits += 1
            return max(1, math.ceil(wait))

    def record(self, chat_id: object, *, is_group: bool, count: int = 1, now: float | None = None) -> None:
        """Count a successful send (of ``count`` messages, e.g. an album)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            for w in self._windows(chat_id, is_group):
                w.add(now, count)
