"""The admin's pages: the Excel export, the roster import, binding codes with a printable sheet, the broadcast
composer, reviewers and their roles. Each runs the chat desk's own service (`handlers.admin_roster`,
`handlers.admin_export`, `handlers.broadcasts`) through `handlers.staff_desk.run_as`, so a file, a count or a
refusal is exactly what the chat would give."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from bot.desk.server import ACCOUNT, Desk, desk_of, lang_of, render, require, run_as_account
from conversations.audience import STATUSES, Audience, count
from conversations.context import Ctx
from conversations.events import FileOut, Outbound, Reply, SendDocument
from handlers import admin_export, admin_roster, broadcasts
from storage.models import Broadcast, Staff
from storage.repos import desk as repo
from storage.repos.outbox import counts as outbox_counts

MAX_ROSTER = 10 * 1024 * 1024


def setup(app: web.Application) -> None:
    app.router.add_get("/admin", index)
    app.router.add_post("/admin/export", export)
    app.router.add_get("/admin/import", import_form)
    app.router.add_post("/admin/import", import_roster)
    app.router.add_post("/admin/codes", issue_codes)
    app.router.add_get("/admin/broadcast", broadcast_form)
    app.router.add_post("/admin/broadcast", broadcast_preview)
    app.router.add_get("/admin/broadcast/{bid:\\d+}", broadcast_progress)
    app.router.add_post("/admin/broadcast/{bid:\\d+}/stop", broadcast_stop)
    app.router.add_get("/files/{token}", generated_file)


def _split(local: list[Outbound]) -> tuple[list[str], list[FileOut]]:
    texts = [a.text for a in local if isinstance(a, Reply)]
    files = [a.file for a in local if isinstance(a, SendDocument) and a.file.data is not None]
    return texts, files


def _keep(request: web.Request, files: list[FileOut]) -> list[tuple[str, str]]:
    desk: Desk = desk_of(request)
    return [(f.filename, desk.keep_file(request[ACCOUNT], f.filename, f.mime, f.data or b"")) for f in files]


@require("admin")
async def index(request: web.Request) -> web.StreamResponse:
    desk = desk_of(request)
    async with desk.app.db.reading() as s:
        accounts = await repo.accounts(s)
        staff = list(await s.scalars(select(Staff).order_by(Staff.granted_at)))
        recent = list(await s.scalars(select(Broadcast).order_by(Broadcast.id.desc()).limit(5)))
    return render(
        request,
        "admin.html",
        accounts=accounts,
        staff=staff,
        admin_ids=sorted(desk.app.services.admin_ids),
        recent=recent,
    )


@require("admin")
async def export(request: web.Request) -> web.StreamResponse:
    desk, lang = desk_of(request), lang_of(request)
    catalog = desk.app.services.catalog
    # Made before the transaction, in a read-only session: on SQLite a transaction would stop every chat.
    async with desk.app.db.reading() as s:
        made = await admin_export.export_workbook(
            s, desk.app.campaign, lambda key, **a: catalog.t(lang, key, **a), lang
        )
    ran = await run_as_account(request, admin_export.send_export, prepared={"export": made})
    _, files = _split(ran.local)
    if not files:
        raise web.HTTPInternalServerError(text="export failed")
    f = files[0]
    response = web.Response(body=f.data, content_type=f.mime)
    response.headers["Content-Disposition"] = f'attachment; filename="{f.filename}"'
    return response


@require("admin")
async def import_form(request: web.Request) -> web.StreamResponse:
    return render(request, "import.html", texts=[], files=[], error=None)


@require("admin")
async def import_roster(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    upload = form.get("roster")
    if not isinstance(upload, web.FileField):
        return render(request, "import.html", status=422, texts=[], files=[], error="desk-import-choose")
    data = upload.file.read(MAX_ROSTER + 1)
    if len(data) > MAX_ROSTER:
        return render(request, "import.html", status=422, texts=[], files=[], error="desk-import-too-big")
    name = (upload.filename or "roster.xlsx")[:120]
    prepared = await admin_roster.read_roster_upload(desk_of(request).app.services, lang_of(request), data)
    ran = await run_as_account(request, admin_roster.on_import_file, upload=(data, name), prepared=prepared)
    texts, files = _split(ran.local)
    return render(request, "import.html", texts=texts, files=_keep(request, files), error=None)


@require("admin")
async def issue_codes(request: web.Request) -> web.StreamResponse:
    """The next batch of binding codes for roster labs nobody has bound, as the import issues them: the sheet as
    Excel and as a printable PDF for mailing."""

    async def run(ctx: Ctx) -> None:
        await admin_roster.codes_batch(ctx, [])

    ran = await run_as_account(request, run)
    texts, files = _split(ran.local)
    kept = _keep(request, files)
    for f in files:
        # After the transaction: the QR-code API call may have to store a fresh access token.
        rows = await asyncio.to_thread(_sheet_rows, f.data or b"")
        qrs = await _wechat_qrs(request, rows)
        pdf = await asyncio.to_thread(code_sheet_pdf, rows, desk_of(request).app.campaign.title, qrs)
        kept.append(
            (
                f.filename.replace(".xlsx", ".pdf"),
                desk_of(request).keep_file(
                    request[ACCOUNT], f.filename.replace(".xlsx", ".pdf"), "application/pdf", pdf
                ),
            )
        )
    return render(request, "import.html", texts=texts, files=kept, error=None)


def _sheet_rows(xlsx: bytes) -> list[list[str]]:
    """The workbook's cells as text, read once for the QR codes and the printed sheet."""
    import io

    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(xlsx), read_only=True)
    return [[("" if v is None else str(v)) for v in row] for row in wb.active.iter_rows(values_only=True)]


async def _wechat_qrs(request: web.Request, rows: list[list[str]]) -> tuple[str, list[str]] | None:
    """With WeChat configured, each row's binding QR (scan = follow the account + bind): (header, contents)."""
    services = desk_of(request).app.services
    if services.binding_qrs is None:
        return None
    from bot.wechat.run import QR_DAYS

    # The "how to bind" column holds "/start HN0001_CODE": its argument is the QR's scene.
    scenes = [next((v.removeprefix("/start ") for v in row if v.startswith("/start ")), "") for row in rows[1:]]
    urls = await services.binding_qrs(scenes)
    lang = lang_of(request)
    missing = services.catalog.t(lang, "adm-code-no-qr")
    return services.catalog.t(lang, "adm-col-wechat-qr", days=QR_DAYS), [u or missing for u in urls]


def code_sheet_pdf(rows: list[list[str]], title: str, qrs: tuple[str, list[str]] | None = None) -> bytes:
    """The codes sheet (the rows of the workbook the chat desk sends) as an A4 table to print and mail;
    `qrs`: a column of WeChat binding QR codes, drawn as codes to scan."""
    from storage.code_sheet import code_sheet

    header, body = (rows[0] if rows else []), rows[1:]
    if qrs is not None:
        header = [*header, qrs[0]]
        body = [[*row, url] for row, url in zip(body, qrs[1], strict=True)]
    return code_sheet(title, header, body)


# -- broadcasts ---------------------------------------------------------------------------------------------
def _audience(form: Any) -> Audience | None:
    kind = str(form.get("audience") or "unfinished")
    value = str(form.get("value") or "") or None
    try:
        return Audience(kind=kind, value=value if kind in ("status", "city", "type") else None)  # type: ignore[arg-type]
    except ValueError:
        return None


@require("admin")
async def broadcast_form(request: web.Request) -> web.StreamResponse:
    # "Remind these" on the dashboard opens the composer on the unfinished labs (or another audience).
    audience = _audience(request.query) or Audience()
    return render(request, "broadcast.html", text="", audience=audience, preview=None, error=None, statuses=STATUSES)


@require("admin")
async def broadcast_preview(request: web.Request) -> web.StreamResponse:
    """Preview with the count; "send" confirms. The broadcast itself is `handlers.broadcasts._confirm`, the
    chat's own step, run with the composed text and audience."""
    desk = desk_of(request)
    form = await request.post()
    text = str(form.get("text") or "").strip()
    audience = _audience(form)
    error = None
    if not text:
        error = "desk-bc-empty"
    elif len(text) > broadcasts.MAX_TEXT:
        error = "desk-bc-long"
    elif audience is None:
        error = "desk-bc-audience-bad"
    else:
        try:
            audience.check(desk.app.campaign)
        except ValueError:
            error = "desk-bc-audience-bad"
    if error or audience is None:
        return render(
            request,
            "broadcast.html",
            status=422,
            text=text,
            audience=audience or Audience(),
            preview=None,
            error=error,
            statuses=STATUSES,
        )
    lang = lang_of(request)
    if form.get("send") == "1":

        async def send(ctx: Ctx) -> int | None:
            before = await ctx.session.scalar(select(func.max(Broadcast.id)))
            ctx.state.data = {"text": text, "audience": audience.to_dict(), "kind": "broadcast"}
            await broadcasts._confirm(ctx)
            after = await ctx.session.scalar(select(func.max(Broadcast.id)))
            return after if after is not None and after != before else None

        ran = await run_as_account(request, send)
        if ran.value is None:
            return render(
                request,
                "broadcast.html",
                status=422,
                text=text,
                audience=audience,
                preview=None,
                error="desk-bc-nobody",
                statuses=STATUSES,
            )
        raise web.HTTPSeeOther(f"/admin/broadcast/{ran.value}")
    async with desk.app.db.reading() as s:
        labs, people = await count(s, desk.app.campaign, audience)
    message, _ = broadcasts.recipient_message(desk.app.services.catalog, lang, desk.app.campaign, "broadcast", text)
    return render(
        request,
        "broadcast.html",
        text=text,
        audience=audience,
        preview={"message": message, "labs": labs, "people": people},
        error=None,
        statuses=STATUSES,
    )


async def _progress(desk: Desk, bid: int) -> tuple[Broadcast, dict[str, int]]:
    async with desk.app.db.reading() as s:
        bc = await s.get(Broadcast, bid)
        if bc is None:
            raise web.HTTPNotFound(text="not found")
        return bc, await outbox_counts(s, bid)


@require("admin")
async def broadcast_progress(request: web.Request) -> web.StreamResponse:
    bc, tally = await _progress(desk_of(request), int(request.match_info["bid"]))
    total = sum(tally.values()) or 1
    done = sum(v for k, v in tally.items() if k not in ("pending", "claimed", "sending"))
    template = "broadcast_progress.html" if "HX-Request" not in request.headers else "broadcast_tally.html"
    return render(request, template, bc=bc, tally=tally, total=total, pct=round(100 * done / total))


@require("admin")
async def broadcast_stop(request: web.Request) -> web.StreamResponse:
    bid = int(request.match_info["bid"])

    async def stop(ctx: Ctx) -> None:
        await broadcasts.broadcast_button(ctx, f"stop:{bid}")

    await run_as_account(request, stop)
    raise web.HTTPSeeOther(f"/admin/broadcast/{bid}")


@require("admin")
async def generated_file(request: web.Request) -> web.StreamResponse:
    desk = desk_of(request)
    f = desk.files.get(request.match_info["token"])
    if f is None or f.account_id != request[ACCOUNT].id:
        raise web.HTTPNotFound(text="gone")
    response = web.Response(body=f.data, content_type=f.mime)
    response.headers["Content-Disposition"] = f'attachment; filename="{f.name}"'
    return response
