"""Routing an event to what handles it: commands, buttons, answers to the current step, free text."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncSession

import conversations.flows  # noqa: F401 - registers the flows
from conversations import flow as flows
from conversations.context import GLOBAL_MARK, Ctx, parse_button
from conversations.events import Inbound
from conversations.flows.home import menu_buttons
from storage.models import AlbumItem, utcnow
from storage.repos.conversations import peek_state

log = logging.getLogger(__name__)

# No field or question needs more; longer input is refused before any step sees it.
MAX_INPUT = 2000

Handler = Callable[[Ctx], Awaitable[None]]
ActionHandler = Callable[[Ctx, str], Awaitable[None]]


@dataclass(frozen=True)
class Command:
    handler: Handler
    role: str = "anyone"  # anyone | contact | staff | admin
    # Heavy work done before the event's transaction (an export); see conversations.flow.Prepare.
    prepare: flows.PrepareFn | None = None


@dataclass(frozen=True)
class Action:
    handler: ActionHandler
    role: str = "anyone"
    prepare: flows.PrepareFn | None = None  # heavy work before the transaction (conversations.flow.Prepare)


COMMANDS: dict[str, Command] = {}
ACTIONS: dict[str, Action] = {}
FreeTextHandler = Callable[[Ctx, str], Awaitable[None]]
_free_text: list[FreeTextHandler] = []


def command(name: str, *, role: str = "anyone", prepare: flows.PrepareFn | None = None) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        COMMANDS[name] = Command(fn, role, prepare)
        return fn

    return register


def action(
    name: str, *, role: str = "anyone", prepare: flows.PrepareFn | None = None
) -> Callable[[ActionHandler], ActionHandler]:
    def register(fn: ActionHandler) -> ActionHandler:
        ACTIONS[name] = Action(fn, role, prepare)
        return fn

    return register


def free_text(fn: FreeTextHandler) -> FreeTextHandler:
    """Register the handler for text that answers no step (the FAQ)."""
    _free_text[:] = [fn]
    return fn


def allowed(ctx: Ctx, role: str) -> bool:
    a = ctx.actor
    return {
        "anyone": True,
        "contact": a.lab_id is not None,
        "staff": a.is_staff,
        "admin": a.is_admin,
    }[role]


async def route(ctx: Ctx) -> None:
    ev = ctx.event
    if ev.kind == "album":
        await _on_album(ctx)
    elif ev.kind == "command":
        await _on_command(ctx)
    elif ev.kind == "button":
        await _on_button(ctx)
    elif ev.is_file:
        await _on_file(ctx)
    else:
        await _on_text(ctx)


async def _on_command(ctx: Ctx) -> None:
    from handlers.roles import refuse

    name = ctx.event.command or ""
    cmd = COMMANDS.get(name)
    if cmd is None:
        ctx.say(ctx.t("unknown-command", command=f"/{name}"[:40]), menu_buttons(ctx))
        return
    if not allowed(ctx, cmd.role):
        refuse(ctx, f"/{name}")
        return
    await cmd.handler(ctx)


async def _on_button(ctx: Ctx) -> None:
    from handlers.roles import refuse

    parsed = parse_button(ctx.event.button or "")
    if parsed is None:
        log.warning("update %s: unrecognised button data", ctx.event.update_id)
        ctx.toast(ctx.t("button-unknown"), alert=True)
        return
    scope, nonce, name, arg = parsed
    if scope == GLOBAL_MARK:
        act = ACTIONS.get(name)
        if act is None:
            ctx.toast(ctx.t("button-unknown"), alert=True)
            return
        if not allowed(ctx, act.role):
            refuse(ctx, f"button {name}")
            return
        await act.handler(ctx, arg)
        return
    step = flows.current_step(ctx)
    if nonce != ctx.state.nonce or step is None or step.on_button is None:
        # A screen the person has since left (/restart, a later step, a double tap): change nothing.
        ctx.toast(ctx.t("button-stale"), alert=False)
        ctx.say(ctx.t("button-stale-long"), _resume_buttons(ctx))
        return
    await step.on_button(ctx, name, arg)


async def _on_file(ctx: Ctx) -> None:
    step = flows.current_step(ctx)
    if step is None or (step.on_file is None and step.on_album is None):
        ctx.say(ctx.t("unexpected-file"), _resume_buttons(ctx))
        return
    if ctx.file_too_big:
        ctx.say(ctx.t("file-too-big", limit=ctx.services.max_download // (1024 * 1024)), _resume_buttons(ctx))
        return
    if ctx.event.media_group_id and step.on_album is not None:
        await _collect_album_part(ctx)
        return
    handler = step.on_file
    if handler is None:
        ctx.say(ctx.t("unexpected-file"), _resume_buttons(ctx))
        return
    await handler(ctx)


async def _collect_album_part(ctx: Ctx) -> None:
    """Keep one part of an album in the database; the parts are handed over together once no more
    arrive (Telegram sends them as separate updates with no count and no end marker)."""
    ev = ctx.event
    assert ev.file is not None
    data = await ctx.download()
    key = ctx.services.store.put(data)
    part = replace(ev, file=replace(ev.file, stored=key))
    ctx.session.add(
        AlbumItem(
            platform=ev.platform,
            media_group_id=ev.media_group_id,
            chat_id=ev.chat_id,
            user_id=ev.user_id,
            event=part.to_dict(),
            received_at=utcnow(),
        )
    )


async def _on_album(ctx: Ctx) -> None:
    step = flows.current_step(ctx)
    if step is None or step.on_album is None:
        # The person moved on before the album was complete: say so rather than guess where it belongs.
        ctx.say(ctx.t("unexpected-file"), _resume_buttons(ctx))
        return
    await step.on_album(ctx)


async def _on_text(ctx: Ctx) -> None:
    text = ctx.event.text.strip()
    if not text:
        ctx.say(ctx.t("empty-message"), _resume_buttons(ctx))
        return
    if len(text) > MAX_INPUT:
        ctx.say(ctx.t("too-long", length=len(text), limit=MAX_INPUT), _resume_buttons(ctx))
        return
    step = flows.current_step(ctx)
    if step is not None and step.on_text is not None:
        await step.on_text(ctx, text)
        return
    if step is not None and (step.on_file is not None or step.on_album is not None):
        ctx.say(ctx.t("expected-file"), _resume_buttons(ctx))
        return
    if not any(unicodedata.category(ch)[0] in "LN" for ch in text):
        ctx.say(ctx.t("no-words"), _resume_buttons(ctx))
        return
    if _free_text:
        await _free_text[0](ctx, text)
    else:
        ctx.say(ctx.t("not-understood"), menu_buttons(ctx))


def _resume_buttons(ctx: Ctx) -> list:
    """Where to go from a refusal: back to the current screen when there is one, else the menu."""
    if ctx.state.flow is not None:
        return [
            [ctx.gbtn(ctx.t("btn-back-to-step"), "go", "here")],
            [ctx.gbtn(ctx.t("btn-menu"), "go", "menu")],
        ]
    return menu_buttons(ctx)


async def expects_file(session: AsyncSession, event: Inbound) -> bool:
    """Does the sender's current step take files? (Asked before downloading anything.)"""
    row = await peek_state(session, event.platform, event.chat_id, event.user_id)
    if row is None or row.flow is None:
        return False
    flow = flows.REGISTRY.get(row.flow)
    step = flow.steps.get(row.step or flow.first) if flow else None
    return step is not None and (step.on_file is not None or step.on_album is not None)


async def preparer(session: AsyncSession, event: Inbound) -> tuple[flows.PrepareFn, str] | None:
    """The heavy work this event asks for before its transaction, if any: the command's, or, for a file or
    an album, the sender's current step's (the step decides again inside the transaction)."""
    if event.kind == "command":
        cmd = COMMANDS.get(event.command or "")
        return (cmd.prepare, event.command or "") if cmd is not None and cmd.prepare is not None else None
    if event.kind == "button":
        parsed = parse_button(event.button or "")
        act = ACTIONS.get(parsed[2]) if parsed is not None and parsed[0] == GLOBAL_MARK else None
        return (act.prepare, parsed[3]) if act is not None and act.prepare is not None and parsed else None
    if not (event.is_file or event.kind == "album"):
        return None
    row = await peek_state(session, event.platform, event.chat_id, event.user_id)
    if row is None or row.flow is None:
        return None
    flow = flows.REGISTRY.get(row.flow)
    name = row.step or (flow.first if flow else "")
    step = flow.steps.get(name) if flow else None
    if step is None or step.prepare is None or (event.media_group_id and event.kind != "album" and step.on_album):
        return None  # an album's parts are prepared together, once the album is complete
    return step.prepare, name
