"""The centre's administration in the chat: reviewers granted and revoked, the roster of labs imported from
Excel (with a row-by-row report and a sheet of binding codes to send out), the full enrolment export for the
centre's own system, and each lab's audit log.

Admins come from settings (EQA_ADMIN_IDS) or are staff admins; every command, button and flow step checks the
role again for the update at hand.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conversations import flow as flows
from conversations import validators
from conversations.campaign import Campaign
from conversations.context import Ctx, Services
from conversations.events import Button, FileOut, Reply, SendDocument, keyboard
from conversations.flow import Flow, Prepare, Step, register
from conversations.flows.home import menu_buttons
from conversations.formatting import day, join, moment
from handlers.review_desk import fit
from handlers.roles import is_settings_admin, refuse
from handlers.routing import action, command
from storage.heavy import run_heavy, run_isolated
from storage.models import BindingCode, Contact, Lab
from storage.repos import reports
from storage.repos.audit import display_names, for_lab
from storage.repos.bindings import display_code, new_code
from storage.repos.people import lab_by_code
from storage.repos.reviews import grant, revoke, staff_list
from storage.roster_import import RosterReport, RosterRow, read_roster, summary_message, write_import_report
from storage.xlsx_write import Column, Sheet, write_workbook

log = logging.getLogger(__name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ROSTER_ROWS = 20_000
PROGRESS_EVERY = 3.0  # s of reading a roster before the admin is told how far it got
# Binding codes are hashed slowly (PBKDF2) by design; a batch is what one update can do in a few seconds.
CODES_PER_BATCH = 500
CODE_DAYS = 60
AUDIT_PAGE = 15
ROSTER_PLATFORM = "roster"  # contacts the roster names, before anyone binds a chat
_USER_ID = re.compile(r"^-?[A-Za-z0-9_.:@-]{1,64}$")


def _admin_only(ctx: Ctx, what: str) -> bool:
    if ctx.actor.is_admin:
        return False
    ctx.end()
    refuse(ctx, what)
    return True


# -- who am I, reviewers --------------------------------------------------------------------------------------
@command("myid", leaves_flow=False)
async def myid(ctx: Ctx) -> None:
    """What an admin needs to grant someone a role."""
    ctx.say(ctx.t("adm-myid", user=ctx.actor.user_id, chat=ctx.actor.chat_id), menu_buttons(ctx))


@command("grant", role="admin")
async def grant_command(ctx: Ctx) -> None:
    parts = ctx.event.args.split()
    if not parts or not _USER_ID.match(parts[0]):
        ctx.say(ctx.t("adm-grant-usage"), _staff_buttons(ctx))
        return
    user_id, rest = parts[0], parts[1:]
    role = "reviewer"
    if rest and rest[0].lower() in ("admin", "管理员"):
        # Staff admins are made only by the admins named in settings.
        if not is_settings_admin(ctx.services.admin_ids, ctx.actor.platform, ctx.actor.user_id):
            ctx.say(ctx.t("adm-grant-admin-refused"), _staff_buttons(ctx))
            return
        role, rest = "admin", rest[1:]
    name = " ".join(rest)[:60] or None
    outcome, before = await grant(
        ctx.session, ctx.actor.platform, user_id, role=role, name=name, by=ctx.actor.ref, now=ctx.now
    )
    ref = f"{ctx.actor.platform}:{user_id}"
    if outcome != "unchanged":
        ctx.audit("staff_granted", "staff", ref, before=before, after={"role": role, "active": True, "name": name})
        ctx.push(
            Reply(
                ctx.services.catalog.t("zh", "adm-granted-you", role=ctx.services.catalog.t("zh", f"adm-role-{role}")),
                keyboard([Button(ctx.services.catalog.t("zh", "btn-queue"), "g:rv:queue")]),
                chat_id=user_id,
                platform=ctx.actor.platform,
            )
        )
    ctx.say(ctx.t(f"adm-grant-{outcome}", user=user_id, role=ctx.t(f"adm-role-{role}")), _staff_buttons(ctx))


@command("revoke", role="admin")
async def revoke_command(ctx: Ctx) -> None:
    parts = ctx.event.args.split()
    if not parts or not _USER_ID.match(parts[0]):
        ctx.say(ctx.t("adm-revoke-usage"), _staff_buttons(ctx))
        return
    user_id = parts[0]
    if is_settings_admin(ctx.services.admin_ids, ctx.actor.platform, user_id):
        ctx.say(ctx.t("adm-revoke-settings-admin", user=user_id), _staff_buttons(ctx))
        return
    row = await revoke(ctx.session, ctx.actor.platform, user_id)
    if row is None:
        ctx.say(ctx.t("adm-revoke-none", user=user_id), _staff_buttons(ctx))
        return
    ctx.audit(
        "staff_revoked",
        "staff",
        f"{ctx.actor.platform}:{user_id}",
        before={"role": row.role, "active": True},
        after={"role": row.role, "active": False},
    )
    ctx.say(ctx.t("adm-revoked", user=user_id, role=ctx.t(f"adm-role-{row.role}")), _staff_buttons(ctx))


@command("reviewers", role="admin")
async def reviewers_command(ctx: Ctx) -> None:
    rows = await staff_list(ctx.session)
    names = await display_names(ctx.session, [f"{r.platform}:{r.user_id}" for r in rows])
    lines = [ctx.t("adm-staff-title")]
    for admin_id in sorted(ctx.services.admin_ids):
        lines.append("• " + ctx.t("adm-staff-settings-admin", user=admin_id))
    for r in rows:
        lines.append(
            "• "
            + ctx.t(
                "adm-staff-line",
                user=r.user_id,
                name=r.name or names.get(f"{r.platform}:{r.user_id}", "—"),
                role=ctx.t(f"adm-role-{r.role}"),
                state=ctx.t("adm-staff-active" if r.active else "adm-staff-inactive"),
                since=day(r.granted_at.astimezone(ctx.campaign.tz).date(), ctx.lang),
            )
        )
    if not rows:
        lines.append(ctx.t("adm-staff-none"))
    lines.append(ctx.t("adm-staff-how"))
    ctx.say(fit("\n".join(lines)), _staff_buttons(ctx))


def _staff_buttons(ctx: Ctx) -> list[list[Button]]:
    return [[ctx.gbtn(ctx.t("btn-queue"), "rv", "queue"), ctx.gbtn(ctx.t("btn-menu"), "go", "menu")]]


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
    if _admin_only(ctx, "/import"):
        return
    ctx.show(
        ctx.t("adm-import-ask", max=MAX_ROSTER_ROWS),
        [[ctx.btn(ctx.t("adm-btn-template"), "template")], [ctx.btn(ctx.t("adm-btn-cancel"), "x")]],
    )


async def on_import_button(ctx: Ctx, act: str, arg: str) -> None:
    if _admin_only(ctx, "/import"):
        return
    if act == "template":
        ctx.send(SendDocument(FileOut("roster-template.xlsx", XLSX, data=_template()), ctx.t("adm-template-caption")))
        return
    if act == "x":
        ctx.end()
        ctx.show(ctx.t("adm-import-cancelled"), _staff_buttons(ctx))
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
    if _admin_only(ctx, "/import"):
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
    await _codes_batch(ctx, lines)


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


async def _codes_batch(ctx: Ctx, lines: list[str]) -> None:
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
            buttons=keyboard([Button(ctx.t("btn-stats"), "g:rv:stats"), Button(ctx.t("btn-queue"), "g:rv:queue")]),
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


# -- the audit log ---------------------------------------------------------------------------------------------
@command("audit", role="admin")
async def audit_command(ctx: Ctx) -> None:
    code = ctx.event.args.strip().split()[0] if ctx.event.args.strip() else ""
    if not code:
        ctx.say(ctx.t("adm-audit-usage"), _staff_buttons(ctx))
        return
    lab = await lab_by_code(ctx.session, code.upper()[:32])
    if lab is None:
        found = await reports.find_labs(ctx.session, code[:100])
        lab = found[0] if len(found) == 1 else None
    if lab is None:
        ctx.say(ctx.t("rv-lab-not-found", query=code[:40]), _staff_buttons(ctx))
        return
    await show_audit(ctx, lab.id, 0)


def _brief(value: Mapping[str, Any] | None) -> str:
    if not value:
        return ""
    parts = []
    for k, v in value.items():
        text = v if isinstance(v, str) else ("、".join(map(str, v)) if isinstance(v, list) else str(v))
        parts.append(f"{k}={text}")
    return fit("; ".join(parts), 160)


async def show_audit(ctx: Ctx, lab_id: int, offset: int) -> None:
    lab = await ctx.session.get(Lab, lab_id)
    if lab is None:
        ctx.toast(ctx.t("rv-missing"), alert=True)
        return
    entries, total = await for_lab(ctx.session, lab.id, limit=AUDIT_PAGE, offset=offset)
    names = await display_names(ctx.session, {e.actor for e in entries})
    lines = [ctx.t("adm-audit-title", name=lab.name, code=lab.code, total=total), ""]
    for e in entries:
        who = names.get(e.actor, e.actor)
        line = f"{moment(e.at, ctx.lang, ctx.campaign.tz)} · {who} · {e.action}"
        if e.before:
            line += f"\n   {ctx.t('adm-audit-before')}: {_brief(e.before)}"
        if e.after:
            line += f"\n   {ctx.t('adm-audit-after')}: {_brief(e.after)}"
        lines.append(line)
    if not entries:
        lines.append(ctx.t("adm-audit-empty"))
    nav = []
    if offset > 0:
        nav.append(ctx.gbtn(ctx.t("rv-btn-prev"), "adm", f"audit.{lab.id}.{max(0, offset - AUDIT_PAGE)}"))
    if offset + AUDIT_PAGE < total:
        nav.append(ctx.gbtn(ctx.t("rv-btn-next"), "adm", f"audit.{lab.id}.{offset + AUDIT_PAGE}"))
    rows = [nav] if nav else []
    rows.append([ctx.gbtn(ctx.t("rv-btn-lab"), "rv", f"lab.{lab.id}"), ctx.gbtn(ctx.t("btn-menu"), "go", "menu")])
    ctx.show(fit("\n".join(lines)), rows)


# -- buttons ---------------------------------------------------------------------------------------------------
@action("adm", role="staff", prepare=prepare_export)
async def admin_button(ctx: Ctx, arg: str) -> None:
    parts = arg.split(".")
    if parts[0] == "export":
        await send_export(ctx)
        return
    if not ctx.actor.is_admin:  # the rest is for admins only
        refuse(ctx, f"button adm {parts[0][:16]}")
        return
    if parts[0] == "audit" and len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        await show_audit(ctx, int(parts[1]), int(parts[2]))
        return
    if parts[0] == "codes":
        await _codes_batch(ctx, [])
        return
    log.warning("update %s: malformed admin button %r from %s", ctx.event.update_id, arg[:40], ctx.actor.ref)
    ctx.toast(ctx.t("button-unknown"), alert=True)


__all__ = ["RosterReport", "apply_roster", "export_sheet", "roster_rules"]
