"""Domain events raised by the flows (`ctx.signal`) and the handlers that react to them, run in the same
transaction as the step that raised them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from conversations.context import Ctx

Listener = Callable[..., Awaitable[None]]
_LISTENERS: dict[str, list[Listener]] = {}

# The signals the flows raise, and what they carry:
#   enrollment_submitted   enrollment_id: int, revision: int
#   application_submitted  application_id: int
#   documents_uploaded     enrollment_id: int, document_ids: list[int]
KNOWN = ("enrollment_submitted", "application_submitted", "documents_uploaded")


def on(name: str) -> Callable[[Listener], Listener]:
    if name not in KNOWN:
        raise ValueError(f"unknown signal {name!r}")

    def register(fn: Listener) -> Listener:
        _LISTENERS.setdefault(name, []).append(fn)
        return fn

    return register


async def dispatch(ctx: Ctx) -> None:
    # Listeners may raise further signals; handle them in order until none are left.
    while ctx.signals:
        name, data = ctx.signals.pop(0)
        for listener in _LISTENERS.get(name, []):
            await listener(ctx, **data)


def listeners(name: str) -> list[Listener]:
    return list(_LISTENERS.get(name, []))


__all__ = ["Any", "dispatch", "on"]
