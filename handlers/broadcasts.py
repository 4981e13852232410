"""Admin broadcasts: compose → choose the audience → preview with the recipient count → confirm; progress
in the admin's chat with refresh and stop. The payment notice (when the centre announces the fee schedule)
goes the same way with its own header and, by default, to the approved labs.

Admin-only, checked on every update: the commands and global buttons through the router's role check, and
every step of the flow again (a person whose admin right was withdrawn mid-flow, or forged button data,
changes nothing). Confirming queues one outbox row per recipient chat in the same transaction that creates
the broadcast; `bot.delivery.worker` delivers them.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from conversations import flow as flows
from conversations.audience import STATUSES, Audience, count, has_followers, recipients
from conversations.campaign import Campaign
from conversations.context import Ctx
from conversations.events import Button, Keyboard, Reply, global_button, keyboard, to_payload
from conversations.flow import Flow, Step
from conversations.i18n import Catalog
from handlers.roles import refuse
from handlers.routing import MAX_INPUT, action, command
from storage.models import Broadcast
from storage.repos.outbox import NewRow, add_rows, cancel_broadcast, counts, create_broadcast, record_screen

FLOW = "broadcast"
MAX_TEXT = MAX_INPUT  # the router refuses longer input anyway; with header and footer well within 4096
KINDS = ("broadcast", "payment")


def progress_key(broadcast_id: int) -> str:
    """The outbox row that records the admin's progress message (its id lets the worker edit it)."""
    return f"bc{broadcast_id}:progress"


# -- what recipients get ------------------------------------------------------------------------------------
def recipient_message(catalog: Catalog, lang: str, campaign: Campaign, kind: str, text: str) -> tuple[str, Keyboard]:
    def t(key: str, **args: object) -> str:
        return catalog.t(lang, key, **args)

    centre = campaign.centre_en if lang == "en" else campaign.centre
    if kind == "payment":
        mode = campaign.fees.mode_en if lang == "en" else campaign.fees.mode
        header = t("bc-header-payment", centre=centre, year=campaign.year, mode=mode)
        footer = t("bc-footer-payment")
        buttons = keyboard(
            [global_button(t("btn-contacts"), "faq", "contacts"), global_button(t("btn-status"), "go", "status")]
        )
    else:
        header = t("bc-header-broadcast", centre=centre)
        footer = t("bc-footer-broadcast")
        buttons = keyboard(
            [global_button(t("btn-status"), "go", "status"), global_button(t("btn-contacts"), "faq", "contacts")]
        )
    return f"{header}\n{text}\n\n{footer}", buttons


# -- progress (shared with the worker, which edits the admin's message as rows go out) ----------------------
def progress_view(catalog: Catalog, lang: str, bc: Broadcast, tally: dict[str, int]) -> tuple[str, Keyboard]:
    def t(key: str, **args: object) -> str:
        return catalog.t(lang, key, **args)

    total = sum(tally.values())
    waiting = tally.get("pending", 0) + tally.get("claimed", 0) + tally.get("sending", 0)
    sent = tally.get("sent", 0) + tally.get("unconfirmed", 0)
    lines = [
        t(
            "bc-progress",
            kind=t(f"bc-kind-{bc.kind}"),
            id=bc.id,
            state=t(f"bc-state-{bc.status}"),
            total=total,
            sent=sent,
            failed=tally.get("failed", 0),
            blocked=tally.get("blocked", 0),
            waiting=waiting,
        )
    ]
    if tally.get("unconfirmed"):
        lines.append(t("bc-progress-unconfirmed", count=tally["unconfirmed"]))
    if tally.get("cancelled"):
        lines.append(t("bc-progress-cancelled", count=tally["cancelled"]))
    unreachable = (bc.audience or {}).get("unreachable_labs")
    if unreachable:
        lines.append(t("bc-report-unreachable", count=unreachable))
    if bc.status == "sending":
        lines.append(t("bc-progress-next-sending"))
        buttons = keyboard(
            [
                global_button(t("bc-btn-refresh"), "bc", f"prog:{bc.id}"),
                global_button(t("bc-btn-stop"), "bc", f"stop:{bc.id}"),
            ]
        )
    else:
        lines.append(t("bc-progress-next-done"))
        buttons = ()
    return "\n".join(lines), buttons


# -- the flow -----------------------------------------------------------------------------------------------
StepHandler = Callable[..., Awaitable[None]]


def admin_only(fn: StepHandler) -> StepHandler:
    """Every step checks the role again: the router checks only commands and global buttons."""

    @functools.wraps(fn)
    async def guarded(ctx: Ctx, *args: Any) -> None:
        if not ctx.actor.is_admin:
            refuse(ctx, f"{FLOW}:{ctx.state.step}")
            ctx.end()
            return
        await fn(ctx, *args)

    return guarded


def _cancel_row(ctx: Ctx) -> list[Button]:
    return [ctx.btn(ctx.t("bc-btn-cancel"), "x")]


@command("broadcast", role="admin")
async def broadcast_command(ctx: Ctx) -> None:
    await flows.start(ctx, FLOW, "compose", {"kind": "broadcast"})


@command("payment", role="admin")
async def payment_command(ctx: Ctx) -> None:
    # Fees concern the labs that take part: approved ones by default; the admin may choose others.
    await flows.start(ctx, FLOW, "compose", {"kind": "payment", "audience": Audience("status", "approved").to_dict()})


@admin_only
async def _show_compose(ctx: Ctx) -> None:
    key = "bc-compose-payment" if ctx.state.data.get("kind") == "payment" else "bc-compose"
    ctx.show(ctx.t(key, limit=MAX_TEXT), [_cancel_row(ctx)])


@admin_only
async def _on_compose_text(ctx: Ctx, text: str) -> None:
    text = text.strip()
    if len(text) > MAX_TEXT:
        ctx.say(ctx.t("bc-too-long", length=len(text), limit=MAX_TEXT), [_cancel_row(ctx)])
        return
    ctx.state.data["text"] = text
    await flows.go(ctx, "preview" if "audience" in ctx.state.data else "audience")


@admin_only
async def _on_cancel_only(ctx: Ctx, name: str, arg: str) -> None:
    if name == "x":
        await _cancel(ctx)
        return
    ctx.toast(ctx.t("button-unknown"))


async def _cancel(ctx: Ctx) -> None:
    ctx.end()
    ctx.show(ctx.t("bc-cancelled"))


@admin_only
async def _show_audience(ctx: Ctx) -> None:
    rows = [
        [ctx.btn(ctx.t("bc-aud-unfinished"), "aud", "unfinished"), ctx.btn(ctx.t("bc-aud-all"), "aud", "all")],
        [ctx.btn(ctx.t("bc-aud-status"), "dim", "status")],
        [ctx.btn(ctx.t("bc-aud-city"), "dim", "city"), ctx.btn(ctx.t("bc-aud-type"), "dim", "type")],
    ]
    if await has_followers(ctx.session):
        rows.append([ctx.btn(ctx.t("bc-aud-followers"), "aud", "followers")])
    ctx.show(ctx.t("bc-audience"), [*rows, _cancel_row(ctx)])


@admin_only
async def _on_audience(ctx: Ctx, name: str, arg: str) -> None:
    if name == "aud" and arg in ("all", "unfinished", "followers"):
        ctx.state.data["audience"] = Audience(arg).to_dict()  # type: ignore[arg-type]
        await flows.go(ctx, "preview")
    elif name == "dim" and arg in ("status", "city", "type"):
        ctx.state.data["dim"] = arg
        await flows.go(ctx, "pick")
    elif name == "x":
        await _cancel(ctx)
    else:
        ctx.toast(ctx.t("button-unknown"))


def _options(ctx: Ctx, dim: str) -> list[tuple[str, str]]:
    """(value, label) of one dimension, in a stable order (buttons carry the index)."""
    c = ctx.campaign
    if dim == "status":
        return [(s, ctx.t(f"review-state-{s}")) for s in STATUSES]
    if dim == "city":
        return [(city, city) for city in c.cities]
    return [(t.code, t.label(ctx.lang)) for t in c.institution_types if t.eligible]


@admin_only
async def _show_pick(ctx: Ctx) -> None:
    dim = ctx.state.data.get("dim", "status")
    per_row = 1 if dim == "status" else 3 if dim == "city" else 2
    buttons = [ctx.btn(label, "val", str(i)) for i, (_, label) in enumerate(_options(ctx, dim))]
    rows = [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
    rows.append([ctx.btn(ctx.t("bc-btn-back"), "back"), *_cancel_row(ctx)])
    ctx.show(ctx.t(f"bc-pick-{dim}"), rows)


@admin_only
async def _on_pick(ctx: Ctx, name: str, arg: str) -> None:
    dim = ctx.state.data.get("dim", "status")
    options = _options(ctx, dim)
    if name == "val" and arg.isdigit() and int(arg) < len(options):
        ctx.state.data["audience"] = Audience(dim, options[int(arg)][0]).to_dict()  # type: ignore[arg-type]
        await flows.go(ctx, "preview")
    elif name == "back":
        await flows.go(ctx, "audience")
    elif name == "x":
        await _cancel(ctx)
    else:
        ctx.toast(ctx.t("button-unknown"))


def describe(ctx: Ctx, audience: Audience) -> str:
    if audience.kind in ("all", "unfinished", "followers"):
        return ctx.t(f"bc-desc-{audience.kind}")
    label = dict(_options(ctx, audience.kind)).get(audience.value or "", audience.value or "")
    return ctx.t(f"bc-desc-{audience.kind}", value=label)


def _audience(ctx: Ctx) -> Audience | None:
    try:
        audience = Audience.from_dict(ctx.state.data.get("audience") or {})
        audience.check(ctx.campaign)
    except ValueError:
        return None
    return audience


@admin_only
async def _show_preview(ctx: Ctx) -> None:
    audience = _audience(ctx)
    if audience is None or "text" not in ctx.state.data:
        await flows.go(ctx, "audience" if "text" in ctx.state.data else "compose")
        return
    labs, people = await count(ctx.session, ctx.campaign, audience)
    edit_row = [ctx.btn(ctx.t("bc-btn-edit-text"), "text"), ctx.btn(ctx.t("bc-btn-edit-audience"), "aud")]
    if people == 0:
        ctx.show(ctx.t("bc-preview-none", audience=describe(ctx, audience), labs=labs), [edit_row, _cancel_row(ctx)])
        return
    message, _ = recipient_message(
        ctx.services.catalog, ctx.lang, ctx.campaign, ctx.state.data.get("kind", "broadcast"), ctx.state.data["text"]
    )
    ctx.show(
        ctx.t("bc-preview", message=message, audience=describe(ctx, audience), labs=labs, people=people),
        [[ctx.btn(ctx.t("bc-btn-confirm", people=people), "send")], edit_row, _cancel_row(ctx)],
    )


@admin_only
async def _on_preview(ctx: Ctx, name: str, arg: str) -> None:
    if name == "send":
        await _confirm(ctx)
    elif name == "text":
        await flows.go(ctx, "compose")
    elif name == "aud":
        await flows.go(ctx, "audience")
    elif name == "x":
        await _cancel(ctx)
    else:
        ctx.toast(ctx.t("button-unknown"))


async def _confirm(ctx: Ctx) -> None:
    audience = _audience(ctx)
    text = ctx.state.data.get("text")
    kind = ctx.state.data.get("kind", "broadcast")
    if audience is None or not text or kind not in KINDS:
        await flows.go(ctx, "compose")
        return
    people = await recipients(ctx.session, ctx.campaign, audience)
    # One message per chat: a person bound to two labs reads a general notice once.
    chats: dict[tuple[str, str], tuple[int, str]] = {}
    for r in people:
        chats.setdefault((r.platform, r.chat_id), (r.contact_id, r.language))
    if not chats:
        ctx.show(ctx.t("bc-nobody"), [[ctx.btn(ctx.t("bc-btn-edit-audience"), "aud")], _cancel_row(ctx)])
        return
    labs, _ = await count(ctx.session, ctx.campaign, audience)
    bc = await create_broadcast(
        ctx.session,
        kind=kind,
        text=text,
        audience=audience.to_dict() | {"labs": labs, "lang": ctx.lang},
        created_by=ctx.actor.ref,
        report_chat=ctx.actor.chat_id,
        now=ctx.now,
    )
    bodies: dict[str, tuple[str, Keyboard]] = {}
    rows = []
    for (platform, chat_id), (contact_id, lang) in chats.items():
        if lang not in bodies:
            bodies[lang] = recipient_message(ctx.services.catalog, lang, ctx.campaign, kind, text)
        body, buttons = bodies[lang]
        payload = to_payload(Reply(body, buttons, chat_id, platform))
        rows.append(NewRow(platform, chat_id, payload, f"bc{bc.id}:{platform}:{chat_id}", contact_id))
    await add_rows(ctx.session, rows, now=ctx.now, broadcast_id=bc.id)
    ctx.audit("broadcast", "broadcast", bc.id, after={"kind": kind, "audience": audience.to_dict(), "chats": len(rows)})
    ctx.end()
    tally = await counts(ctx.session, bc.id)
    view, buttons = progress_view(ctx.services.catalog, ctx.lang, bc, tally)
    ctx.show(view, buttons)
    if ctx.event.kind == "button" and ctx.event.message_id:
        # The preview message becomes the progress screen; remember its id so the worker can keep it current.
        await record_screen(
            ctx.session,
            dedupe_key=progress_key(bc.id),
            platform=ctx.actor.platform,
            chat_id=ctx.actor.chat_id,
            payload=to_payload(Reply(view, buttons)),
            message_ids=[ctx.event.message_id],
            now=ctx.now,
        )


@action("bc", role="admin")
async def broadcast_button(ctx: Ctx, arg: str) -> None:
    if not ctx.actor.is_admin:  # the router checked; a second look costs nothing
        refuse(ctx, "button bc")
        return
    verb, _, ident = arg.partition(":")
    bc = await ctx.session.get(Broadcast, int(ident)) if ident.isdigit() else None
    if bc is None or verb not in ("prog", "stop"):
        ctx.toast(ctx.t("bc-unknown"), alert=True)
        return
    if verb == "stop" and bc.status == "sending":
        cancelled = await cancel_broadcast(ctx.session, bc.id, ctx.now)
        await ctx.session.refresh(bc)
        ctx.audit("broadcast_stopped", "broadcast", bc.id, after={"cancelled": cancelled})
        ctx.toast(ctx.t("bc-stopped", count=cancelled))
    view, buttons = progress_view(ctx.services.catalog, ctx.lang, bc, await counts(ctx.session, bc.id))
    ctx.show(view, buttons)


flows.register(
    Flow(
        name=FLOW,
        first="compose",
        steps={
            "compose": Step(show=_show_compose, on_text=_on_compose_text, on_button=_on_cancel_only),
            "audience": Step(show=_show_audience, on_button=_on_audience),
            "pick": Step(show=_show_pick, on_button=_on_pick),
            "preview": Step(show=_show_preview, on_button=_on_preview),
        },
    )
)
