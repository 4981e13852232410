"""Admins import the roster of labs from Excel (read before the transaction, with a row-by-row report) and
hand out binding codes for the labs nobody has bound yet, as a sheet to mail. Every step checks the role again
for the update at hand."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from conversations import flow as flows
from conversations import validators
from conversations.campaign import Campaign
from conversations.context import Ctx, Services
from conversations.events import Button, FileOut, SendDocument
from conversations.flow import Flow, Prepare, Step, register
from conversations.formatting import day
from handlers.review_desk import fit
from handlers.roles import refuse
from handlers.routing import command
from storage.heavy import run_heavy
from storage.models import BindingCode, Contact, Lab
from storage.repos.bindings import display_code, new_code
from storage.roster_import import RosterReport, RosterRow, read_roster, summary_message, write_import_report
from storage.xlsx_write import XLSX, Column, Sheet, write_workbook

log = logging.getLogger(__name__)

MAX_ROSTER_ROWS = 20_000
PROGRESS_EVERY = 3.0  # s of reading a roster before the admin is told how far it got
# Binding codes are hashed slowly (PBKDF2) by design; a batch is what one update can do in a few seconds.
CODES_PER_BATCH = 500
CODE_DAYS = 60
ROSTER_PLATFORM = "roster"  # contacts the roster names, before anyone binds a chat


def staff_buttons(ctx: Ctx) -> list[list[Button]]:
    return [[ctx.gbtn(ctx.t("btn-queue"), "rv", "queue"), ctx.gbtn(ctx.t("btn-menu"), "go", "menu")]]


def admin_only(ctx: Ctx, what: str) -> bool:
    if ctx.actor.is_admin:
        return False
    ctx.end()
    refuse(ctx, what)
    return True


# -- roster import ---------------------------------------------------------------------------------------------
def roster_rules(campaign: Campaign) -> dict[str, Any]:
    """What the roster may say, from the campaign file: eligible institution types and levels under their
    names, codes and the usual variants; the cities; the phone and credit-code checks."""
    types: dict[str, str] = {}
    for kind in campaign.institution_types:
        if not kind.eligible:
            continue
        for spelling in (kind.name, kind.name_en, kind.code, *re.split(r"\s*[/／（）()]\s*", kind.name)):
            if spelling.strip():
                types.setdefault(spelling.strip(), kind.code)
    for spelling, code in _TYPE_VARIANTS.items():
        if code in campaign.type_by_code and campaign.type_by_code[code].eligible:
            types.setdefault(spelling, code)
    levels: dict[str, str] = {}
    for level in campaign.levels:
        for spelling in (level.name, level.name_en, level.code):
            levels.setdefault(spelling, level.code)
    for spelling, code in _LEVEL_VARIANTS.items():
        if code == "" or code in campaign.level_by_code:
            levels.setdefault(spelling, code)

    def check_mobile(raw: str) -> str | None:
        return validators.mobile(raw).value

    def check_credit_code(raw: str) -> str | None:
        checked = validators.credit_code(raw)  # a failed check character is a warning only, as when typed
        return checked.value if checked.ok else None

    return {
        "institution_types": types,
        "levels": levels,
        "cities": campaign.cities,
        "check_mobile": check_mobile,
        "check_credit_code": check_credit_code,
    }


_TYPE_VARIANTS = {
    "综合性医院": "general_hospital",
    "中医医院": "tcm_hospital",
    "中西医结合医院": "tcm_hospital",
    "妇幼保健机构": "maternal_child",
    "妇幼保健计划生育服务中心": "maternal_child",
    "专科": "specialty_hospital",
    "民营": "private_hospital",
    "第三方": "independent_lab",
    "独立医学实验室": "independent_lab",
    "医学检验所": "independent_lab",
    "血站": "blood_centre",
    "中心血站": "blood_centre",
    "血液中心": "blood_centre",
    "浆站": "plasma_station",
    "输血科": "transfusion_dept",
}
# "" stands for "no hospital level" (blood-supply labs, transfusion departments).
_LEVEL_VARIANTS = {
    "三级甲等": "L3",
    "三级乙等": "L3",
    "三级丙等": "L3",
    "三甲": "L3",
    "三乙": "L3",
    "二级甲等": "L2",
    "二级乙等": "L2",
    "二级丙等": "L2",
    "二甲": "L2",
    "二乙": "L2",
    "一级甲等": "L1",
    "一级": "L1",
    "无": "",
    "不适用": "",
    "/": "",
    "—": "",
}


@command("import", role="admin")
async def import_command(ctx: Ctx) -> None:
    await flows.start(ctx, "adm_import")


async def show_import(ctx: Ctx) -> None:
    if admin_only(ctx, "/import"):
        return
    ctx.show(
        ctx.t("adm-import-ask", max=MAX_ROSTER_ROWS),
        [[ctx.btn(ctx.t("adm-btn-template"), "template")], [ctx.btn(ctx.t("adm-btn-cancel"), "x")]],
    )


async def on_import_button(ctx: Ctx, act: str, arg: str) -> None:
    if admin_only(ctx, "/import"):
        return
    if act == "template":
        ctx.send(SendDocument(FileOut("roster-template.xlsx", XLSX, data=_template()), ctx.t("adm-template-caption")))
        return
    if act == "x":
        ctx.end()
        ctx.show(ctx.t("adm-import-cancelled"), staff_buttons(ctx))
        return
    ctx.toast(ctx.t("button-unknown"))


def _template() -> bytes:
    headers = [
        "实验室编码",
        "单位名称",
        "机构类型",
        "等级",
        "地市",
        "联系人",
        "手机",
        "统一社会信用代码",
        "执业许可证登记号",
        "许可证有效期至",
        "地址",
        "备用联系人",
        "备用联系人手机",
    ]
    example = ["HN0001", "郑州市第一人民医院", "综合医院", "三级", "郑州市", "王检验", "13800138000"]
    columns = [Column(h, str(n)) for n, h in enumerate(headers)]
    return write_workbook([Sheet("名单", columns, [{str(n): v for n, v in enumerate(example)}])])


async def prepare_import(p: Prepare) -> dict[str, Any]:
    """Read the roster before the import's transaction, in the heavy-work pool (a big workbook takes
    seconds; the database stays free meanwhile), telling the admin how far it got when it takes a while."""
    if not p.is_admin or not p.files:
        return {}
    return await read_roster_upload(p.services, p.lang, p.files[0][1], p.notify)


async def read_roster_upload(
    services: Services, lang: str, data: bytes, notify: Callable[[str], Awaitable[object]] | None = None
) -> dict[str, Any]:
    """What `on_import_file` finds in `ctx.prepared`: the roster read (and its problem list written) in the
    heavy-work pool, outside any transaction. `notify` is told the progress of a long read."""
    rows_read = [0]

    def seen(rows: int) -> None:  # from the reading thread
        rows_read[0] = rows

    job = asyncio.ensure_future(
        run_heavy(read_roster, data, **roster_rules(services.campaign), max_rows=MAX_ROSTER_ROWS, progress=seen)
    )
    wait = PROGRESS_EVERY
    while not (await asyncio.wait({job}, timeout=wait))[0]:
        if notify is not None:
            await notify(services.catalog.t(lang, "adm-import-reading", kb=len(data) // 1024, rows=rows_read[0]))
        wait = max(wait, 10.0)
    report = job.result()
    out: dict[str, Any] = {"roster": report, "roster_sha": hashlib.sha256(data).hexdigest()}
    if report.issues and not report.file_refused:
        catalog = services.catalog
        out["roster_problems"] = await run_heavy(write_import_report, report, lambda key, a: catalog.t(lang, key, **a))
    return out


async def on_import_file(ctx: Ctx) -> None:
    if admin_only(ctx, "/import"):
        return
    data = await ctx.download()
    if ctx.prepared.get("roster_sha") == hashlib.sha256(data).hexdigest():
        report: RosterReport = ctx.prepared["roster"]
    else:  # not read beforehand (the step changed meanwhile): read now, still in the heavy-work pool
        report = await run_heavy(read_roster, data, **roster_rules(ctx.campaign), max_rows=MAX_ROSTER_ROWS)
    name = (ctx.event.file.name if ctx.event.file else None) or "roster.xlsx"
    if report.file_refused:
        issue = next(i for i in report.issues if i.row == 0)
        ctx.audit("roster_refused", "roster", name[:64], after={"problem": issue.message_id})
        ctx.say("⚠️ " + ctx.t(issue.message_id, **issue.args), [[ctx.btn(ctx.t("adm-btn-cancel"), "x")]])
        return
    applied = await apply_roster(ctx, report.rows)
    ctx.audit(
        "roster_imported",
        "roster",
        name[:64],
        after={
            "rows": report.total_rows,
            "refused": report.refused_rows,
            "created": applied.created,
            "updated": applied.updated,
        },
    )
    ctx.end()
    message_id, args = summary_message(report)
    lines = [ctx.t(message_id, **args)]
    lines.append(
        ctx.t("adm-import-done", created=applied.created, updated=applied.updated, unchanged=applied.unchanged)
    )
    if report.issues:
        problems = ctx.prepared.get("roster_problems") if report is ctx.prepared.get("roster") else None
        if problems is None:
            problems = await run_heavy(write_import_report, report, lambda key, a: ctx.t(key, **a))
        ctx.send(SendDocument(FileOut("roster-problems.xlsx", XLSX, data=problems), ctx.t("adm-report-caption")))
        for issue in sorted(report.issues, key=lambda i: i.row)[:5]:
            lines.append("• " + ctx.t(issue.message_id, **issue.args))
        if len(report.issues) > 5:
            lines.append(ctx.t("adm-import-more-problems", count=len(report.issues) - 5))
    await codes_batch(ctx, lines)


@dataclass
class Applied:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


_LAB_FIELDS = ("name", "institution_type", "level", "city", "credit_code", "licence_no", "licence_valid_to", "address")


async def apply_roster(ctx: Ctx, rows: Sequence[RosterRow]) -> Applied:
    """Create the roster's new labs and update known ones (a blank optional cell keeps what is on file), with
    the contacts it names; each change audited."""
    out = Applied()
    existing = {lab.code: lab for lab in await ctx.session.scalars(select(Lab))}
    touched: list[tuple[Lab, RosterRow]] = []
    created: list[Lab] = []
    for row in rows:
        code = row.code.strip().upper()
        kind = ctx.campaign.type_by_code.get(row.institution_type)
        values: dict[str, Any] = {
            "name": row.name,
            "institution_type": row.institution_type,
            "level": (row.level or None) if kind is None or kind.needs_level else None,
            "city": row.city,
            "credit_code": row.credit_code,
            "licence_no": row.licence_no,
            "licence_valid_to": row.licence_valid_to,
            "address": row.address,
        }
        lab = existing.get(code)
        if lab is None:
            lab = Lab(code=code, source="roster", created_at=ctx.now, updated_at=ctx.now, **values)
            ctx.session.add(lab)
            existing[code] = lab
            created.append(lab)
            out.created += 1
            touched.append((lab, row))
            continue
        changes = {
            k: v
            for k, v in values.items()
            if (v is not None or k in ("name", "institution_type", "city", "level")) and getattr(lab, k) != v
        }
        if changes:
            before = {k: getattr(lab, k) for k in changes}
            for k, v in changes.items():
                setattr(lab, k, v)
            lab.updated_at = ctx.now
            ctx.audit("lab_updated", "lab", lab.id, lab_id=lab.id, before=before, after=changes)
            out.updated += 1
        else:
            out.unchanged += 1
        touched.append((lab, row))
    await ctx.session.flush()
    roster_contacts = {
        (c.lab_id, c.is_backup): c
        for c in await ctx.session.scalars(select(Contact).where(Contact.platform == ROSTER_PLATFORM))
    }
    for lab in created:
        after = {k: getattr(lab, k) for k in ("code", *_LAB_FIELDS)}
        ctx.audit("lab_imported", "lab", lab.id, lab_id=lab.id, after=after)
    for lab, row in touched:
        for backup, name, mobile in (
            (False, row.contact_name, row.mobile),
            (True, row.backup_contact_name, row.backup_mobile),
        ):
            if not name:
                continue
            known = roster_contacts.get((lab.id, backup))
            if known is None:
                ctx.session.add(
                    Contact(
                        lab_id=lab.id,
                        platform=ROSTER_PLATFORM,
                        user_id=None,
                        chat_id=None,
                        name=name,
                        mobile=mobile,
                        is_backup=backup,
                        active=True,
                        created_at=ctx.now,
                    )
                )
            elif (known.name, known.mobile) != (name, mobile):
                ctx.audit(
                    "contact_updated",
                    "contact",
                    known.id,
                    lab_id=lab.id,
                    before={"name": known.name, "mobile": known.mobile},
                    after={"name": name, "mobile": mobile},
                )
                known.name, known.mobile = name, mobile
    return out


# -- binding codes for the roster's labs -----------------------------------------------------------------------
@dataclass(frozen=True)
class Needed:
    lab: Lab
    backup: bool
    contact: Contact | None


async def labs_needing_codes(ctx: Ctx) -> list[Needed]:
    """Roster labs with nobody bound and no code still open, for the main contact and, when the roster names
    one, the backup contact."""
    session = ctx.session
    labs = list(await session.scalars(select(Lab).where(Lab.source == "roster").order_by(Lab.code)))
    bound: set[tuple[int, bool]] = set()
    roster: dict[tuple[int, bool], Contact] = {}
    for c in await session.scalars(select(Contact).where(Contact.active.is_(True))):
        if c.user_id is not None:
            bound.add((c.lab_id, c.is_backup))
        elif c.platform == ROSTER_PLATFORM:
            roster[(c.lab_id, c.is_backup)] = c
    open_codes = {
        (lab_id, backup)
        for lab_id, backup in await session.execute(
            select(BindingCode.lab_id, BindingCode.for_backup).where(
                BindingCode.used_at.is_(None), BindingCode.expires_at > ctx.now
            )
        )
    }
    needed: list[Needed] = []
    for lab in labs:
        for backup in (False, True):
            key = (lab.id, backup)
            if key in bound or key in open_codes or (backup and key not in roster):
                continue
            needed.append(Needed(lab, backup, roster.get(key)))
    return needed


async def codes_batch(ctx: Ctx, lines: list[str]) -> None:
    """Issue the next batch of codes, send them as a sheet, and say what is left."""
    needed = await labs_needing_codes(ctx)
    batch, left = needed[:CODES_PER_BATCH], len(needed) - min(len(needed), CODES_PER_BATCH)
    pairs = await asyncio.gather(*(asyncio.to_thread(new_code) for _ in batch))
    expires = ctx.now + timedelta(days=CODE_DAYS)
    until = day(expires.astimezone(ctx.campaign.tz).date(), ctx.lang)
    sheet_rows: list[dict[str, object]] = []
    for item, (code, hashed) in zip(batch, pairs, strict=True):
        ctx.session.add(
            BindingCode(
                lab_id=item.lab.id,
                code_hash=hashed,
                expires_at=expires,
                created_by=ctx.actor.ref,
                created_at=ctx.now,
                for_backup=item.backup,
            )
        )
        ctx.audit("binding_code_issued", "lab", item.lab.id, lab_id=item.lab.id, after={"backup": item.backup})
        sheet_rows.append(
            {
                "code": item.lab.code,
                "name": item.lab.name,
                "city": item.lab.city,
                "kind": ctx.t("adm-code-backup" if item.backup else "adm-code-main"),
                "contact": item.contact.name if item.contact else None,
                "mobile": item.contact.mobile if item.contact else None,
                "binding": display_code(code),
                "how": f"/start {item.lab.code}_{code}",
                "until": expires,
            }
        )
    if batch:
        columns = [
            Column(ctx.t("adm-col-code"), "code"),
            Column(ctx.t("adm-col-name"), "name"),
            Column(ctx.t("adm-col-city"), "city"),
            Column(ctx.t("adm-col-kind"), "kind"),
            Column(ctx.t("adm-col-contact"), "contact"),
            Column(ctx.t("adm-col-mobile"), "mobile"),
            Column(ctx.t("adm-col-binding"), "binding"),
            Column(ctx.t("adm-col-how"), "how"),
            Column(ctx.t("adm-col-until"), "until", "date"),
        ]
        sheet = await asyncio.to_thread(write_workbook, [Sheet(ctx.t("adm-codes-sheet"), columns, sheet_rows)])
        stamp = ctx.now.astimezone(ctx.campaign.tz).strftime("%Y%m%d-%H%M")
        ctx.send(
            SendDocument(
                FileOut(f"binding-codes-{stamp}.xlsx", XLSX, data=sheet),
                ctx.t("adm-codes-caption", count=len(batch), until=until),
            )
        )
    lines.append(ctx.t("adm-codes-issued", count=len(batch), until=until) if batch else ctx.t("adm-codes-none"))
    rows: list[list[Button]] = []
    if left:
        lines.append(ctx.t("adm-codes-left", count=left))
        rows.append([ctx.gbtn(ctx.t("adm-btn-more-codes", count=min(left, CODES_PER_BATCH)), "adm", "codes")])
    rows.append([ctx.gbtn(ctx.t("btn-stats"), "rv", "stats"), ctx.gbtn(ctx.t("btn-menu"), "go", "menu")])
    ctx.say(fit("\n".join(lines)), rows)


register(
    Flow(
        "adm_import",
        "file",
        {"file": Step(show=show_import, on_file=on_import_file, on_button=on_import_button, prepare=prepare_import)},
    )
)


__all__ = [
    "ROSTER_PLATFORM",
    "RosterReport",
    "admin_only",
    "apply_roster",
    "codes_batch",
    "read_roster_upload",
    "roster_rules",
    "staff_buttons",
]
