"""Binding a chat to an existing lab with the one-time code the centre issued.

By deep link (`/start HN0001_ABCD2345`) or typed ("HN0001 ABCD-2345"). Five failed attempts lock the
person out for an hour; the reply never says whether the lab code or the binding code was wrong.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select, update

from conversations.context import Ctx
from conversations.flow import Flow, Step, register
from conversations.flows.home import menu_buttons
from conversations.formatting import moment
from conversations.validators import display_name
from storage.models import Contact, Lab
from storage.repos.bindings import redeem
from storage.repos.people import profile

MAX_FAILURES = 5
LOCKOUT = timedelta(hours=1)
_SPLIT = re.compile(r"[\s_,，;；:：/]+")


def parse(text: str) -> tuple[str, str] | None:
    """(lab code, binding code) from "HN0001 ABCD-2345", "HN0001_ABCD2345" or the deep-link payload."""
    parts = [p for p in _SPLIT.split(text.strip()) if p]
    if len(parts) == 3 and len(parts[1]) == 4 and len(parts[2]) == 4:  # "HN0001 ABCD 2345"
        parts = [parts[0], parts[1] + parts[2]]
    if len(parts) != 2:
        return None
    return parts[0], parts[1]


async def show(ctx: Ctx) -> None:
    payload = ctx.state.data.pop("payload", None)
    if payload:
        await attempt(ctx, payload)
        return
    ctx.show(
        ctx.t("bind-ask"), [[ctx.gbtn(ctx.t("btn-apply"), "go", "apply")], [ctx.gbtn(ctx.t("btn-menu"), "go", "menu")]]
    )


async def on_text(ctx: Ctx, text: str) -> None:
    await attempt(ctx, text)


async def attempt(ctx: Ctx, text: str) -> None:
    person = await profile(ctx.session, ctx.actor.platform, ctx.actor.user_id)
    if person.bind_locked_until is not None and person.bind_locked_until > ctx.now:
        ctx.say(
            ctx.t("bind-locked", until=moment(person.bind_locked_until, ctx.lang, ctx.campaign.tz))
            + "\n"
            + ctx.campaign.contacts.text(ctx.lang),
            menu_buttons(ctx),
        )
        return
    parsed = parse(text)
    if parsed is None:
        ctx.say(ctx.t("bind-format"), [[ctx.gbtn(ctx.t("btn-menu"), "go", "menu")]])
        return
    found = await redeem(ctx.session, parsed[0], parsed[1], now=ctx.now, used_by=ctx.actor.ref)
    if found is None:
        person.bind_failures += 1
        left = MAX_FAILURES - person.bind_failures
        ctx.audit("bind_failed", "user", ctx.actor.ref, after={"failures": person.bind_failures})
        if left <= 0:
            person.bind_failures = 0
            person.bind_locked_until = ctx.now + LOCKOUT
            ctx.say(
                ctx.t("bind-locked", until=moment(person.bind_locked_until, ctx.lang, ctx.campaign.tz))
                + "\n"
                + ctx.campaign.contacts.text(ctx.lang),
                menu_buttons(ctx),
            )
            ctx.end()
            return
        ctx.say(ctx.t("bind-wrong", left=left), [[ctx.gbtn(ctx.t("btn-menu"), "go", "menu")]])
        return
    lab, code = found
    person.bind_failures = 0
    person.bind_locked_until = None
    await bind_contact(ctx, lab, backup=code.for_backup)
    ctx.audit("bound", "contact", ctx.actor.ref, lab_id=lab.id, after={"lab": lab.code, "backup": code.for_backup})
    ctx.end()
    ctx.say(
        ctx.t("bind-done-backup" if code.for_backup else "bind-done", lab=lab.name, code=lab.code),
        [[ctx.gbtn(ctx.t("btn-continue"), "go", "journey")], [ctx.gbtn(ctx.t("btn-status"), "go", "status")]],
    )


async def bind_contact(ctx: Ctx, lab: Lab, *, backup: bool = False, mobile: str | None = None) -> Contact:
    """Make this person a contact of `lab` (their earlier lab binding, if any, ends)."""
    await ctx.session.execute(
        update(Contact)
        .where(Contact.platform == ctx.actor.platform, Contact.user_id == ctx.actor.user_id, Contact.lab_id != lab.id)
        .values(active=False)
    )
    contact = await ctx.session.scalar(
        select(Contact).where(
            Contact.lab_id == lab.id, Contact.platform == ctx.actor.platform, Contact.user_id == ctx.actor.user_id
        )
    )
    if contact is None:
        # The roster may list this lab's contact (name, mobile) before anyone has a chat: the first person
        # to bind in that role takes the entry over, so what the centre knows is not typed again.
        contact = await ctx.session.scalar(
            select(Contact)
            .where(Contact.lab_id == lab.id, Contact.user_id.is_(None), Contact.is_backup.is_(backup))
            .order_by(Contact.id)
            .limit(1)
        )
        if contact is not None:
            contact.platform, contact.user_id = ctx.actor.platform, ctx.actor.user_id
            contact.name = contact.name or display_name(ctx.actor.name)
    if contact is not None:  # bound before (perhaps deactivated after blocking the bot), or from the roster
        contact.active, contact.is_backup, contact.chat_id = True, backup, ctx.actor.chat_id
        contact.mobile = mobile or contact.mobile
    else:
        contact = Contact(
            lab_id=lab.id,
            platform=ctx.actor.platform,
            user_id=ctx.actor.user_id,
            chat_id=ctx.actor.chat_id,
            name=display_name(ctx.actor.name),  # checked as a typed name: it is prefilled and exported
            mobile=mobile,
            language=ctx.lang,
            is_backup=backup,
            active=True,
            created_at=ctx.now,
        )
        ctx.session.add(contact)
        await ctx.session.flush()
    # The rest of this turn acts as the newly bound contact.
    ctx.actor = replace(ctx.actor, lab_id=lab.id, contact_id=contact.id)
    return contact


register(Flow("bind", "code", {"code": Step(show=show, on_text=on_text)}))
