"""The FAQ: topics from the campaign file as buttons, free-text questions matched to them, answers in the
notice's words with computed parts (days left, the lab's own documents and review state), "helpful / not
helpful" votes, and the admins' view of those votes (/votes)."""

from __future__ import annotations

import hashlib
import logging
import unicodedata
from typing import Any

from sqlalchemy import func, select

from conversations import faq_match
from conversations.campaign import FaqEntry
from conversations.context import Ctx
from conversations.events import global_button
from conversations.flows.home import deadline_line, menu_buttons
from conversations.formatting import join, moment
from conversations.progress import progress
from handlers.routing import action, command, free_text
from storage.models import FaqVote, Lab

log = logging.getLogger(__name__)

# Recent questions are remembered in the person's conversation state (under this key, beside whatever
# a flow keeps there) so that a "not helpful" vote can carry the question it was about.
_MEMO = "_faq"
_KEEP_QUESTIONS = 5
_KEEP_VOTES = 20
_QUESTION_CHARS = 500
# /votes: how many of the latest "not helpful" questions an admin sees, and how much of each.
_LATEST = 10
_SHOWN_CHARS = 80
_LAB_PARTS = ("lab_status", "licence_on_file", "missing")


@command("faq")
async def faq_command(ctx: Ctx) -> None:
    asked = ctx.event.args.strip()
    if asked and any(unicodedata.category(ch)[0] in "LN" for ch in asked):
        await question(ctx, asked)  # "/faq 缓交协议要盖章吗": the question right away (groups need the command)
        return
    await show_topics(ctx)


@action("faq")
async def faq_button(ctx: Ctx, arg: str) -> None:
    topic, _, key = arg.partition("|")
    if not topic:
        await show_topics(ctx)
        return
    entry = ctx.campaign.faq_by_id.get(topic)
    if entry is None:
        ctx.toast(ctx.t("button-unknown"))
        await show_topics(ctx)
        return
    # From "did you mean": the question the person typed stays attached to the topic they chose.
    asked = _memo(ctx)["q"].get(key) if key else None
    if asked and _in_english(asked):
        ctx.lang = "en"
    await answer(ctx, entry, key=key if asked is not None else "")


@action("vote")
async def vote(ctx: Ctx, arg: str) -> None:
    topic, value, key = [*arg.split("|"), "", ""][:3]
    if topic not in ctx.campaign.faq_by_id or value not in ("0", "1"):
        ctx.toast(ctx.t("button-unknown"))
        return
    memo = _memo(ctx)
    # One vote per answer: a double tap (or a change of mind) is not counted twice.
    marker = f"{key or 'm' + str(ctx.event.message_id)}:{topic}"
    if marker in memo["v"]:
        ctx.toast(ctx.t("faq-vote-recorded"))
        return
    asked = memo["q"].get(key) if key else None
    ctx.session.add(
        FaqVote(
            topic=topic,
            question=asked,
            helpful=value == "1",
            platform=ctx.actor.platform,
            user_id=ctx.actor.user_id,
            created_at=ctx.now,
        )
    )
    _remember(ctx, memo, vote=marker)
    ctx.toast(ctx.t("faq-thanks"))
    if value == "0":
        ctx.say(ctx.t("faq-not-helpful") + "\n" + ctx.campaign.contacts.text(ctx.lang), menu_buttons(ctx))


async def show_topics(ctx: Ctx) -> None:
    entries = ctx.campaign.faq
    buttons = [global_button(e.topic_for(ctx.lang), "faq", f"{e.id}") for e in entries]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([ctx.gbtn(ctx.t("btn-menu"), "go", "menu")])
    ctx.show(ctx.t("faq-title", year=ctx.campaign.year), rows)


async def answer(ctx: Ctx, entry: FaqEntry, *, question: str | None = None, key: str = "") -> None:
    """The entry's answer in the notice's words, its computed parts, and a vote.

    `question` is the typed question this answers (a new message); without it the answer replaces the
    screen whose button was pressed. `key` names a remembered question the vote will carry."""
    parts = [f"【{entry.topic_for(ctx.lang)}】", entry.answer_for(ctx.lang)]
    parts += await computed_parts(ctx, entry)
    rows = [
        [
            ctx.gbtn(ctx.t("btn-helpful"), "vote", f"{entry.id}|1|{key}"),
            ctx.gbtn(ctx.t("btn-not-helpful"), "vote", f"{entry.id}|0|{key}"),
        ],
        [ctx.gbtn(ctx.t("btn-more-questions"), "faq", "")],
        *menu_buttons(ctx, with_status=False)[:1],
    ]
    text = "\n\n".join(parts)
    if question is None:
        ctx.show(text, rows)
    else:
        ctx.say(text, rows)


async def computed_parts(ctx: Ctx, entry: FaqEntry) -> list[str]:
    """The parts of an answer that depend on today's date or on the person's lab, in the entry's order."""
    parts: list[str] = []
    lab_hint = False
    for name in entry.dynamic:
        if name == "days_left":
            parts.append(deadline_line(ctx))
        elif name == "contacts":
            parts.append(ctx.campaign.contacts.text(ctx.lang))
        elif name in _LAB_PARTS:
            if ctx.actor.lab_id is not None:
                extra = await _lab_part(ctx, name)
                if extra:
                    parts.append(extra)
            elif not ctx.actor.is_staff and not lab_hint:
                # A guest gets the general answer, and how to get the personal one.
                parts.append(ctx.t("faq-bind-to-see"))
                lab_hint = True
        else:
            log.warning("faq %s: unknown dynamic part %r", entry.id, name)
    return parts


async def _lab_part(ctx: Ctx, name: str) -> str | None:
    lab = await ctx.session.get(Lab, ctx.actor.lab_id)
    if lab is None:
        return None
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
    if name == "missing":
        if p.status in ("submitted", "approved"):
            return None  # nothing to do but wait: lab_status says so
        if p.missing:
            return ctx.t("faq-missing", items=join((ctx.t(m) for m in p.missing), ctx.lang))
        return ctx.t("faq-ready-to-submit")
    return None


@free_text
async def question(ctx: Ctx, text: str) -> None:
    if ctx.event.kind == "text" and ctx.event.chat_type != "private":
        # Reviewers talk among themselves in their group: only "/faq <question>" is meant for the bot there.
        return
    if _in_english(text):
        ctx.lang = "en"  # answered in the language asked in, whatever the chat's setting (this reply only)
    result = faq_match.match(ctx.campaign, text)
    log.info("faq question matched best=%s candidates=%s scope=%s", result.best, result.candidates, result.out_of_scope)
    if result.out_of_scope is not None:
        c = ctx.campaign
        centre = c.centre_en if ctx.lang == "en" else c.centre
        ctx.say(
            ctx.t("faq-out-of-scope", centre=centre, year=c.year) + "\n" + c.contacts.text(ctx.lang),
            menu_buttons(ctx),
        )
        return
    if result.best is not None:
        key = _keep_question(ctx, text)
        await answer(ctx, ctx.campaign.faq_by_id[result.best], question=text, key=key)
        return
    if result.candidates:
        key = _keep_question(ctx, text)
        rows = [
            [ctx.gbtn(ctx.campaign.faq_by_id[c].topic_for(ctx.lang), "faq", f"{c}|{key}")]
            for c in result.candidates[:3]
        ]
        rows.append([ctx.gbtn(ctx.t("btn-more-questions"), "faq", "")])
        ctx.say(ctx.t("faq-did-you-mean"), rows)
        return
    ctx.say(ctx.t("faq-no-match") + "\n" + ctx.campaign.contacts.text(ctx.lang), menu_buttons(ctx))


def _in_english(text: str) -> bool:
    """Written in Latin letters only (no Chinese): asked in English."""
    letters = [ch for ch in text if unicodedata.category(ch)[0] == "L"]
    return bool(letters) and all(ch.isascii() for ch in letters)


# -- remembered questions and votes -------------------------------------------------------------------
def _memo(ctx: Ctx) -> dict[str, Any]:
    raw = ctx.state.data.get(_MEMO)
    raw = raw if isinstance(raw, dict) else {}
    questions = raw.get("q") if isinstance(raw.get("q"), dict) else {}
    votes = raw.get("v") if isinstance(raw.get("v"), list) else []
    return {"q": dict(questions), "v": list(votes)}


def _remember(ctx: Ctx, memo: dict[str, Any], *, question: tuple[str, str] | None = None, vote: str = "") -> None:
    questions: dict[str, str] = memo["q"]
    votes: list[str] = memo["v"]
    if question is not None:
        key, text = question
        questions.pop(key, None)
        questions[key] = text
        questions = dict(list(questions.items())[-_KEEP_QUESTIONS:])
    if vote:
        votes = [*votes, vote][-_KEEP_VOTES:]
    # A fresh dict: the core saves the state only when it compares unequal to what was loaded.
    ctx.state.data = {**ctx.state.data, _MEMO: {"q": questions, "v": votes}}


def _keep_question(ctx: Ctx, text: str) -> str:
    """Remember the question for a later vote; returns the short key its buttons carry (callback data is
    limited to 64 bytes, so the text itself cannot ride in the button)."""
    kept = text.strip()[:_QUESTION_CHARS]
    key = hashlib.blake2s(kept.encode(), digest_size=4).hexdigest()
    _remember(ctx, _memo(ctx), question=(key, kept))
    return key


# -- the admins' view -----------------------------------------------------------------------------------
@command("votes", role="admin")
async def votes(ctx: Ctx) -> None:
    counts: dict[str, list[int]] = {}
    rows = await ctx.session.execute(
        select(FaqVote.topic, FaqVote.helpful, func.count()).group_by(FaqVote.topic, FaqVote.helpful)
    )
    for topic, helpful, n in rows:
        counts.setdefault(topic, [0, 0])[0 if helpful else 1] += n
    if not counts:
        ctx.say(ctx.t("faq-votes-empty"), menu_buttons(ctx))
        return
    up = sum(c[0] for c in counts.values())
    down = sum(c[1] for c in counts.values())
    lines = [ctx.t("faq-votes-title", total=up + down, unhelpful=down)]
    for topic, (n_up, n_down) in sorted(counts.items(), key=lambda kv: (-kv[1][1], -kv[1][0], kv[0])):
        lines.append(ctx.t("faq-votes-row", topic=_topic_label(ctx, topic), up=n_up, down=n_down))
    latest = await ctx.session.scalars(
        select(FaqVote)
        .where(FaqVote.helpful.is_(False))
        .order_by(FaqVote.created_at.desc(), FaqVote.id.desc())
        .limit(_LATEST)
    )
    recent = list(latest)
    if recent:
        lines += ["", ctx.t("faq-votes-latest", count=len(recent))]
        for v in recent:
            asked = v.question or ctx.t("faq-votes-no-question")
            if len(asked) > _SHOWN_CHARS:
                asked = asked[: _SHOWN_CHARS - 1] + "…"
            when = moment(v.created_at, ctx.lang, ctx.campaign.tz)
            lines.append(ctx.t("faq-votes-latest-row", when=when, topic=_topic_label(ctx, v.topic), question=asked))
    ctx.say("\n".join(lines), menu_buttons(ctx))


def _topic_label(ctx: Ctx, topic: str) -> str:
    entry = ctx.campaign.faq_by_id.get(topic)
    # Votes outlive the campaign file: a topic since removed shows by its id.
    return entry.topic_for(ctx.lang) if entry else topic
