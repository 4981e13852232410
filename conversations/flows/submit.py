"""Submission: only when the three steps are complete. A summary, a confirmation, a receipt as PDF, and
the state "awaiting review". After a return only what the centre named is sent again."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from conversations.context import Ctx
from conversations.events import FileOut, SendDocument
from conversations.flow import Flow, Step, register
from conversations.flows import journey
from conversations.flows.home import step_lines
from conversations.flows.plan import FIELDS, plan_summary
from conversations.formatting import day, join, moment
from conversations.progress import Progress
from storage.models import Lab

if TYPE_CHECKING:
    from storage.pdf import ReceiptData


def summary_lines(ctx: Ctx, lab: Lab, p: Progress) -> list[str]:
    c = ctx.campaign
    lines = [ctx.t("sub-lab", lab=lab.name, code=lab.code), *step_lines(ctx, p), ""]
    count = len(p.enrollment.last_year_tests or []) + len(p.enrollment.extra_tests or [])
    lines.append(ctx.t("sub-tests", count=count, prev=c.previous_year))
    lines += plan_summary(ctx, p.enrollment)
    lines.append(ctx.t("sub-agreement", count=len(p.agreement)))
    if p.licence:
        lines.append(ctx.t("sub-licence-new", count=len(p.licence)))
    elif p.licence_on_file and lab.licence_valid_to:
        lines.append(ctx.t("sub-licence-kept", until=day(lab.licence_valid_to, ctx.lang)))
    return lines


async def show(ctx: Ctx) -> None:
    if journey.refuse_unbound(ctx) or journey.refuse_closed(ctx):
        return
    lab, p = await journey.lab_and_progress(ctx)
    if p.status in ("submitted", "approved"):
        await journey.resume(ctx)
        return
    if not p.complete:
        items = join((ctx.t(m) for m in p.missing), ctx.lang)
        ctx.end()
        ctx.show(ctx.t("sub-incomplete", items=items), [[ctx.gbtn(ctx.t("btn-continue"), "go", "journey")]])
        return
    lines = [ctx.t("sub-title", year=ctx.campaign.year), "", *summary_lines(ctx, lab, p), "", ctx.t("sub-ask")]
    ctx.show("\n".join(lines), [[ctx.btn(ctx.t("sub-confirm"), "ok")], [ctx.gbtn(ctx.t("btn-status"), "go", "status")]])


async def on_button(ctx: Ctx, action: str, arg: str) -> None:
    if action != "ok":
        ctx.toast(ctx.t("button-unknown"))
        return
    if journey.refuse_unbound(ctx) or journey.refuse_closed(ctx):
        return
    lab, p = await journey.lab_and_progress(ctx)
    if p.status not in ("draft", "returned") or not p.complete:
        await show(ctx)
        return
    enr = p.enrollment
    before = {"status": enr.status, "revision": enr.revision}
    enr.status = "submitted"
    enr.revision += 1
    enr.submitted_at = ctx.now
    enr.returned_items = []
    ctx.audit(
        "submitted",
        "enrollment",
        enr.id,
        lab_id=lab.id,
        before=before,
        after={"status": enr.status, "revision": enr.revision},
    )
    ctx.signal("enrollment_submitted", enrollment_id=enr.id, revision=enr.revision)
    receipt_no = f"{ctx.campaign.year}-{lab.code}-R{enr.revision}"
    from storage.pdf import render_receipt  # reportlab (~15 MB) is loaded once a PDF is made

    pdf = await asyncio.to_thread(render_receipt, _receipt(ctx, lab, p, receipt_no))
    key = ctx.services.store.put(pdf)
    ctx.end()
    ctx.show(
        ctx.t("sub-done", receipt=receipt_no, at=moment(ctx.now, ctx.lang, ctx.campaign.tz)),
        [[ctx.gbtn(ctx.t("btn-status"), "go", "status")], [ctx.gbtn(ctx.t("btn-faq"), "faq", "")]],
    )
    ctx.send(
        SendDocument(
            FileOut(filename=f"{receipt_no}.pdf", mime="application/pdf", stored=key),
            caption=ctx.t("sub-receipt-caption", receipt=receipt_no),
        )
    )


def _receipt(ctx: Ctx, lab: Lab, p: Progress, receipt_no: str) -> ReceiptData:
    from storage.pdf import ReceiptData

    c = ctx.campaign
    enr = p.enrollment
    tests = [c.test_index[k] for k in enr.last_year_tests or [] if k in c.test_index]
    # Tests by name, one row per specialty (a row never splits across pages: one long cell would).
    by_specialty: dict[str, list[str]] = {}
    for spec, test in tests:
        by_specialty.setdefault(spec.label(ctx.lang), []).append(test.label(ctx.lang))
    if enr.extra_tests:  # typed by the lab: not in the catalogue
        by_specialty[ctx.t("ck-extra-group")] = list(enr.extra_tests)
    specialties = [c.specialty_by_code[s].label(ctx.lang) for s in enr.specialties or [] if s in c.specialty_by_code]
    info, invoice, mailing = enr.lab_info or {}, enr.invoice or {}, enr.mailing or {}

    def fields(section: str, values: dict[str, object]) -> list[tuple[str, str]]:
        # The same labels as the chat's review screens, so the receipt reads like what the person confirmed.
        return [(ctx.t(f.label), str(values.get(f.key) or "")) for f in FIELDS[section]]

    licence = ""
    if p.licence:
        licence = ctx.t("pdf-receipt-licence-new")
    elif p.licence_on_file and lab.licence_valid_to:
        licence = ctx.t("pdf-receipt-licence-kept", until=day(lab.licence_valid_to, ctx.lang))
    centre = c.centre_en if ctx.lang == "en" else c.centre
    return ReceiptData(
        centre=centre,
        title=ctx.t("pdf-receipt-title", title=c.title_en if ctx.lang == "en" else c.title),
        year=c.year,
        lab_code=lab.code,
        lab_name=lab.name,
        submitted_at=ctx.now,
        revision=enr.revision,
        receipt_no=receipt_no,
        sections=[
            (ctx.t("pdf-receipt-lab-info"), fields("lab_info", info)),
            (ctx.t("pdf-receipt-invoice"), fields("invoice", invoice)),
            (ctx.t("pdf-receipt-mailing"), fields("mailing", mailing)),
            (
                ctx.t("pdf-receipt-specialties", year=c.year, count=len(specialties)),
                [(ctx.t("pdf-receipt-specialty-list"), join(specialties, ctx.lang))],
            ),
            (
                ctx.t("pdf-receipt-tests", year=c.previous_year, count=len(tests)),
                [(name, join(names, ctx.lang)) for name, names in by_specialty.items()]
                or [(ctx.t("pdf-receipt-test-list"), "")],
            ),
            (
                ctx.t("pdf-receipt-documents"),
                [
                    (ctx.t("pdf-receipt-agreement"), ctx.t("pdf-receipt-agreement-value", count=len(p.agreement))),
                    (ctx.t("pdf-receipt-licence"), licence),
                ],
            ),
        ],
        note=[ctx.t("pdf-receipt-note", centre=centre), c.fees.note_en if ctx.lang == "en" else c.fees.note],
        labels=journey.pdf_labels(ctx),
    )


register(Flow("submit", "summary", {"summary": Step(show=show, on_button=on_button)}))
