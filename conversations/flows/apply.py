"""New-lab application (新参评单位注册): the eligibility pre-screen from the campaign file, then the
institution's details, a review, and the application goes to the centre. On approval (the reviewer
desk) the applicant's chat is bound to the new lab and told its lab code."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select

from conversations import validators
from conversations.context import Ctx
from conversations.flow import Flow, Step, register
from conversations.flows.home import menu_buttons
from conversations.formatting import day
from conversations.forms import Field, Form, checked_text
from conversations.validators import Checked
from storage.models import Application

STATUS_OPEN = ("draft", "pending")


def _types(ctx: Ctx) -> list[tuple[str, str]]:
    return [(t.code, t.label(ctx.lang)) for t in ctx.campaign.institution_types]


def _levels(ctx: Ctx) -> list[tuple[str, str]]:
    return [(lv.code, lv.label(ctx.lang)) for lv in ctx.campaign.levels]


def _cities(ctx: Ctx) -> list[tuple[str, str]]:
    return [(c, c) for c in ctx.campaign.cities]


def _date(_ctx: Ctx, text: str) -> Checked[Any]:
    checked = validators.parse_date(text)
    return (
        Checked(checked.value.isoformat(), warning=checked.warning, args=checked.args)
        if checked.ok and checked.value
        else checked
    )


async def _valid_to(ctx: Ctx, text: str) -> Checked[Any]:
    checked = validators.parse_date(text)
    if not checked.ok or checked.value is None:
        return checked
    app = await application(ctx)
    start = (
        date.fromisoformat(app.data["licence_valid_from"])
        if app and app.data.get("licence_valid_from")
        else date(1900, 1, 1)
    )
    c = ctx.campaign
    span = validators.licence_validity(start, checked.value, must_cover=c.licence_valid_on, basis=c.licence_basis)
    if not span.ok:
        args = {k: (day(v, ctx.lang) if isinstance(v, date) else v) for k, v in span.args.items()}
        return Checked(None, error=span.error, args=args)
    return Checked(checked.value.isoformat())


def _plain(fn: Any) -> Any:
    return lambda _ctx, text: fn(text)


def _label(options: str) -> Any:
    def show(ctx: Ctx, value: Any) -> str:
        lookup = getattr(ctx.campaign, options)
        return lookup[value].label(ctx.lang) if value in lookup else str(value)

    return show


FIELDS = (
    Field("institution_type", "app-f-type", "app-ask-type", choices=_types, columns=1, show=_label("type_by_code")),
    Field("level", "app-f-level", "app-ask-level", choices=_levels, columns=2, show=_label("level_by_code")),
    Field("name", "app-f-name", "app-ask-name", checked_text(100)),
    Field("city", "app-f-city", "app-ask-city", choices=_cities, columns=3),
    Field("licence_no", "app-f-licence-no", "app-ask-licence-no", checked_text(40)),
    Field("licence_valid_from", "app-f-valid-from", "app-ask-valid-from", _date),
    Field("licence_valid_to", "app-f-valid-to", "app-ask-valid-to", _valid_to),
    Field("credit_code", "app-f-credit-code", "app-ask-credit-code", _plain(validators.credit_code)),
    Field("address", "app-f-address", "app-ask-address", checked_text(200)),
    Field("contact_name", "app-f-contact", "app-ask-contact", _plain(validators.person_name)),
    Field("mobile", "app-f-mobile", "app-ask-mobile", _plain(validators.mobile)),
)


async def application(ctx: Ctx, *, create: bool = False) -> Application | None:
    """This person's open application (a draft being filled in, or one awaiting the centre)."""
    app = await ctx.session.scalar(
        select(Application)
        .where(
            Application.platform == ctx.actor.platform,
            Application.user_id == ctx.actor.user_id,
            Application.year == ctx.campaign.year,
            Application.status.in_(STATUS_OPEN),
        )
        .order_by(Application.id.desc())
        .limit(1)
    )
    if app is None and create:
        app = Application(
            platform=ctx.actor.platform,
            user_id=ctx.actor.user_id,
            chat_id=ctx.actor.chat_id,
            year=ctx.campaign.year,
            data={},
            status="draft",
            submitted_at=ctx.now,
        )
        ctx.session.add(app)
        await ctx.session.flush()
    return app


async def _load(ctx: Ctx) -> Mapping[str, Any]:
    app = await application(ctx)
    return app.data if app else {}


async def _save(ctx: Ctx, key: str, value: Any) -> None:
    app = await application(ctx, create=True)
    assert app is not None
    app.data = {**app.data, key: value}


def _skip(ctx: Ctx, values: Mapping[str, Any]) -> set[str]:
    kind = ctx.campaign.type_by_code.get(values.get("institution_type", ""))
    return set() if kind is None or kind.needs_level else {"level"}


async def _gate(ctx: Ctx, key: str, value: Any) -> bool:
    """Stop ineligible applicants at once, in the notice's words."""
    values = dict(await _load(ctx))
    values[key] = value
    if key not in ("institution_type", "level"):
        return False
    kind = ctx.campaign.type_by_code[values["institution_type"]]
    if kind.needs_level and "level" not in values and key == "institution_type":
        return False
    ok, reason, reason_en = ctx.campaign.eligibility(values["institution_type"], values.get("level"))
    if ok:
        return False
    ctx.show(
        ctx.t("app-ineligible", reason=reason_en if ctx.lang == "en" else reason)
        + "\n"
        + ctx.campaign.contacts.text(ctx.lang),
        [[ctx.btn(ctx.t("app-choose-again"), "edit", key)], *menu_buttons(ctx)],
    )
    return True


async def _done(ctx: Ctx) -> None:
    ctx.goto("apply", "review", ctx.state.data)
    await show_review(ctx)


FORM = Form(FIELDS, _load, _save, _done, skip=_skip, gate=_gate)


async def show_ask(ctx: Ctx) -> None:
    if ctx.actor.lab_id is not None:
        ctx.end()
        ctx.show(ctx.t("app-already-bound"), menu_buttons(ctx))
        return
    if ctx.closed:
        ctx.end()
        ctx.show(ctx.t("app-closed") + "\n" + ctx.campaign.contacts.text(ctx.lang), menu_buttons(ctx))
        return
    app = await application(ctx)
    if app is not None and app.status == "pending":
        ctx.end()
        ctx.show(ctx.t("app-pending", name=app.data.get("name", "")), menu_buttons(ctx))
        return
    if app is None:
        ctx.note(ctx.t("app-intro"))
    key = ctx.state.data.get("field")
    if key is None:
        await FORM.advance(ctx)
    else:
        await FORM.ask(ctx, key)


async def on_ask_text(ctx: Ctx, text: str) -> None:
    await FORM.on_text(ctx, text)


async def on_ask_button(ctx: Ctx, action: str, arg: str) -> None:
    if ctx.closed:
        await show_ask(ctx)
        return
    if not await FORM.on_button(ctx, action, arg):
        ctx.toast(ctx.t("button-unknown"))


async def show_review(ctx: Ctx) -> None:
    values = await _load(ctx)
    lines = [ctx.t("app-review"), "", *FORM.review_lines(ctx, values)]
    rows = [[ctx.btn(ctx.t("app-submit"), "submit")], *FORM.edit_buttons(ctx, values)]
    ctx.show("\n".join(lines), rows)


async def on_review_button(ctx: Ctx, action: str, arg: str) -> None:
    if ctx.closed:
        await show_ask(ctx)
        return
    if action == "submit":
        app = await application(ctx)
        values = app.data if app else {}
        missing = await FORM.next_missing(ctx, values)
        if app is None or missing is not None:
            await FORM.advance(ctx)
            return
        ok, _, _ = ctx.campaign.eligibility(values["institution_type"], values.get("level"))
        if not ok:
            await _gate(ctx, "institution_type", values["institution_type"])
            return
        app.status = "pending"
        app.submitted_at = ctx.now
        app.chat_id = ctx.actor.chat_id
        ctx.audit("application_submitted", "application", app.id, after=dict(values))
        ctx.signal("application_submitted", application_id=app.id)
        ctx.end()
        ctx.show(ctx.t("app-submitted", name=values["name"]), menu_buttons(ctx))
        return
    if action == "edit":
        ctx.goto("apply", "ask", ctx.state.data)
        await FORM.on_button(ctx, action, arg)
        return
    ctx.toast(ctx.t("button-unknown"))


register(
    Flow(
        "apply",
        "ask",
        {
            "ask": Step(show=show_ask, on_text=on_ask_text, on_button=on_ask_button),
            "review": Step(show=show_review, on_button=on_review_button),
        },
    )
)
