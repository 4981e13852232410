"""Everyone's commands and menu buttons: /start, /help, /status, /lang, /cancel, /restart, /menu."""

from __future__ import annotations

from conversations import flow as flows
from conversations.context import Ctx
from conversations.flows import journey
from conversations.flows.home import menu_buttons, show_help, show_status, show_welcome
from conversations.i18n import normalise_language
from handlers.routing import ACTIONS, action, command
from storage.repos.people import profile


@command("start")
async def start(ctx: Ctx) -> None:
    payload = ctx.event.args.strip()
    ctx.end()
    if payload and "bind" in flows.REGISTRY:
        await flows.start(ctx, "bind", "code", {"payload": payload})
        return
    await show_welcome(ctx)


@command("menu")
async def menu(ctx: Ctx) -> None:
    ctx.end()
    await show_welcome(ctx)


@command("help")
async def help_(ctx: Ctx) -> None:
    await show_help(ctx)


@command("status")
async def status(ctx: Ctx) -> None:
    await show_status(ctx)


@command("cancel")
async def cancel(ctx: Ctx) -> None:
    was = ctx.state.flow
    ctx.end()
    ctx.say(ctx.t("cancelled" if was else "nothing-to-cancel"), menu_buttons(ctx))


@command("restart")
async def restart(ctx: Ctx) -> None:
    ctx.end()
    ctx.say(ctx.t("restarted"))
    await show_welcome(ctx)


@command("lang")
async def lang(ctx: Ctx) -> None:
    choice = normalise_language(ctx.event.args)
    if choice is None:
        ctx.say(ctx.t("lang-choose"), [[ctx.gbtn("中文", "lang", "zh"), ctx.gbtn("English", "lang", "en")]])
        return
    await _set_language(ctx, choice)


@action("lang")
async def lang_button(ctx: Ctx, arg: str) -> None:
    choice = normalise_language(arg)
    if choice is None:
        ctx.toast(ctx.t("button-unknown"))
        return
    await _set_language(ctx, choice)


async def _set_language(ctx: Ctx, choice: str) -> None:
    person = await profile(ctx.session, ctx.actor.platform, ctx.actor.user_id)
    person.language = choice
    ctx.lang = choice
    ctx.say(ctx.t("lang-set"), menu_buttons(ctx))


@action("go")
async def go(ctx: Ctx, target: str) -> None:
    """Menu navigation. Targets that need a role check it through the flow they start."""
    if target == "here" and (step := flows.current_step(ctx)) is not None:
        await step.show(ctx)
        return
    if target == "status":
        await show_status(ctx)
        return
    handler = GO_TARGETS.get(target)
    if handler is not None:
        await handler(ctx)
        return
    ctx.end()
    await show_welcome(ctx)


async def _below(ctx: Ctx, then: flows.StepFn) -> None:
    ctx.below()
    await then(ctx)


GO_TARGETS: dict[str, flows.StepFn] = {
    "journey": journey.resume,
    "redo": lambda ctx: _below(ctx, journey.resume),
    "checklist": lambda ctx: flows.start(ctx, "checklist"),
    "bind": lambda ctx: flows.start(ctx, "bind"),
    "apply": lambda ctx: flows.start(ctx, "apply"),
}

__all__ = ["ACTIONS", "GO_TARGETS"]
