"""Step 2: "purchase" the year's plan — review and correct the lab, invoicing and mailing details, choose
the specialties, confirm.

Everything is prefilled (from the lab's record, last year's registration, the contact) so a lab with
nothing to change only confirms. Each answer is saved as it is typed; any change after confirming asks
for a new confirmation. Mandatory specialties for the institution type are preselected and can only be
dropped with an explicit, recorded confirmation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from conversations import validators
from conversations.context import Ctx
from conversations.events import Button
from conversations.flow import Flow, Step, go, register
from conversations.flows import journey
from conversations.formatting import join
from conversations.forms import Field, Form, checked_text
from storage.models import Contact, Enrollment, Lab

SECTIONS = ("lab_info", "invoice", "mailing")
PLAN_ITEMS = (*SECTIONS, "specialties")


def _checked(fn: Any) -> Any:
    return lambda _ctx, text: fn(text)


FIELDS: dict[str, tuple[Field, ...]] = {
    "lab_info": (
        Field("name", "plan-f-lab-name", "plan-ask-lab-name", checked_text(100)),
        Field("address", "plan-f-lab-address", "plan-ask-lab-address", checked_text(200)),
        Field("phone", "plan-f-lab-phone", "plan-ask-lab-phone", _checked(validators.phone)),
        Field("head", "plan-f-head", "plan-ask-head", _checked(validators.person_name)),
    ),
    "invoice": (
        Field("title", "plan-f-invoice-title", "plan-ask-invoice-title", checked_text(100)),
        Field("taxpayer_id", "plan-f-taxpayer-id", "plan-ask-taxpayer-id", _checked(validators.taxpayer_id)),
    ),
    "mailing": (
        Field("recipient", "plan-f-recipient", "plan-ask-recipient", _checked(validators.person_name)),
        Field("phone", "plan-f-mail-phone", "plan-ask-mail-phone", _checked(validators.phone)),
        Field("address", "plan-f-mail-address", "plan-ask-mail-address", checked_text(200)),
        Field("postcode", "plan-f-postcode", "plan-ask-postcode", _checked(validators.postcode)),
    ),
}


async def _prefill(ctx: Ctx, enr: Enrollment, section: str) -> dict[str, Any]:
    """Sensible starting values: last year's registration first, then the lab's record and the contact."""
    previous = await ctx.session.scalar(
        select(Enrollment)
        .where(Enrollment.lab_id == enr.lab_id, Enrollment.year < enr.year)
        .order_by(Enrollment.year.desc())
    )
    if previous is not None and getattr(previous, section):
        return dict(getattr(previous, section))
    lab = await ctx.session.get(Lab, enr.lab_id)
    assert lab is not None
    contact = await ctx.session.get(Contact, ctx.actor.contact_id) if ctx.actor.contact_id else None
    if section == "lab_info":
        return {"name": lab.name, "address": lab.address or ""}
    if section == "invoice":
        return {"taxpayer_id": lab.credit_code or ""}
    return {
        # Checked again: a name stored before display names were checked may be "=HYPERLINK(...)".
        "recipient": (validators.display_name(contact.name) or "") if contact else "",
        "phone": (contact.mobile if contact and contact.mobile else ""),
        "address": lab.address or "",
    }


def _form(section: str) -> Form:
    async def load(ctx: Ctx) -> Mapping[str, Any]:
        enr = await journey.current_enrollment(ctx)
        values = getattr(enr, section)
        if not values:
            values = await _prefill(ctx, enr, section)
            setattr(enr, section, values)
        return values

    async def save(ctx: Ctx, key: str, value: Any) -> None:
        enr = await journey.current_enrollment(ctx)
        before = dict(getattr(enr, section) or {})
        if before.get(key) == value:
            return
        setattr(enr, section, {**before, key: value})  # a new dict: JSON columns track assignment only
        enr.plan_confirmed_at = None
        ctx.audit(
            "plan_changed", "enrollment", enr.id, lab_id=enr.lab_id, before={key: before.get(key)}, after={key: value}
        )

    async def done(ctx: Ctx) -> None:
        await show_section(ctx)

    return Form(FIELDS[section], load, save, done)


FORMS = {section: _form(section) for section in SECTIONS}


async def _editable(ctx: Ctx) -> list[str]:
    """Plan items the lab may change now: all while a draft, only the returned ones after a return."""
    enr = await journey.current_enrollment(ctx)
    if enr.status == "draft":
        return list(PLAN_ITEMS)
    if enr.status == "returned":
        return [i for i in PLAN_ITEMS if i in (enr.returned_items or [])]
    return []


async def _guard(ctx: Ctx) -> bool:
    if journey.refuse_unbound(ctx) or journey.refuse_closed(ctx):
        return True
    if not await _editable(ctx):
        await journey.refuse_locked(ctx, "plan")
        return True
    return False


# -- the three detail sections ----------------------------------------------------------------------------
async def show_section(ctx: Ctx) -> None:
    if await _guard(ctx):
        return
    section = ctx.state.step or "lab_info"
    editable = await _editable(ctx)
    if section not in editable:  # after a return, skip what the centre did not ask to change
        await _next_section(ctx, section)
        return
    form = FORMS[section]
    values = await form.load(ctx)
    missing = await form.next_missing(ctx, values)
    if missing is not None and "field" not in ctx.state.data:
        await form.ask(ctx, missing)
        return
    if missing is not None:
        await form.ask(ctx, ctx.state.data["field"])
        return
    lines = [ctx.t(f"plan-title-{section}"), "", *form.review_lines(ctx, values), "", ctx.t("plan-check-hint")]
    if section == "mailing" and await _address_is_the_institutions(ctx, values.get("address")):
        # Prefilled from the institution's address, it was never asked: the courier needs the department.
        lines.append(ctx.t("plan-mail-address-hint"))
    rows = [[ctx.btn(ctx.t("plan-next"), "next")], *form.edit_buttons(ctx, values, per_row=2)]
    rows.append([ctx.gbtn(ctx.t("btn-menu"), "go", "menu")])
    ctx.show("\n".join(lines), rows)


async def _address_is_the_institutions(ctx: Ctx, address: object) -> bool:
    if not address:
        return False
    enr = await journey.current_enrollment(ctx)
    lab = await ctx.session.get(Lab, enr.lab_id)
    return lab is not None and lab.address == address


async def on_section_text(ctx: Ctx, text: str) -> None:
    if await _guard(ctx):
        return
    await FORMS[ctx.state.step or "lab_info"].on_text(ctx, text)


async def on_section_button(ctx: Ctx, action: str, arg: str) -> None:
    if await _guard(ctx):
        return
    section = ctx.state.step or "lab_info"
    if action == "next":
        form = FORMS[section]
        if await form.next_missing(ctx, await form.load(ctx)) is not None:
            await show_section(ctx)
            return
        await _next_section(ctx, section)
        return
    if not await FORMS[section].on_button(ctx, action, arg):
        ctx.toast(ctx.t("button-unknown"))


async def _next_section(ctx: Ctx, section: str) -> None:
    order = [*SECTIONS, "specialties", "confirm"]
    editable = await _editable(ctx)
    for step in order[order.index(section) + 1 :]:
        if step == "confirm" or step in editable:
            ctx.state.data.pop("field", None)
            await go(ctx, step)
            return


# -- specialties ------------------------------------------------------------------------------------------
def _mandatory(ctx: Ctx, lab: Lab) -> dict[str, str]:
    return {
        code: (rule.reason_en if ctx.lang == "en" else rule.reason)
        for code, rule in ctx.campaign.mandatory_for(lab.institution_type)
    }


async def _enrollment_and_mandatory(ctx: Ctx) -> tuple[Enrollment, dict[str, str]]:
    enr = await journey.current_enrollment(ctx)
    lab = await ctx.session.get(Lab, enr.lab_id)
    assert lab is not None
    return enr, _mandatory(ctx, lab)


async def show_specialties(ctx: Ctx) -> None:
    if await _guard(ctx):
        return
    enr, mandatory = await _enrollment_and_mandatory(ctx)
    if not enr.specialties and not ctx.state.data.get("spec_init"):
        # Start from what the lab must take and what it did last year; it only corrects.
        done_last_year = {key.split(".", 1)[0] for key in enr.last_year_tests or []}
        declined = set(enr.mandatory_declined or [])
        enr.specialties = [
            s.code
            for s in ctx.campaign.specialties
            if (s.code in mandatory and s.code not in declined) or s.code in done_last_year
        ]
        ctx.state.data["spec_init"] = True
    chosen = set(enr.specialties or [])
    buttons = []
    for s in ctx.campaign.specialties:
        on = s.code in chosen
        lock = "🔒" if s.code in mandatory else ""
        buttons.append(ctx.btn(f"{'☑' if on else '☐'} {s.label(ctx.lang)}{lock}", "s", f"{s.code}|{0 if on else 1}"))
    rows: list[list[Button]] = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([ctx.btn(ctx.t("plan-next"), "next")])
    rows.append([ctx.gbtn(ctx.t("btn-menu"), "go", "menu")])
    lines = [ctx.t("plan-title-specialties", year=ctx.campaign.year, count=len(chosen))]
    if mandatory:
        names = join((ctx.campaign.specialty_by_code[c].label(ctx.lang) for c in mandatory), ctx.lang)
        lines.append(ctx.t("plan-mandatory-note", names=names))
    ctx.show("\n".join(lines), rows)


async def on_specialties_button(ctx: Ctx, action: str, arg: str) -> None:
    if await _guard(ctx):
        return
    enr, mandatory = await _enrollment_and_mandatory(ctx)
    if action == "next":
        if not enr.specialties:
            ctx.toast(ctx.t("plan-none-chosen"), alert=True)
            await show_specialties(ctx)
            return
        await _next_section(ctx, "specialties")
        return
    code, _, value = arg.partition("|")
    if action not in ("s", "drop") or code not in ctx.campaign.specialty_by_code or value not in ("0", "1"):
        ctx.toast(ctx.t("button-unknown"))
        return
    ctx.state.data.pop("decline", None)
    if action == "drop" and code in mandatory:
        # Declining a mandatory specialty needs the lab's reason, for the centre: asked for, typed next.
        ctx.state.data["decline"] = code
        name = ctx.campaign.specialty_by_code[code].label(ctx.lang)
        ctx.show(ctx.t("plan-decline-ask", name=name), [[ctx.btn(ctx.t("plan-keep-mandatory"), "s", f"{code}|1")]])
        return
    if action == "s" and value == "0" and code in mandatory:
        name = ctx.campaign.specialty_by_code[code].label(ctx.lang)
        ctx.show(
            ctx.t("plan-mandatory-warn", name=name, reason=mandatory[code]),
            [
                [ctx.btn(ctx.t("plan-keep-mandatory"), "s", f"{code}|1")],
                [ctx.btn(ctx.t("plan-drop-mandatory"), "drop", f"{code}|0")],
            ],
        )
        return
    _choose(ctx, enr, mandatory, code, value == "1")
    await show_specialties(ctx)


async def on_specialties_text(ctx: Ctx, text: str) -> None:
    """The reason for declining a mandatory specialty (the only thing typed on this screen)."""
    if await _guard(ctx):
        return
    enr, mandatory = await _enrollment_and_mandatory(ctx)
    code = ctx.state.data.get("decline")
    if code not in mandatory:
        ctx.state.data.pop("decline", None)
        ctx.note(ctx.t("plan-specialties-use-buttons"))
        await show_specialties(ctx)
        return
    checked = validators.text_field(text, max_len=200, min_len=2)
    if not checked.ok or checked.value is None:
        name = ctx.campaign.specialty_by_code[code].label(ctx.lang)
        why = ctx.t(checked.error or "val-empty", **checked.args)
        ctx.say(
            "⚠️ " + ctx.t("plan-decline-no-reason", name=name) + " " + why,
            [[ctx.btn(ctx.t("plan-keep-mandatory"), "s", f"{code}|1")]],
        )
        return
    ctx.state.data.pop("decline", None)
    enr.mandatory_declined_reasons = {**(enr.mandatory_declined_reasons or {}), code: checked.value}
    _choose(ctx, enr, mandatory, code, False)
    after = {"specialty": code, "reason": checked.value}
    ctx.audit("mandatory_declined", "enrollment", enr.id, lab_id=enr.lab_id, after=after)
    await show_specialties(ctx)


def _choose(ctx: Ctx, enr: Enrollment, mandatory: Mapping[str, str], code: str, on: bool) -> None:
    chosen = set(enr.specialties or [])
    declined = set(enr.mandatory_declined or [])
    if on:
        chosen.add(code)
        declined.discard(code)
        reasons = enr.mandatory_declined_reasons or {}
        if code in reasons:
            enr.mandatory_declined_reasons = {k: v for k, v in reasons.items() if k != code}
    else:
        chosen.discard(code)
        if code in mandatory:
            declined.add(code)
    order = [s.code for s in ctx.campaign.specialties]
    new = sorted(chosen, key=order.index)
    if new != list(enr.specialties or []):
        ctx.audit(
            "specialties_changed",
            "enrollment",
            enr.id,
            lab_id=enr.lab_id,
            before={"specialties": list(enr.specialties or [])},
            after={"specialties": new},
        )
        enr.specialties = new
        enr.plan_confirmed_at = None
    enr.mandatory_declined = sorted(declined, key=order.index)


# -- confirmation -----------------------------------------------------------------------------------------
def plan_summary(ctx: Ctx, enr: Enrollment) -> list[str]:
    """The plan as one block of text (the confirmation screen, the submission summary, the receipt)."""
    lines: list[str] = []
    for section in SECTIONS:
        lines.append(f"【{ctx.t(f'plan-title-{section}')}】")
        lines += FORMS[section].review_lines(ctx, getattr(enr, section) or {})
    names = [
        ctx.campaign.specialty_by_code[c].label(ctx.lang)
        for c in enr.specialties or []
        if c in ctx.campaign.specialty_by_code
    ]
    lines.append(f"【{ctx.t('plan-f-specialties')}】（{len(names)}）")
    lines.append(join(names, ctx.lang) if names else ctx.t("form-empty"))
    if enr.mandatory_declined:
        declined = [ctx.campaign.specialty_by_code[c].label(ctx.lang) for c in enr.mandatory_declined]
        lines.append(ctx.t("plan-declined-note", names=join(declined, ctx.lang)))
        reasons = enr.mandatory_declined_reasons or {}
        for c in enr.mandatory_declined:
            if reasons.get(c):
                name = ctx.campaign.specialty_by_code[c].label(ctx.lang)
                lines.append(ctx.t("plan-declined-reason", name=name, reason=reasons[c]))
    return lines


async def _gaps(ctx: Ctx, enr: Enrollment) -> list[str]:
    gaps = []
    for section in SECTIONS:
        if await FORMS[section].next_missing(ctx, getattr(enr, section) or {}) is not None:
            gaps.append(section)
    if not enr.specialties:
        gaps.append("specialties")
    return gaps


async def show_confirm(ctx: Ctx) -> None:
    if await _guard(ctx):
        return
    enr = await journey.current_enrollment(ctx)
    editable = await _editable(ctx)
    lines = [ctx.t("plan-confirm-title", year=ctx.campaign.year), "", *plan_summary(ctx, enr)]
    gaps = await _gaps(ctx, enr)
    rows: list[list[Button]] = []
    if gaps:
        lines += ["", ctx.t("plan-gaps", items=join((ctx.t(f"item-{g}") for g in gaps), ctx.lang))]
    else:
        rows.append([ctx.btn(ctx.t("plan-confirm"), "ok")])
    edits = [ctx.btn("✏️ " + ctx.t(f"item-{item}"), "goto", item) for item in PLAN_ITEMS if item in editable]
    rows += [edits[i : i + 2] for i in range(0, len(edits), 2)]
    ctx.show("\n".join(lines), rows)


async def on_confirm_button(ctx: Ctx, action: str, arg: str) -> None:
    if await _guard(ctx):
        return
    if action == "goto" and arg in PLAN_ITEMS and arg in await _editable(ctx):
        await go(ctx, arg)
        return
    if action != "ok":
        ctx.toast(ctx.t("button-unknown"))
        return
    enr = await journey.current_enrollment(ctx)
    if await _gaps(ctx, enr):
        await show_confirm(ctx)
        return
    enr.plan_confirmed_at = ctx.now
    journey.fixed(enr, *PLAN_ITEMS)
    ctx.audit(
        "plan_confirmed",
        "enrollment",
        enr.id,
        lab_id=enr.lab_id,
        after={"specialties": list(enr.specialties), "invoice": dict(enr.invoice)},
    )
    ctx.end()
    await journey.resume(ctx, note=ctx.t("plan-done", year=ctx.campaign.year))


_section = Step(show=show_section, on_text=on_section_text, on_button=on_section_button)
register(
    Flow(
        "plan",
        "lab_info",
        {
            "lab_info": _section,
            "invoice": _section,
            "mailing": _section,
            "specialties": Step(show=show_specialties, on_text=on_specialties_text, on_button=on_specialties_button),
            "confirm": Step(show=show_confirm, on_button=on_confirm_button),
        },
    )
)
