"""The reviewer's pages: sign-in, the queue, a lab's page with its documents, decisions, bulk approval, the
dashboard. Decisions go through the chat desk's own services (`handlers.staff_desk` → `review_decisions`)."""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.desk import charts
from bot.desk.security import check_password, locked, new_session, register_failure, totp_ok
from bot.desk.server import (
    ACCOUNT,
    LANG_COOKIE,
    Desk,
    desk_of,
    ensure_pre_cookie,
    lang_of,
    render,
    require,
    run_as_account,
    safe_next,
    set_pre_cookie,
    set_session,
)
from conversations.flows.plan import FIELDS
from conversations.progress import progress
from handlers import staff_desk
from handlers.review_cards import APPLICATION_REASONS, ENROLLMENT_REASONS, ITEMS, application_card
from handlers.review_decisions import approve_many, decide, tell_review_chat
from handlers.review_reading import document_lines, typed_for_reading
from storage.files import DocumentCorrupt
from storage.images import oriented_jpeg
from storage.models import Application, AuditLog, DeskAccount, Document, Lab, Review, utcnow
from storage.repos import desk as repo
from storage.repos.audit import display_names
from storage.repos.people import lab_contacts

log = logging.getLogger(__name__)
PDF_SCALE = 1.6  # 72 dpi × 1.6 ≈ 115 dpi: an A4 page about 950 px wide, sharp enough to read a seal
MAX_PDF_PAGES = 20


def setup(app: web.Application) -> None:
    from importlib import resources

    app.router.add_get("/", home)
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/lang/{lang}", switch_language)
    app.router.add_get("/queue", queue)
    app.router.add_post("/queue", queue)
    app.router.add_get("/next", next_to_review)
    app.router.add_get("/labs/{lab_id:\\d+}", lab_page)
    app.router.add_post("/labs/{lab_id:\\d+}/approve", approve)
    app.router.add_post("/labs/{lab_id:\\d+}/return", return_)
    app.router.add_post("/bulk", bulk_confirm)
    app.router.add_post("/bulk/approve", bulk_approve)
    app.router.add_get("/docs/{doc_id:\\d+}/view", document_view)
    app.router.add_get("/docs/{doc_id:\\d+}/page/{n:\\d+}", document_page)
    app.router.add_get("/docs/{doc_id:\\d+}/file", document_file)
    app.router.add_get("/dashboard", dashboard)
    app.router.add_get("/applications", applications)
    app.router.add_get("/applications/{app_id:\\d+}", application_page)
    app.router.add_post("/applications/{app_id:\\d+}/{verdict:approve|return}", application_decide)
    app.router.add_static("/static/", str(resources.files("bot.desk") / "static"), append_version=False)


async def home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther("/queue")


# -- signing in ---------------------------------------------------------------------------------------------
async def login_form(request: web.Request) -> web.StreamResponse:
    if ACCOUNT in request:
        raise web.HTTPSeeOther(safe_next(request.query.get("next")))
    fresh = ensure_pre_cookie(request)
    response = render(request, "login.html", next=safe_next(request.query.get("next")), error=None, name="")
    if fresh:
        set_pre_cookie(request, response, fresh)
    return response


async def login(request: web.Request) -> web.StreamResponse:
    desk = desk_of(request)
    form = await request.post()
    name = str(form.get("name") or "").strip()[:64]
    password = str(form.get("password") or "")
    code = str(form.get("totp") or "")
    target = safe_next(str(form.get("next") or ""))
    now = utcnow()
    error = "desk-login-failed"
    async with desk.app.db.transaction() as s:
        account = await repo.account_by_name(s, name) if name else None
        if account is not None and account.active and locked(account, now):
            error = "desk-login-locked"
            account = None
        elif account is None or not account.active:
            await asyncio.to_thread(check_password, None, password)  # the same time as a wrong password
            account = None
        elif not await asyncio.to_thread(check_password, account.password_hash, password):
            register_failure(account, now)
            error = "desk-login-locked" if locked(account, now) else "desk-login-failed"
            s.add(
                AuditLog(
                    at=now,
                    actor=f"desk:{account.name}",
                    action="desk_login_failed",
                    entity="desk_account",
                    entity_id=str(account.id),
                )
            )
            account = None
        elif account.totp_secret and not totp_ok(account.totp_secret, code):
            register_failure(account, now)
            error = "desk-login-totp-wrong"
            account = None
        else:
            account.failed_logins = 0
            account.locked_until = None
            account.last_login_at = now
            s.add(
                AuditLog(
                    at=now,
                    actor=f"desk:{account.name}",
                    action="desk_login",
                    entity="desk_account",
                    entity_id=str(account.id),
                )
            )
    if account is None:
        log.info("desk: sign-in refused")
        return render(request, "login.html", status=401, next=target, error=error, name=name)
    response = web.HTTPSeeOther(target)
    set_session(desk, response, new_session(account))
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    response = web.HTTPSeeOther("/login")
    set_session(desk_of(request), response, None)
    raise response


async def switch_language(request: web.Request) -> web.StreamResponse:
    lang = request.match_info["lang"]
    response = web.HTTPSeeOther(safe_next(request.query.get("next")) if ACCOUNT in request else "/login")
    response.set_cookie(LANG_COOKIE, "en" if lang == "en" else "zh", samesite="Strict", path="/", httponly=True)
    raise response


# -- the queue ----------------------------------------------------------------------------------------------
def _filter(request: web.Request, form: Any) -> repo.QueueFilter:
    src = form if form is not None else request.query
    campaign = desk_of(request).app.campaign

    def pick(name: str, allowed: Any) -> str | None:
        value = str(src.get(name) or "")
        return value if value in allowed else None

    statuses = ("submitted", "returned", "approved", "draft", repo.NO_ENROLLMENT)
    page = str(src.get("page") or "1")
    # The search text is personal enough (a name, a credit code) to stay out of URLs: it comes only by POST.
    q = str(form.get("q") or "").strip()[:64] if form is not None else ""
    return repo.QueueFilter(
        status=pick("status", statuses),
        city=pick("city", campaign.cities),
        kind=pick("type", campaign.type_by_code),
        q=q or None,
        sort=pick("sort", repo.SORTS) or "submitted",
        page=int(page) if page.isdigit() else 1,
    )


@require("reviewer")
async def queue(request: web.Request) -> web.StreamResponse:
    desk = desk_of(request)
    form = await request.post() if request.method == "POST" else None
    f = _filter(request, form)
    async with desk.app.db.reading() as s:
        page = await repo.queue_page(s, desk.app.campaign.year, f)
    now = desk.app.services.clock.now()
    waiting = {r.lab_id: (now - r.submitted_at).days for r in page.rows if r.status == "submitted" and r.submitted_at}
    return render(request, "queue.html", f=f, page=page, waiting=waiting, statuses=_STATUSES, sorts=repo.SORTS)


_STATUSES = ("submitted", "returned", "approved", "draft", repo.NO_ENROLLMENT)


@require("reviewer")
async def next_to_review(request: web.Request) -> web.StreamResponse:
    desk = desk_of(request)
    async with desk.app.db.reading() as s:
        lab_id = await repo.next_to_review(s, desk.app.campaign.year)
    raise web.HTTPSeeOther(f"/labs/{lab_id}" if lab_id else "/queue?msg=empty")


# -- a lab --------------------------------------------------------------------------------------------------
@require("reviewer")
async def lab_page(request: web.Request) -> web.StreamResponse:
    desk = desk_of(request)
    lab_id = int(request.match_info["lab_id"])
    return await _lab(request, desk, lab_id, request.query.get("msg"))


async def _lab(
    request: web.Request,
    desk: Desk,
    lab_id: int,
    msg: str | None,
    status: int = 200,
    typed: dict[str, Any] | None = None,
) -> web.Response:
    c = desk.app.campaign
    lang = lang_of(request)
    async with desk.app.db.transaction() as s:
        lab = await s.get(Lab, lab_id)
        if lab is None:
            raise web.HTTPNotFound(text="not found")
        p = await progress(s, c, lab, desk.app.services.clock.now())
        enr = p.enrollment
        contacts = await lab_contacts(s, lab.id, active_only=False)
        docs = list(
            await s.scalars(select(Document).where(Document.lab_id == lab.id).order_by(Document.kind, Document.id))
        )
        history = list(
            await s.scalars(
                select(Review)
                .where(Review.subject == "enrollment", Review.subject_id == enr.id)
                .order_by(Review.created_at.desc())
            )
        )
        audit = list(
            await s.scalars(select(AuditLog).where(AuditLog.lab_id == lab.id).order_by(AuditLog.at.desc()).limit(60))
        )
        names = await display_names(s, {a.actor for a in audit} | {r.reviewer for r in history})
    tests = _tests(desk, enr.last_year_tests or [], lang)
    catalog = desk.app.services.catalog

    def tr(key: str, **args: Any) -> str:
        return catalog.t(lang, key, **args)

    typed_ = typed_for_reading(tr, c, lab, (enr.invoice or {}).get("title"))
    active = [d for d in docs if d.status == "active"]
    readings = {
        d.id: document_lines(tr, d, n, lab, typed_)
        for kind in ("agreement", "licence")
        for n, d in enumerate((d for d in active if d.kind == kind), 1)
    }
    if enr.extra_tests:  # typed by the lab: not in the catalogue
        tests.append((desk.app.services.catalog.t(lang, "ck-extra-group"), list(enr.extra_tests)))
    sections = [
        (key, [(f.key, f.label, (getattr(enr, key) or {}).get(f.key)) for f in fields])
        for key, fields in FIELDS.items()
    ]
    return render(
        request,
        "lab.html",
        status=status,
        lab=lab,
        p=p,
        enr=enr,
        contacts=contacts,
        # The agreements, then this year's licence beside the one on file from earlier years.
        licences=[d for d in active if d.kind == "licence"],
        agreements=[d for d in active if d.kind != "licence"],
        readings=readings,
        old_docs=[d for d in docs if d.status != "active"],
        history=history,
        audit=audit,
        names=names,
        tests=tests,
        sections=sections,
        specialties=[
            (code, c.specialty_by_code[code].label(lang) if code in c.specialty_by_code else code)
            for code in enr.specialties or []
        ],
        declined=enr.mandatory_declined or [],
        type_label=c.type_by_code[lab.institution_type].label(lang)
        if lab.institution_type in c.type_by_code
        else lab.institution_type,
        level_label=c.level_by_code[lab.level].label(lang) if lab.level in c.level_by_code else (lab.level or "—"),
        reasons=[r for r in ENROLLMENT_REASONS if r != "other"],
        items=ITEMS,
        msg=msg,
        changed=_changed(audit),
        typed=typed or {"reasons": [], "note": "", "items": []},
    )


def _tests(desk: Desk, keys: list[str], lang: str) -> list[tuple[str, list[str]]]:
    index = desk.app.campaign.test_index
    grouped: dict[str, list[str]] = {}
    for key in keys:
        if key in index:
            spec, test = index[key]
            grouped.setdefault(spec.label(lang), []).append(test.label(lang))
        else:
            grouped.setdefault("?", []).append(key)
    return list(grouped.items())


def _changed(audit: list[AuditLog]) -> set[str]:
    """What the lab changed since the last decision (from the audit log, newest first): "checklist",
    "specialties", the plan's field keys, the document kinds. Nothing before a first decision: all is new then."""
    touched: set[str] = set()
    for entry in audit:
        if entry.action.startswith("review_"):
            return touched
        after = entry.after or {}
        if entry.action == "checklist_submitted":
            touched.add("checklist")
        elif entry.action == "specialties_changed":
            touched.add("specialties")
        elif entry.action == "plan_changed":
            touched.update(after)
        elif entry.action == "document_uploaded" and after.get("kind"):
            touched.add(str(after["kind"]))
    return set()


def _decision_message(res: staff_desk.Decided) -> str:
    return {"done": "done", "taken": "taken", "resent": "resent", "incomplete": "incomplete"}.get(
        res.status, "not-pending"
    )


def _int(value: Any) -> int | None:
    text = str(value or "")
    return int(text) if text.isdigit() else None


@require("reviewer")
async def approve(request: web.Request) -> web.StreamResponse:
    desk = desk_of(request)
    lab_id = int(request.match_info["lab_id"])
    form = await request.post()
    sid, rev = _int(form.get("enrollment")), _int(form.get("revision"))
    if sid is None or rev is None:
        raise web.HTTPBadRequest(text="bad form")
    ran = await run_as_account(
        request, lambda ctx: staff_desk.approve(ctx, sid, rev, review_platform=desk.review_platform)
    )
    msg = "approved" if ran.value.status == "done" else _decision_message(ran.value)
    raise web.HTTPSeeOther(f"/labs/{lab_id}?msg={msg}")


@require("reviewer")
async def return_(request: web.Request) -> web.StreamResponse:
    desk = desk_of(request)
    lab_id = int(request.match_info["lab_id"])
    form = await request.post()
    sid, rev = _int(form.get("enrollment")), _int(form.get("revision"))
    if sid is None or rev is None:
        raise web.HTTPBadRequest(text="bad form")
    reasons = [str(v) for v in form.getall("reason", [])]
    extra = [str(v) for v in form.getall("item", [])]
    note = str(form.get("note") or "").strip()[:300] or None
    chosen, _ = staff_desk.clean_return(reasons, note, extra)
    if not chosen:
        # Shown beside the form, with what was ticked kept.
        typed = {"reasons": reasons, "note": note or "", "items": extra}
        return await _lab(request, desk, lab_id, "choose-reason", status=422, typed=typed)
    ran = await run_as_account(
        request,
        lambda ctx: staff_desk.return_with_reasons(
            ctx, sid, rev, reasons, note, extra, review_platform=desk.review_platform
        ),
    )
    msg = "returned" if ran.value.status == "done" else _decision_message(ran.value)
    raise web.HTTPSeeOther(f"/labs/{lab_id}?msg={msg}")


# -- bulk approval ------------------------------------------------------------------------------------------
@require("reviewer")
async def bulk_confirm(request: web.Request) -> web.StreamResponse:
    desk = desk_of(request)
    form = await request.post()
    lab_ids = [i for i in (_int(v) for v in form.getall("lab", [])) if i is not None][:200]
    async with desk.app.db.reading() as s:
        pairs = await repo.pending_pairs(s, desk.app.campaign.year, lab_ids)
    return render(request, "bulk.html", pairs=pairs, result=None)


@require("reviewer")
async def bulk_approve(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    sel: list[tuple[int, int]] = []
    for value in form.getall("sel", [])[:200]:
        sid, _, rev = str(value).partition(".")
        if sid.isdigit() and rev.isdigit():
            sel.append((int(sid), int(rev)))

    async def run(ctx: Any) -> tuple[list[str], list[str]]:
        return await approve_many(ctx, sel)

    ran = await run_as_account(request, run)
    return render(request, "bulk.html", pairs=[], result=ran.value)


# -- documents ----------------------------------------------------------------------------------------------
async def _document(request: web.Request, what: str) -> tuple[Document, bytes]:
    """A document for a signed-in reviewer, decrypted from the store; each view is written to the audit log."""
    desk = desk_of(request)
    account: DeskAccount = request[ACCOUNT]
    doc_id = int(request.match_info["doc_id"])
    async with desk.app.db.transaction() as s:
        doc = await s.get(Document, doc_id)
        if doc is None or doc.status == "purged":
            raise web.HTTPNotFound(text="not found")
        actor = desk.actor(account)
        s.add(
            AuditLog(
                at=desk.app.services.clock.now(),
                actor=actor.ref,
                action="document_viewed",
                entity="document",
                entity_id=str(doc.id),
                lab_id=doc.lab_id,
                after={"kind": doc.kind, "how": what, "desk_account": account.name},
            )
        )
    try:
        data = await asyncio.to_thread(desk.app.services.store.get, doc.storage_key)
    except (OSError, ValueError, DocumentCorrupt) as exc:
        log.warning("document %s: stored file unreadable", doc.id)
        raise web.HTTPNotFound(text="not found") from exc
    return doc, data


def _file_response(data: bytes, mime: str, name: str, *, attachment: bool = False) -> web.Response:
    response = web.Response(body=data, content_type=mime)
    response.headers["Content-Disposition"] = f'{"attachment" if attachment else "inline"}; filename="{name}"'
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@require("reviewer")
async def document_view(request: web.Request) -> web.StreamResponse:
    """A photo turned upright (EXIF), as JPEG; a PDF's first page as an image (see /page/N)."""
    doc, data = await _document(request, "view")
    if doc.mime == "application/pdf":
        png = await asyncio.to_thread(render_pdf_page, data, 0)
        return _file_response(png, "image/png", f"{doc.kind}-{doc.id}-1.png")
    try:
        upright = await asyncio.to_thread(oriented_jpeg, data)
    except (ValueError, OSError):
        raise web.HTTPUnsupportedMediaType(text="not an image") from None
    return _file_response(upright, "image/jpeg", f"{doc.kind}-{doc.id}.jpg")


@require("reviewer")
async def document_page(request: web.Request) -> web.StreamResponse:
    doc, data = await _document(request, "page")
    n = int(request.match_info["n"])
    if doc.mime != "application/pdf" or n < 1 or n > MAX_PDF_PAGES:
        raise web.HTTPNotFound(text="not found")
    try:
        png = await asyncio.to_thread(render_pdf_page, data, n - 1)
    except IndexError:
        raise web.HTTPNotFound(text="no such page") from None
    return _file_response(png, "image/png", f"{doc.kind}-{doc.id}-{n}.png")


@require("reviewer")
async def document_file(request: web.Request) -> web.StreamResponse:
    doc, data = await _document(request, "download")
    ext = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}.get(doc.mime, "bin")
    return _file_response(data, doc.mime, f"{doc.kind}-{doc.id}.{ext}", attachment=True)


def render_pdf_page(data: bytes, index: int) -> bytes:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        if index >= len(pdf):
            raise IndexError(index)
        bitmap = pdf[index].render(scale=PDF_SCALE)
        out = io.BytesIO()
        bitmap.to_pil().save(out, "PNG", optimize=False)
        return out.getvalue()
    finally:
        pdf.close()


def pdf_pages(data: bytes) -> int:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        return min(len(pdf), MAX_PDF_PAGES)
    finally:
        pdf.close()


# -- the dashboard ------------------------------------------------------------------------------------------
@require("reviewer")
async def dashboard(request: web.Request) -> web.StreamResponse:
    desk = desk_of(request)
    c = desk.app.campaign
    lang = lang_of(request)
    async with desk.app.db.reading() as s:
        d = await repo.dashboard(s, c.year, c.previous_year, c.tz)
    today = desk.app.services.clock.now().astimezone(c.tz).date()
    # Without an opening date in the notice the chart starts at the first submission (or a month back).
    first = c.opens or min(d.submitted_per_day, default=min(today, c.deadline) - timedelta(days=30))
    days = max(1, (c.deadline - first).days + 1)
    dates = [first + timedelta(days=i) for i in range(days)]
    cumulative = charts.cumulative(dates, d.submitted_per_day, today)
    projection = charts.projection(dates, cumulative, today, d.labs)
    spec_labels = [
        (s.label(lang), d.specialty.get(s.code, 0), d.specialty_last_year.get(s.code, 0)) for s in c.specialties
    ]
    return render(
        request,
        "dashboard.html",
        d=d,
        line=charts.line_chart(dates, cumulative, projection, d.labs, today),
        steps=charts.bars(
            [
                ("desk-step-checklist", d.checklist_done),
                ("desk-step-plan", d.plan_done),
                ("desk-step-documents", d.documents_done),
                ("desk-step-submitted", d.by_status.get("submitted", 0) + d.by_status.get("approved", 0)),
                ("desk-step-approved", d.by_status.get("approved", 0)),
            ],
            d.labs,
        ),
        cities=charts.stacked(sorted(d.by_city.items()), _STATUSES),
        types=charts.stacked(
            [(c.type_by_code[k].label(lang) if k in c.type_by_code else k, v) for k, v in sorted(d.by_type.items())],
            _STATUSES,
        ),
        specialties=charts.paired(spec_labels),
        throughput=charts.daily_bars(dates, d.decided_per_day, today),
        statuses=_STATUSES,
        not_started=d.not_started[:50],
        days_left=c.days_left(desk.app.services.clock.now()),
    )


# -- new-lab applications -----------------------------------------------------------------------------------
@require("reviewer")
async def applications(request: web.Request) -> web.StreamResponse:
    desk = desk_of(request)
    async with desk.app.db.reading() as s:
        pending = list(
            await s.scalars(
                select(Application)
                .where(Application.year == desk.app.campaign.year, Application.status == "pending")
                .order_by(Application.submitted_at)
            )
        )
    return render(request, "applications.html", pending=pending)


@require("reviewer")
async def application_page(request: web.Request) -> web.StreamResponse:
    """The chat desk's own card of the application (`handlers.review_cards.application_card`), and the decision."""
    app_id = int(request.match_info["app_id"])

    async def card(ctx: Any) -> tuple[Application, str] | None:
        row = await ctx.session.get(Application, app_id)
        return (row, await application_card(ctx, row, ctx.lang)) if row is not None else None

    ran = await run_as_account(request, card)
    if ran.value is None:
        raise web.HTTPNotFound(text="not found")
    row, text = ran.value
    reasons = [r for r in APPLICATION_REASONS if r != "other"]
    return render(request, "application.html", a=row, card=text, reasons=reasons, msg=request.query.get("msg"))


@require("reviewer")
async def application_decide(request: web.Request) -> web.StreamResponse:
    desk = desk_of(request)
    app_id = int(request.match_info["app_id"])
    form = await request.post()
    rev = _int(form.get("revision"))
    verdict = request.match_info["verdict"]
    if rev is None or verdict not in ("approve", "return"):
        raise web.HTTPBadRequest(text="bad form")
    note = str(form.get("note") or "").strip()[:300] or None
    reasons = [r for r in APPLICATION_REASONS if r in {str(v) for v in form.getall("reason", [])} and r != "other"]
    if note:
        reasons.append("other")
    if verdict == "return" and not reasons:
        raise web.HTTPSeeOther(f"/applications/{app_id}?msg=choose-reason")

    async def run(ctx: Any) -> staff_desk.Decided:
        decision = "approved" if verdict == "approve" else "returned"
        res = await decide(ctx, "application", app_id, rev, decision, reasons if verdict == "return" else (), note)
        tell_review_chat(ctx, "application", app_id, res, desk.review_platform)
        return res

    ran = await run_as_account(request, run)
    res = ran.value
    if res.status == "done" and res.lab_id:
        raise web.HTTPSeeOther(f"/labs/{res.lab_id}?msg=app-approved")
    msg = ("returned" if verdict == "return" else "approved") if res.status == "done" else _decision_message(res)
    raise web.HTTPSeeOther(f"/applications/{app_id}?msg={msg}")
