"""The reviewer desk's alerts: every submission (and every new-lab application) is announced in the
reviewers' chat, in the same transaction that made it — the documents, then the card with its buttons
(`handlers.review_cards`). Centres that watch a WeCom, DingTalk or Feishu group also get a line there
(`bot.delivery.robots` delivers it from the outbox; a failure there never touches the chat).
"""

from __future__ import annotations

import logging

from conversations.context import Ctx
from conversations.events import Reply, to_payload
from conversations.formatting import moment
from handlers.review_cards import REVIEW_LANG, _application_messages, _enrollment_messages, fit, tr
from handlers.signals import on
from storage.models import Application, Enrollment, Lab, utcnow
from storage.repos.outbox import NewRow, add_rows

log = logging.getLogger(__name__)

ROBOT_PLATFORMS = ("wecom", "dingtalk", "feishu")
ROBOT_CHAT = "robot"  # group robots have one destination each: their webhook


async def robot_alert(ctx: Ctx, text: str, key: str) -> None:
    """Queue a line for each configured group robot (delivered by `bot.delivery.robots` from the outbox, never
    on the chat's fast path). The dedupe key makes a re-run queue nothing twice."""
    rows = [
        NewRow(
            platform,
            ROBOT_CHAT,
            to_payload(Reply(fit(text, 2000), chat_id=ROBOT_CHAT, platform=platform)),
            f"robot:{platform}:{key}",
        )
        for platform in sorted(ctx.services.group_robots)
    ]
    if rows:
        await add_rows(ctx.session, rows, now=utcnow())


@on("enrollment_submitted")
async def alert_submission(ctx: Ctx, enrollment_id: int, revision: int) -> None:
    enr = await ctx.session.get(Enrollment, enrollment_id)
    if enr is None:
        return
    lab = await ctx.session.get(Lab, enr.lab_id)
    assert lab is not None
    chat = ctx.services.review_chat
    if chat:
        actions = await _enrollment_messages(
            ctx,
            enr,
            REVIEW_LANG,
            chat_id=chat,
            platform=ctx.services.review_platform or ctx.event.platform,
            docs=True,
            alert=True,
        )
        for a in actions:
            ctx.push(a)
    else:
        log.warning("no review chat configured: submission of %s (revision %s) not announced", lab.code, revision)
    t = tr(ctx, REVIEW_LANG)
    await robot_alert(
        ctx,
        t(
            "rv-robot-submission",
            lab=lab.name,
            code=lab.code,
            revision=revision,
            at=moment(ctx.now, "zh", ctx.campaign.tz),
        ),
        f"e{enr.id}.{revision}",
    )


@on("application_submitted")
async def alert_application(ctx: Ctx, application_id: int) -> None:
    app = await ctx.session.get(Application, application_id)
    if app is None:
        return
    chat = ctx.services.review_chat
    if chat:
        for a in await _application_messages(
            ctx, app, REVIEW_LANG, chat_id=chat, platform=ctx.services.review_platform or ctx.event.platform, alert=True
        ):
            ctx.push(a)
    else:
        log.warning("no review chat configured: application %s not announced", app.id)
    t = tr(ctx, REVIEW_LANG)
    name = str(app.data.get("name") or "?")
    city = str(app.data.get("city") or "")
    await robot_alert(
        ctx,
        t("rv-robot-application", name=name, city=city, at=moment(ctx.now, "zh", ctx.campaign.tz)),
        f"a{app.id}.{app.revision}",
    )
