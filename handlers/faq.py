"""The FAQ: topics from the campaign file as buttons, answers in the notice's words, computed parts
(days left, the lab's own documents and review state) and "helpful / not helpful" votes."""

from __future__ import annotations

from conversations.campaign import FaqEntry
from conversations.context import Ctx
from conversations.events import Button
from conversations.flows.home import deadline_line, menu_buttons
from conversations.progress import progress
from handlers import faq_match
from handlers.routing import action, command, free_text
from storage.models import FaqVote, Lab


@command("faq", leaves_flow=False)
async def faq_command(ctx: Ctx) -> None:
    await show_topics(ctx)


@action("faq")
async def faq_button(ctx: Ctx, topic: str) -> None:
    if not topic:
        await show_topics(ctx)
        return
    entry = ctx.campaign.faq_by_id.get(topic)
    if entry is None:
        ctx.toast(ctx.t("button-unknown"))
        await show_topics(ctx)
        return
    await answer(ctx, entry)


@action("vote")
async def vote(ctx: Ctx, arg: str) -> None:
    topic, _, value = arg.partition("|")
    if topic not in ctx.campaign.faq_by_id or value not in ("0", "1"):
        ctx.toast(ctx.t("button-unknown"))
        return
    ctx.session.add(
        FaqVote(
            topic=topic,
            question=None,
            helpful=value == "1",
            platform=ctx.actor.platform,
            user_id=ctx.actor.user_id,
            created_at=ctx.now,
        )
    )
    ctx.toast(ctx.t("faq-thanks"))
    if value == "0":
        ctx.say(ctx.t("faq-not-helpful") + "\n" + ctx.campaign.contacts.text(ctx.lang), menu_buttons(ctx))


async def show_topics(ctx: Ctx) -> None:
    entries = ctx.campaign.faq
    buttons = [Button(e.topic_for(ctx.lang), f"g:faq:{e.id}") for e in entries]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([ctx.gbtn(ctx.t("btn-menu"), "go", "menu")])
    ctx.show(ctx.t("faq-title", year=ctx.campaign.year), rows)


async def answer(ctx: Ctx, entry: FaqEntry, *, question: str | None = None) -> None:
    parts = [f"【{entry.topic_for(ctx.lang)}】", entry.answer_for(ctx.lang)]
    parts += [extra for extra in [await _dynamic(ctx, name) for name in entry.dynamic] if extra]
    rows = [
        [
            ctx.gbtn(ctx.t("btn-helpful"), "vote", f"{entry.id}|1"),
            ctx.gbtn(ctx.t("btn-not-helpful"), "vote", f"{entry.id}|0"),
        ],
        [ctx.gbtn(ctx.t("btn-more-questions"), "faq", "")],
        *menu_buttons(ctx, with_status=False)[:1],
    ]
    text = "\n\n".join(parts)
    if question is None:
        ctx.show(text, rows)
    else:
        ctx.say(text, rows)


async def _dynamic(ctx: Ctx, name: str) -> str | None:
    if name == "days_left":
        return deadline_line(ctx)
    if name == "contacts":
        return ctx.campaign.contacts.text(ctx.lang)
    if ctx.actor.lab_id is None:
        return None
    lab = await ctx.session.get(Lab, ctx.actor.lab_id)
    assert lab is not None
    p = await progress(ctx.session, ctx.campaign, lab, ctx.now)
    if name == "lab_status":
        return ctx.t("faq-your-status", state=ctx.t(f"review-state-{p.status}"))
    if name == "licence_on_file":
        if p.licence_expired:
            return ctx.t("faq-licence-expired")
        if p.licence:
            return ctx.t("faq-licence-sent")
        if p.licence_from_earlier:
            return ctx.t("faq-licence-on-file")
        return ctx.t("faq-licence-needed")
    return None


@free_text
async def question(ctx: Ctx, text: str) -> None:
    result = faq_match.match(ctx.campaign, text)
    if result.best is not None:
        await answer(ctx, ctx.campaign.faq_by_id[result.best], question=text)
        return
    if result.candidates:
        rows = [
            [ctx.gbtn(ctx.campaign.faq_by_id[c].topic_for(ctx.lang), "faq", c)] for c in result.candidates[:3]
        ]
        rows.append([ctx.gbtn(ctx.t("btn-more-questions"), "faq", "")])
        ctx.say(ctx.t("faq-did-you-mean"), rows)
        return
    ctx.say(ctx.t("faq-no-match") + "\n" + ctx.campaign.contacts.text(ctx.lang), menu_buttons(ctx))
