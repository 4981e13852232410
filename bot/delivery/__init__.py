"""Delivery: everything that carries outbox rows to a platform, for every channel.

    bot/delivery/
      sender.py    the `Sender` protocol a channel implements, and the `DeliveryError`s it raises
      policy.py    the settle policy: a result or an error → the row's status, backoff, deactivation
      gates.py     the rate `Gate` (Telegram: 30/s overall, 1/s per chat, 20/min per group; 429 pauses all)
      worker.py    `OutboxWorker`: the queue (claim → on the wire → send → settle) and the fast path
                   (`deliver_turn`: this turn's rows, handed to the worker first); broadcasts' progress
      liveness.py  claim names, dead claimants of this machine and taking their rows back
      robots.py    `RobotWorker`: the worker for a group robot's rows (WeCom, DingTalk, Feishu)

The rows themselves are written only by `storage.repos.outbox`. Channels live beside this package
(bot/telegram/errors.py, bot/group_robots.py, …) and depend on `sender` only.
"""

from bot.delivery.gates import Gate, Pacer, is_group
from bot.delivery.sender import Blocked, DeliveryError, Rejected, RetryAfter, Sender, Transient, Unconfirmed

__all__ = [
    "Blocked",
    "DeliveryError",
    "Gate",
    "Pacer",
    "Rejected",
    "RetryAfter",
    "Sender",
    "Transient",
    "Unconfirmed",
    "is_group",
]
