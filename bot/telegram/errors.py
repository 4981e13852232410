"""Telegram's errors → the delivery errors of `bot.delivery` (one reading for both libraries)."""

from __future__ import annotations

from typing import Literal

from bot.delivery import Blocked, DeliveryError, Rejected, RetryAfter, Transient, Unconfirmed

# -- errors -----------------------------------------------------------------------------------------------
ErrorKind = Literal[
    "retry_after", "forbidden", "bad_request", "not_found", "network", "maybe_sent", "server", "conflict", "auth"
]
# Network errors after the request was written (the libraries' own exception names, httpx and aiohttp): the
# message may have been delivered, so it must not be sent again.
_MAYBE_SENT = {
    "ReadTimeout",
    "WriteTimeout",
    "ReadError",
    "WriteError",
    "RemoteProtocolError",
    "ServerDisconnectedError",
    "ClientPayloadError",
}


def maybe_sent(exc: BaseException) -> bool:
    """Whether a network error happened once the request may have reached Telegram."""
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            return False
        if type(seen).__name__ in _MAYBE_SENT or "Request timeout error" in str(seen):  # the last: aiogram's
            return True
        seen = seen.__cause__ or seen.__context__
    return False


NOT_MODIFIED = "message is not modified"
# An edit that cannot happen (a file message, an old or deleted one): show the screen as a new message.
_EDIT_FALLBACK = (
    "there is no text in the message to edit",
    "message to edit not found",
    "message can't be edited",
    "message_id_invalid",
)
_TOO_OLD_QUERY = ("query is too old", "query id is invalid")
_WRONG_FILE_ID = ("wrong file identifier", "wrong remote file identifier", "can't use file of type")


def is_not_modified(description: str) -> bool:
    return NOT_MODIFIED in description.lower()


def needs_new_message(description: str) -> bool:
    lowered = description.lower()
    return any(s in lowered for s in _EDIT_FALLBACK)


def is_stale_query(description: str) -> bool:
    lowered = description.lower()
    return any(s in lowered for s in _TOO_OLD_QUERY)


def is_wrong_file_id(description: str) -> bool:
    lowered = description.lower()
    return any(s in lowered for s in _WRONG_FILE_ID)


def delivery_error(kind: ErrorKind, description: str, retry_after: float | None = None) -> DeliveryError:
    """A Telegram error as one of the delivery errors the runner and the outbox worker act on."""
    if kind == "retry_after":
        return RetryAfter(float(retry_after if retry_after is not None else 1))
    if kind == "forbidden":
        return Blocked(description)
    if kind in ("bad_request", "not_found"):
        return Rejected(description)
    if kind == "maybe_sent":
        return Unconfirmed(description)
    return Transient(description)
