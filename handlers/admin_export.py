"""The full enrolment export for the centre's own system (BiQAS): every lab, its contacts, its registration
and the review, one row per lab. Read in a read-only session before the transaction; the rows built in the
heavy-work thread, the workbook written in a worker process (storage.heavy.run_isolated)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import SimpleNamespace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from conversations.campaign import Campaign
from conversations.context import Ctx
from conversations.events import FileOut, SendDocument, global_button, keyboard
from conversations.flow import Prepare
from conversations.formatting import join, moment
from handlers.admin_roster import ROSTER_PLATFORM
from handlers.routing import command
from storage.heavy import run_heavy, run_isolated
from storage.repos import reports
from storage.repos.audit import display_names
from storage.xlsx_write import XLSX, Column, Sheet, write_workbook

log = logging.getLogger(__name__)


# -- the enrolment export --------------------------------------------------------------------------------------
async def prepare_export(p: Prepare) -> dict[str, Any]:
    """The export, made before the event's transaction: read in a read-only session (SQLite's write lock
    stays free), the workbook written in the heavy-work pool (the event loop stays free)."""
    if not p.is_staff or (p.event.kind == "button" and p.step.split(".")[0] != "export"):
        return {}
    catalog, lang = p.services.catalog, p.lang

    def t(key: str, **args: Any) -> str:
        return catalog.t(lang, key, **args)

    async with p.reading() as session:
        return {"export": await export_workbook(session, p.services.campaign, t, lang)}


async def export_workbook(
    session: AsyncSession, campaign: Campaign, t: Callable[..., str], lang: str
) -> tuple[bytes, int]:
    """The enrolment export as .xlsx bytes and the number of labs in it."""
    records = await reports.export_records(session, campaign.year)
    refs = {r.review.reviewer for r in records if r.review is not None}
    names = await display_names(session, refs)
    view = SimpleNamespace(campaign=campaign, t=t, lang=lang)  # what export_sheet reads of a Ctx

    def sheet() -> Sheet:
        columns, rows = export_sheet(view, records, names)  # type: ignore[arg-type]
        return Sheet(t("adm-export-sheet", year=campaign.year), columns, list(rows))

    # The rows are made in a thread, the file in a process: see run_isolated for why not a thread too.
    return await run_isolated(write_workbook, [await run_heavy(sheet)]), len(records)


@command("export", role="staff", prepare=prepare_export)
async def export_command(ctx: Ctx) -> None:
    await send_export(ctx)


async def send_export(ctx: Ctx) -> None:
    c = ctx.campaign
    if "export" in ctx.prepared:
        data, count = ctx.prepared["export"]
    else:  # not made beforehand (an old path in): made now, still off the event loop
        data, count = await export_workbook(ctx.session, c, ctx.t, ctx.lang)
    stamp = ctx.now.astimezone(c.tz).strftime("%Y%m%d-%H%M")
    ctx.audit("exported", "export", c.year, after={"labs": count})
    ctx.send(
        SendDocument(
            FileOut(f"eqa-{c.year}-enrolments-{stamp}.xlsx", XLSX, data=data),
            ctx.t("adm-export-caption", year=c.year, count=count, at=moment(ctx.now, ctx.lang, c.tz)),
            buttons=keyboard(
                [global_button(ctx.t("btn-stats"), "rv", "stats"), global_button(ctx.t("btn-queue"), "rv", "queue")]
            ),
        )
    )


def export_sheet(
    ctx: Ctx, records: Sequence[reports.ExportRecord], names: Mapping[str, str]
) -> tuple[list[Column], Iterator[dict[str, object]]]:
    """One row per lab, every field: the lab, its contacts, the registration (lab, invoice and mailing
    details; one column per specialty; last year's tests), the documents and the decision."""
    c, t, lang = ctx.campaign, ctx.t, ctx.lang
    columns = [
        Column(t("adm-col-code"), "code"),
        Column(t("adm-col-name"), "name"),
        Column(t("adm-col-type"), "type"),
        Column(t("adm-col-level"), "level"),
        Column(t("adm-col-city"), "city"),
        Column(t("adm-col-credit"), "credit"),
        Column(t("adm-col-licence-no"), "licence_no"),
        Column(t("adm-col-licence-from"), "licence_from", "date"),
        Column(t("adm-col-licence-to"), "licence_to", "date"),
        Column(t("adm-col-address"), "address"),
        Column(t("adm-col-source"), "source"),
        Column(t("adm-col-contact"), "contact"),
        Column(t("adm-col-mobile"), "mobile"),
        Column(t("adm-col-backup"), "backup"),
        Column(t("adm-col-backup-mobile"), "backup_mobile"),
        Column(t("adm-col-bound"), "bound", "int"),
        Column(t("adm-col-status"), "status"),
        Column(t("adm-col-revision"), "revision", "int"),
        Column(t("adm-col-submitted"), "submitted", "datetime"),
        Column(t("adm-col-decided"), "decided", "datetime"),
        Column(t("adm-col-decision"), "decision"),
        Column(t("adm-col-reviewer"), "reviewer"),
        Column(t("adm-col-reasons"), "reasons"),
        Column(t("adm-col-redo"), "redo"),
        Column(t("adm-col-lab-name"), "info_name"),
        Column(t("adm-col-lab-address"), "info_address"),
        Column(t("adm-col-lab-phone"), "info_phone"),
        Column(t("adm-col-head"), "info_head"),
        Column(t("adm-col-invoice-title"), "invoice_title"),
        Column(t("adm-col-taxpayer"), "taxpayer"),
        Column(t("adm-col-recipient"), "recipient"),
        Column(t("adm-col-recipient-phone"), "recipient_phone"),
        Column(t("adm-col-mail-address"), "mail_address"),
        Column(t("adm-col-postcode"), "postcode"),
        Column(t("adm-col-specialty-count"), "specialty_count", "int"),
        *(Column(s.name, f"spec:{s.code}", min_width=6) for s in c.specialties),
        Column(t("adm-col-declined"), "declined"),
        Column(t("adm-col-tests-count", prev=c.previous_year), "tests_count", "int"),
        Column(t("adm-col-tests", prev=c.previous_year), "tests"),
        Column(t("adm-col-checklist-at"), "checklist_at", "datetime"),
        Column(t("adm-col-plan-at"), "plan_at", "datetime"),
        Column(t("adm-col-agreement"), "agreement"),
        Column(t("adm-col-licence-doc"), "licence_doc"),
        Column(t("adm-col-precheck"), "precheck"),
    ]
    yes = t("adm-yes")

    def rows() -> Iterator[dict[str, object]]:  # one at a time: the writer streams them
        for r in records:
            lab, enr = r.lab, r.enrollment
            bound = [x for x in r.contacts if x.user_id is not None and x.active]
            main = next((x for x in bound if not x.is_backup), None) or next(
                (x for x in r.contacts if x.platform == ROSTER_PLATFORM and not x.is_backup), None
            )
            backup = next((x for x in bound if x.is_backup), None) or next(
                (x for x in r.contacts if x.platform == ROSTER_PLATFORM and x.is_backup), None
            )
            row: dict[str, object] = {
                "code": lab.code,
                "name": lab.name,
                "type": c.type_by_code[lab.institution_type].name
                if lab.institution_type in c.type_by_code
                else lab.institution_type,
                "level": c.level_by_code[lab.level].name if lab.level in c.level_by_code else lab.level,
                "city": lab.city,
                "credit": lab.credit_code,
                "licence_no": lab.licence_no,
                "licence_from": lab.licence_valid_from,
                "licence_to": lab.licence_valid_to,
                "address": lab.address,
                "source": t(f"adm-source-{lab.source}")
                if lab.source in ("roster", "application", "demo")
                else lab.source,
                "contact": main.name if main else None,
                "mobile": main.mobile if main else None,
                "backup": backup.name if backup else None,
                "backup_mobile": backup.mobile if backup else None,
                "bound": len(bound),
                "status": t(f"adm-status-{enr.status if enr else reports.NO_ENROLLMENT}"),
            }
            this_year = [d for d in r.documents if enr is not None and d.enrollment_id == enr.id]
            agreement = [d for d in this_year if d.kind == "agreement"]
            licence = [d for d in this_year if d.kind == "licence"]
            earlier_licence = [
                d for d in r.documents if d.kind == "licence" and (enr is None or d.enrollment_id != enr.id)
            ]
            if enr is not None:
                info, invoice, mailing = enr.lab_info or {}, enr.invoice or {}, enr.mailing or {}
                chosen = set(enr.specialties or [])
                review = r.review
                tests = [c.test_index[k][1].code for k in enr.last_year_tests or [] if k in c.test_index]
                tests += enr.extra_tests or []  # typed by the lab: not in the catalogue
                row |= {
                    "revision": enr.revision,
                    "submitted": enr.submitted_at,
                    "decided": enr.decided_at,
                    "decision": t(f"rv-decision-{review.decision}") if review else None,
                    "reviewer": (names.get(review.reviewer, review.reviewer) if review else None),
                    "reasons": "；".join(
                        t("rv-reason-other-text", note=review.note or "")
                        if code == "other"
                        else t("rv-reason-" + code.replace("_", "-"))
                        for code in review.reasons or []
                    )
                    if review and review.decision != "approved"
                    else None,
                    "redo": join((t(f"item-{i}") for i in enr.returned_items or []), lang) or None,
                    "info_name": info.get("name"),
                    "info_address": info.get("address"),
                    "info_phone": info.get("phone"),
                    "info_head": info.get("head"),
                    "invoice_title": invoice.get("title"),
                    "taxpayer": invoice.get("taxpayer_id"),
                    "recipient": mailing.get("recipient"),
                    "recipient_phone": mailing.get("phone"),
                    "mail_address": mailing.get("address"),
                    "postcode": mailing.get("postcode"),
                    "specialty_count": len(chosen),
                    **{f"spec:{s.code}": yes if s.code in chosen else None for s in c.specialties},
                    "declined": join(
                        (c.specialty_by_code[s].name for s in enr.mandatory_declined or [] if s in c.specialty_by_code),
                        lang,
                    )
                    or None,
                    "tests_count": len(tests),
                    "tests": "、".join(tests) or None,
                    "checklist_at": enr.checklist_submitted_at,
                    "plan_at": enr.plan_confirmed_at,
                }
            row["agreement"] = t("adm-doc-pages", count=len(agreement)) if agreement else t("adm-doc-missing")
            if licence:
                row["licence_doc"] = t("adm-doc-pages", count=len(licence))
            elif earlier_licence and lab.licence_valid_to and lab.licence_valid_to >= c.licence_valid_on:
                row["licence_doc"] = t("adm-doc-on-file")
            elif lab.licence_valid_to and lab.licence_valid_to < c.licence_valid_on:
                row["licence_doc"] = t("adm-doc-expired")
            else:
                row["licence_doc"] = t("adm-doc-missing")
            advice = reports.precheck_advice(agreement + licence)
            shown = (t("rv-pre-" + a.removeprefix("pre-"), width=0, height=0) for a in advice)
            row["precheck"] = "、".join(shown) or None
            yield row

    return columns, rows()


__all__ = ["export_sheet", "export_workbook", "prepare_export", "send_export"]
