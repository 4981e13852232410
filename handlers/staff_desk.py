"""The centre's services for a staff member who is not in a chat (the web desk): run a service of the chat desk
(a decision, the export, the roster import, a broadcast) as that person, in one transaction, exactly as the chat
desk runs it.

The service is the same function the chat desk calls; only the channel differs. What it sends to other chats
(the lab's push, the review chat's note) is queued in the outbox like any other message; what it answers the
person themselves (a text, a file) is handed back for the web page to show.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from conversations.context import Actor, ChatState, Ctx, Services
from conversations.events import FileRef, Inbound, Outbound, Toast, to_payload
from handlers import signals
from handlers.review_cards import ENROLLMENT_REASONS, ITEMS, items_for
from handlers.review_decisions import Decided, decide, tell_review_chat
from storage.db import Database
from storage.models import utcnow
from storage.repos.outbox import NewRow, queue_replies

log = logging.getLogger(__name__)

T = TypeVar("T")
DESK_PLATFORM = "desk"  # the platform of a desk account not linked to a chat identity
_ATTEMPTS = 4


@dataclass
class Ran(Generic[T]):
    value: T
    local: list[Outbound]  # what the service answered the person (shown on the page)
    queued: int  # messages queued for other chats


async def run_as(
    db: Database,
    services: Services,
    actor: Actor,
    lang: str,
    fn: Callable[[Ctx], Awaitable[T]],
    *,
    upload: tuple[bytes, str] | None = None,
    prepared: dict[str, Any] | None = None,
) -> Ran[T]:
    """Run `fn(ctx)` as `actor` in one transaction; optimistic-lock conflicts are retried with fresh rows.
    `prepared`: heavy work done beforehand, outside the transaction (what `ctx.prepared` holds in chat)."""
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            return await _once(db, services, actor, lang, fn, upload, prepared or {})
        except (StaleDataError, IntegrityError):
            if attempt == _ATTEMPTS:
                raise
            log.info("desk action of %s: concurrent change, retrying", actor.ref)
    raise AssertionError("unreachable")


async def _once(
    db: Database,
    services: Services,
    actor: Actor,
    lang: str,
    fn: Callable[[Ctx], Awaitable[T]],
    upload: tuple[bytes, str] | None,
    prepared: dict[str, Any],
) -> Ran[T]:
    file = FileRef(file_id="desk-upload", size=len(upload[0]), name=upload[1]) if upload else None
    event = Inbound(
        platform=actor.platform,
        update_id=f"desk:{uuid.uuid4().hex}",
        chat_id=actor.chat_id,
        user_id=actor.user_id,
        kind="document" if upload else "command",
        command=None if upload else "desk",
        file=file,
        user_name=actor.name,
    )
    async with db.transaction() as session:
        ctx = Ctx(event=event, state=ChatState(), session=session, services=services, actor=actor, lang=lang)
        if upload:
            ctx.prefetched = upload[0]
        ctx.prepared = prepared
        value = await fn(ctx)
        await signals.dispatch(ctx)
        local: list[Outbound] = []
        rows: list[NewRow] = []
        for action in ctx.out:
            if isinstance(action, Toast):
                continue
            chat_id = getattr(action, "chat_id", None)
            platform = getattr(action, "platform", None) or actor.platform
            if chat_id is None:
                local.append(action)
            elif platform != DESK_PLATFORM:  # nobody reads a chat on the desk's own platform
                rows.append(NewRow(platform, chat_id, to_payload(action)))
        # No transport delivers these itself: they wait, unclaimed, for the outbox worker of `eqa-bot run`.
        await queue_replies(session, rows, now=utcnow())
        queued = len(rows)
        return Ran(value, local, queued)


# -- decisions ----------------------------------------------------------------------------------------------
def clean_return(reasons: Sequence[str], note: str | None, extra: Sequence[str]) -> tuple[list[str], list[str]]:
    """The reasons and items a return form may carry (anything else is dropped): "other" only with a note."""
    known = [r for r in ENROLLMENT_REASONS if r in set(reasons) and r != "other"]
    if note:
        known.append("other")
    return known, items_for(known, [i for i in ITEMS if i in set(extra)] if note else [])


async def approve(ctx: Ctx, sid: int, revision: int, *, review_platform: str | None) -> Decided:
    res = await decide(ctx, "enrollment", sid, revision, "approved")
    tell_review_chat(ctx, "enrollment", sid, res, review_platform)
    return res


async def return_with_reasons(
    ctx: Ctx,
    sid: int,
    revision: int,
    reasons: Sequence[str],
    note: str | None,
    extra: Sequence[str],
    *,
    review_platform: str | None,
) -> Decided:
    chosen, items = clean_return(reasons, note, extra)
    res = await decide(ctx, "enrollment", sid, revision, "returned", chosen, note, items)
    tell_review_chat(ctx, "enrollment", sid, res, review_platform)
    return res
