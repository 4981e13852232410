"""Deadline reminders: one message per contact of every unfinished lab, naming what that lab still lacks,
with the button to continue.

The backup-contact rule: each reminder a contact gets counts in `Contact.unanswered_reminders`, and anything
the contact sends resets it (the core does, as it establishes who sent an update). Once a lab's primary
contacts have let
`campaign.reminders.backup_after_unanswered` reminders (2) pass without a word, its backup contacts get the
reminders too; a lab whose primary contacts cannot be reached (none bound, or all blocked the bot) goes to
its backups at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import groupby

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from conversations.audience import Audience, Recipient, is_unfinished, recipients, select_labs
from conversations.campaign import Campaign
from conversations.events import Keyboard, Reply, global_button, keyboard, to_payload
from conversations.formatting import day, join
from conversations.i18n import Catalog
from conversations.progress import Progress, progress
from storage.models import Broadcast, Contact
from storage.repos.outbox import NewRow, add_rows, create_broadcast


def choose_contacts(contacts: Sequence[Recipient], threshold: int) -> list[Recipient]:
    """Who of one lab's reachable contacts gets this reminder."""
    primaries = [c for c in contacts if not c.is_backup]
    backups = [c for c in contacts if c.is_backup]
    if not primaries:
        return backups
    if all(p.unanswered >= threshold for p in primaries):
        return primaries + backups
    return primaries


def reminder_text(catalog: Catalog, lang: str, campaign: Campaign, p: Progress, now: datetime) -> str:
    def t(key: str, **args: object) -> str:
        return catalog.t(lang, key, **args)

    lab = p.lab
    deadline = day(campaign.deadline, lang)
    days = campaign.days_left(now)
    lines = [t("bc-reminder-title", title=campaign.title_en if lang == "en" else campaign.title)]
    if days == 0:  # the deadline day itself
        lines.append(t("bc-reminder-today", lab=lab.name, code=lab.code, deadline=deadline))
    else:
        lines.append(t("bc-reminder-left", lab=lab.name, code=lab.code, deadline=deadline, days=days))
    if p.returned:
        lines.append(t("bc-reminder-returned", items=join((t(f"item-{i}") for i in p.returned), lang)))
    elif p.missing:
        lines.append(t("bc-reminder-missing", items=join((t(m) for m in p.missing), lang)))
    else:
        lines.append(t("bc-reminder-submit"))
    lines += [t("bc-reminder-consequence"), t("bc-reminder-next")]
    return "\n".join(lines)


def reminder_buttons(catalog: Catalog, lang: str) -> Keyboard:
    return keyboard(
        [global_button(catalog.t(lang, "btn-continue"), "go", "journey")],
        [global_button(catalog.t(lang, "btn-status"), "go", "status")],
    )


async def queue_reminders(
    session: AsyncSession,
    campaign: Campaign,
    catalog: Catalog,
    now: datetime,
    *,
    schedule_key: str | None,
    report_chat: str | None = None,
    created_by: str = "scheduler",
) -> Broadcast:
    """Queue one reminder run: a broadcast with a row per contact reached. Call it inside the transaction
    that also records the run (the scheduler's `ScheduledRun`), so a run is queued whole or not at all."""
    threshold = campaign.reminders.backup_after_unanswered
    labs = {lab.id: lab for lab in await select_labs(session, campaign, Audience("unfinished"))}
    reachable = await recipients(session, campaign, Audience("unfinished"))
    by_lab = {lab_id: list(group) for lab_id, group in groupby(reachable, key=lambda r: r.lab_id)}
    bc = await create_broadcast(
        session,
        kind="reminder",
        text=None,
        audience={},
        created_by=created_by,
        report_chat=report_chat,
        now=now,
        schedule_key=schedule_key,
    )
    rows: list[NewRow] = []
    reached: list[int] = []
    unreachable = 0
    for lab_id, lab in labs.items():
        chosen = choose_contacts(by_lab.get(lab_id, []), threshold)
        if not chosen:
            unreachable += 1
            continue
        p = await progress(session, campaign, lab, now)
        if not is_unfinished(p):  # the SQL selection and /status agree; this keeps it so
            continue
        texts: dict[str, str] = {}
        for r in chosen:
            if r.language not in texts:
                texts[r.language] = reminder_text(catalog, r.language, campaign, p, now)
            reply = Reply(texts[r.language], reminder_buttons(catalog, r.language), r.chat_id, r.platform)
            rows.append(NewRow(r.platform, r.chat_id, to_payload(reply), f"bc{bc.id}:c{r.contact_id}", r.contact_id))
            reached.append(r.contact_id)
    bc.audience = {"kind": "unfinished", "labs": len(labs), "unreachable_labs": unreachable}
    await add_rows(session, rows, now=now, broadcast_id=bc.id)
    if reached:
        await session.execute(
            update(Contact)
            .where(Contact.id.in_(reached))
            .values(unanswered_reminders=Contact.unanswered_reminders + 1)
            .execution_options(synchronize_session=False)
        )
    return bc
