"""The lab's way through the three steps: where to continue, and the guards every step shares."""

from __future__ import annotations

from conversations import flow as flows
from conversations.context import Ctx
from conversations.flows.home import deadline_line, menu_buttons, show_status
from conversations.progress import Progress, progress
from storage.models import Enrollment, Lab
from storage.repos.enrollments import enrollment


async def lab_and_progress(ctx: Ctx) -> tuple[Lab, Progress]:
    assert ctx.actor.lab_id is not None
    lab = await ctx.session.get(Lab, ctx.actor.lab_id)
    assert lab is not None
    return lab, await progress(ctx.session, ctx.campaign, lab, ctx.now)


async def current_enrollment(ctx: Ctx) -> Enrollment:
    assert ctx.actor.lab_id is not None
    key = f"enrollment:{ctx.actor.lab_id}"
    if key not in ctx.memo:  # the session's identity map keeps it current within the turn
        ctx.memo[key] = await enrollment(ctx.session, ctx.actor.lab_id, ctx.campaign.year)
    enr = ctx.memo[key]
    assert enr is not None
    return enr


# What the PDF renderer fills in itself (see storage.pdf): passed through the catalogue as "{name}".
PDF_PLACEHOLDERS = (
    "page",
    "document_id",
    "year",
    "count",
    "centre",
    "lab_name",
    "lab_code",
    "date",
    "when",
    "revision",
    "receipt_no",
    "pages",
)


def pdf_labels(ctx: Ctx, lang: str | None = None) -> dict[str, str]:
    """The words printed on the agreement and the receipt (in the person's language unless told)."""
    return ctx.services.catalog.templates(lang or ctx.lang, "pdf-", PDF_PLACEHOLDERS)


def refuse_closed(ctx: Ctx) -> bool:
    """After the deadline nothing changes: say so, what it means, and whom to call."""
    if not ctx.closed:
        return False
    ctx.end()
    ctx.show(
        "\n".join([deadline_line(ctx), ctx.t("closed-consequence"), ctx.campaign.contacts.text(ctx.lang)]),
        menu_buttons(ctx),
    )
    return True


def refuse_unbound(ctx: Ctx) -> bool:
    if ctx.actor.lab_id is not None:
        return False
    ctx.end()
    ctx.show(ctx.t("journey-unbound"), menu_buttons(ctx))
    return True


async def refuse_locked(ctx: Ctx, item: str) -> bool:
    """Once submitted (or approved), the plan and documents wait for the centre; after a return only the
    items the centre named can change."""
    enr = await current_enrollment(ctx)
    if enr.status == "draft":
        return False
    if enr.status == "returned" and item in (enr.returned_items or []):
        return False
    ctx.end()
    key = {"submitted": "journey-locked-submitted", "approved": "journey-locked-approved"}.get(
        enr.status, "journey-locked-returned"
    )
    ctx.show(ctx.t(key), menu_buttons(ctx))
    return True


def fixed(enr: Enrollment, *items: str) -> None:
    """The lab has redone these returned items."""
    if enr.status == "returned" and enr.returned_items:
        enr.returned_items = [i for i in enr.returned_items if i not in items]


async def resume(ctx: Ctx, *, note: str | None = None) -> None:
    """Continue where the lab stands: the first step not done, or the submission."""
    if refuse_unbound(ctx):
        return
    _, p = await lab_and_progress(ctx)
    if note:
        ctx.note(note)
    if p.status in ("submitted", "approved"):
        ctx.end()
        await show_status(ctx)
        return
    if refuse_closed(ctx):
        return
    target = {"checklist": "checklist", "plan": "plan", "documents": "documents", "submit": "submit"}[
        p.next_step or "submit"
    ]
    await flows.start(ctx, target)
