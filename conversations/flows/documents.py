"""Step 3: the fee-deferral agreement (generated pre-filled, printed, signed and stamped, sent back) and
the practice licence.

Each upload is pre-checked (a file we can use at all; then resolution, blur, a red seal) and the contact
is told "looks fine" or what to retake. Pre-checks advise; only unusable files are refused. A licence on
file, unchanged and valid when the samples go out, need not be sent again; one that expires before then
must be replaced. Several files at once (an album) arrive together and get one answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import date
from typing import Any

from sqlalchemy import update

from conversations import validators
from conversations.context import Ctx
from conversations.events import Button, FileOut, FileRef, SendDocument
from conversations.flow import Flow, Prepare, Step, go, register
from conversations.flows import journey
from conversations.formatting import day, join
from conversations.progress import Progress
from conversations.reading import finding_text, read_upload
from storage.heavy import run_heavy
from storage.images import Precheck, precheck
from storage.models import Document, Enrollment, Lab
from storage.reading import Finding, Reading
from storage.repos.enrollments import enrollment
from storage.review_copy import RenderFailed, review_copies

KINDS = ("agreement", "licence")
_UNSAFE_NAME = re.compile(r"[^\w.\-() \u4e00-\u9fff]")


def _buttons_overview(ctx: Ctx, p: Progress) -> list[list[Button]]:
    rows = [[ctx.btn(ctx.t("doc-download"), "pdf")]]
    rows.append([ctx.btn(ctx.t("doc-send-agreement"), "up", "agreement")])
    if p.licence_from_earlier and not p.licence and "licence" not in p.returned:
        rows.append([ctx.btn(ctx.t("doc-keep-licence"), "keep")])
    rows.append([ctx.btn(ctx.t("doc-send-licence"), "up", "licence")])
    if p.documents_done:
        rows.insert(0, [ctx.btn(ctx.t("doc-next"), "next")])
    rows.append([ctx.gbtn(ctx.t("btn-menu"), "go", "menu")])
    return rows


async def _guard(ctx: Ctx, item: str = "documents") -> bool:
    if journey.refuse_unbound(ctx) or journey.refuse_closed(ctx):
        return True
    enr = await journey.current_enrollment(ctx)
    if enr.status == "returned" and item == "documents":
        item = next((k for k in KINDS if k in (enr.returned_items or [])), item)
    return await journey.refuse_locked(ctx, item)


def _doc_line(ctx: Ctx, docs: tuple[Document, ...]) -> str:
    if not docs:
        return ctx.t("doc-none")
    fine = sum(1 for d in docs if not d.precheck.get("advice"))
    return ctx.t("doc-pages", count=len(docs), fine=fine)


def _refused(p: Progress, kind: str) -> tuple[Document, ...]:
    return tuple(d for d in p.refused if d.kind == kind)


def _refused_line(ctx: Ctx, p: Progress, kind: str) -> str | None:
    """After a return: the files the centre refused, as refused (never "looks fine"), and what is due."""
    refused = _refused(p, kind)
    if not refused or kind not in p.returned:
        return None
    return ctx.t("doc-refused-line", count=len(refused))


async def show_overview(ctx: Ctx) -> None:
    if await _guard(ctx):
        return
    lab, p = await journey.lab_and_progress(ctx)
    lines = [ctx.t("doc-title", licence=ctx.campaign.licence_name(lab.institution_type, ctx.lang)), ""]
    lines.append(
        ("✅ " if p.agreement_done else "⬜ ") + ctx.t("doc-agreement-line", state=_doc_line(ctx, p.agreement))
    )
    if refused := _refused_line(ctx, p, "agreement"):
        lines.append("　" + refused)
    if p.licence_expired:
        until = day(lab.licence_valid_to, ctx.lang)  # type: ignore[arg-type]
        licence_state = ctx.t("doc-licence-expired", until=until, basis=ctx.campaign.licence_basis)
    elif p.licence:
        licence_state = _doc_line(ctx, p.licence)
        if lab.licence_valid_to:
            licence_state += ctx.t("doc-valid-until", until=day(lab.licence_valid_to, ctx.lang))
    elif p.licence_on_file:
        licence_state = ctx.t("doc-licence-kept", until=day(lab.licence_valid_to, ctx.lang))  # type: ignore[arg-type]
    elif p.licence_from_earlier:
        licence_state = ctx.t("doc-licence-on-file", until=day(lab.licence_valid_to, ctx.lang))  # type: ignore[arg-type]
    else:
        licence_state = ctx.t("doc-none")
    lines.append(("✅ " if p.licence_done else "⬜ ") + ctx.t("doc-licence-line", state=licence_state))
    if refused := _refused_line(ctx, p, "licence"):
        lines.append("　" + refused)
    if p.returned:
        lines += ["", ctx.t("doc-returned", items=join((ctx.t(f"item-{i}") for i in p.returned), ctx.lang))]
    lines += ["", ctx.t("doc-how")]
    ctx.show("\n".join(lines), _buttons_overview(ctx, p))


async def on_overview_button(ctx: Ctx, action: str, arg: str) -> None:
    if await _guard(ctx):
        return
    if action == "pdf":
        await send_agreement_pdf(ctx)
        return
    if action == "back":  # "返回资料列表" under the downloaded agreement
        await show_overview(ctx)
        return
    if action == "up" and arg in KINDS:
        if await _guard(ctx, arg):
            return
        await go(ctx, arg)
        return
    if action == "keep":
        lab, p = await journey.lab_and_progress(ctx)
        if not p.licence_from_earlier:
            await show_overview(ctx)
            return
        enr = p.enrollment
        enr.lab_info = {**enr.lab_info, "licence_unchanged": True}
        ctx.audit("licence_kept", "enrollment", enr.id, lab_id=lab.id, after={"valid_to": lab.licence_valid_to})
        ctx.toast(ctx.t("doc-kept-toast"))
        await _after_change(ctx)
        return
    if action == "next":
        _, p = await journey.lab_and_progress(ctx)
        if p.documents_done:
            ctx.end()
            await journey.resume(ctx)
        else:
            await show_overview(ctx)
        return
    ctx.toast(ctx.t("button-unknown"))


async def send_agreement_pdf(ctx: Ctx) -> None:
    """The lab's own agreement, pre-filled, to print, sign and stamp."""
    from storage.pdf import AgreementData, render_agreement  # reportlab (~15 MB) is loaded once a PDF is made

    lab, p = await journey.lab_and_progress(ctx)
    c = ctx.campaign
    names = [c.specialty_by_code[s].name for s in p.enrollment.specialties or [] if s in c.specialty_by_code]
    info, invoice = p.enrollment.lab_info or {}, p.enrollment.invoice or {}
    data = AgreementData(
        centre=c.centre,
        title=c.fees.agreement_title,
        year=c.year,
        lab_code=lab.code,
        lab_name=str(info.get("name") or lab.name),
        institution=c.type_by_code[lab.institution_type].name if lab.institution_type in c.type_by_code else "",
        specialties=names,
        body=[text.replace("{licence}", c.licence_name(lab.institution_type, "zh")) for text in c.fees.agreement_body],
        generated_on=ctx.now.astimezone(c.tz).date(),
        document_id=f"{c.id}-{lab.code}",
        # The agreement is the centre's Chinese legal text whoever downloads it; the receipt follows the reader.
        labels=journey.pdf_labels(ctx, "zh"),
        # 乙方 is the institution whose seal goes on it: the invoice title is its name as its finance office
        # gives it (step 2); the department, its head and address as confirmed in step 2.
        organisation=str(invoice.get("title") or ""),
        credit_code=str(invoice.get("taxpayer_id") or lab.credit_code or ""),
        address=str(info.get("address") or lab.address or ""),
        head=str(info.get("head") or ""),
    )
    pdf = await asyncio.to_thread(render_agreement, data)
    key = ctx.services.store.put(pdf)
    ctx.send(
        SendDocument(
            FileOut(filename=f"{c.year}-缓交协议-{lab.code}.pdf", mime="application/pdf", stored=key),
            caption=ctx.t("doc-pdf-caption"),
        )
    )
    ctx.audit("agreement_generated", "lab", lab.id, lab_id=lab.id, after={"sha256": key})
    ctx.toast(ctx.t("doc-pdf-toast"))
    ctx.say(
        ctx.t("doc-pdf-next"),
        [[ctx.btn(ctx.t("doc-send-agreement"), "up", "agreement")], [ctx.btn(ctx.t("doc-back"), "back")]],
    )
    ctx.state.data["pdf_sent"] = True


# -- uploads ----------------------------------------------------------------------------------------------
async def show_upload(ctx: Ctx) -> None:
    kind = ctx.state.step or "agreement"
    if await _guard(ctx, kind):
        return
    lab, p = await journey.lab_and_progress(ctx)
    # Only files received since the centre's decision count: refused ones are neither counted nor "done".
    docs = p.agreement if kind == "agreement" else p.licence
    rows = [[ctx.btn(ctx.t("doc-back"), "back")]]
    if docs:
        rows.insert(0, [ctx.btn(ctx.t("doc-done", kind=ctx.t(f"item-{kind}")), "done")])
        rows.insert(1, [ctx.btn(ctx.t("doc-clear"), "clear")])
    # A channel may word the request its own way ("doc-ask-agreement--wechat": an official account takes
    # photos only, one per page).
    ask = f"doc-ask-{kind}"
    if ctx.services.catalog.has(f"{ask}--{ctx.event.platform}", ctx.lang):
        ask = f"{ask}--{ctx.event.platform}"
    lines = [ctx.t(ask, licence=ctx.campaign.licence_name(lab.institution_type, ctx.lang))]
    if refused := _refused_line(ctx, p, kind):
        lines.append(refused)
    if docs:
        lines.append(_doc_line(ctx, docs))
    ctx.show("\n".join(lines), rows)


async def on_upload_button(ctx: Ctx, action: str, arg: str) -> None:
    kind = ctx.state.step or "agreement"
    if action == "back":
        await go(ctx, "overview")
        return
    if await _guard(ctx, kind):
        return
    if action == "more":
        await show_upload(ctx)
        return
    enr = await journey.current_enrollment(ctx)
    if action == "clear":
        ids = await _supersede(ctx, enr, kind)
        ctx.audit("documents_cleared", "enrollment", enr.id, lab_id=enr.lab_id, after={"kind": kind, "ids": ids})
        await show_upload(ctx)
        return
    if action == "done":
        _, p = await journey.lab_and_progress(ctx)
        docs = p.agreement if kind == "agreement" else p.licence
        if not docs:
            await show_upload(ctx)
            return
        if kind == "licence":
            await go(ctx, "licence_valid")
            return
        journey.fixed(enr, "agreement")
        await _after_change(ctx)
        return
    ctx.toast(ctx.t("button-unknown"))


async def on_upload_file(ctx: Ctx) -> None:
    kind = ctx.state.step or "agreement"
    if await _guard(ctx, kind):
        return
    ref = ctx.event.file
    assert ref is not None
    data = await ctx.download()
    await _accept_files(ctx, kind, [(ref, data)])


async def on_upload_album(ctx: Ctx) -> None:
    kind = ctx.state.step or "agreement"
    if await _guard(ctx, kind):
        return
    files = [(ref, ctx.services.store.get(ref.stored or "")) for ref in ctx.event.files]
    await _accept_files(ctx, kind, files)


async def _accept_files(ctx: Ctx, kind: str, files: list[tuple[FileRef, bytes]]) -> None:
    enr = await journey.current_enrollment(ctx)
    lab = await ctx.session.get(Lab, enr.lab_id)
    assert lab is not None
    done: dict[str, Precheck] = ctx.prepared.get("prechecks", {})
    results = []
    for _, data in files:
        # Normally checked before the transaction (prepare_upload); only a race (the step changed
        # meanwhile) leaves one to check here, still one at a time in the heavy-work pool.
        check = done.get(_check_key(kind, data))
        results.append(check if check is not None else await run_heavy(precheck, data, purpose=kind))  # type: ignore[arg-type]
    lines: list[str] = []
    stored: list[int] = []
    _, p = await journey.lab_and_progress(ctx)
    existing = {d.sha256 for d in (p.agreement if kind == "agreement" else p.licence)}
    refused = {d.sha256 for d in _refused(p, kind)} if kind in p.returned else set()
    for n, ((ref, data), check) in enumerate(zip(files, results, strict=True), start=1):
        prefix = ctx.t("doc-file-n", n=n) if len(files) > 1 else ""
        if not check.accepted:
            lines.append(prefix + "❌ " + ctx.t(check.issues[0], **check.args))
            continue
        if check.sha256 in refused:
            lines.append(prefix + "❌ " + ctx.t("doc-refused-again"))
            continue
        if check.sha256 in existing:
            lines.append(prefix + ctx.t("doc-duplicate"))
            continue
        key = _check_key(kind, data)
        readings: dict[str, Reading | None] = ctx.prepared.get("readings", {})
        # Read before the transaction (prepare_upload); only a race leaves one to read here.
        reading = readings[key] if key in readings else await read_upload(ctx.services, ctx.lang, kind, data, lab, enr)
        if reading is not None and reading.refusal is not None:
            # Another year's or another lab's agreement: never this registration's.
            refusal = reading.refusal
            lines.append(prefix + "❌ " + finding_text(ctx, refusal))
            after = {"kind": kind, "reading": refusal.code}
            ctx.audit("document_refused", "enrollment", enr.id, lab_id=lab.id, after=after)
            continue
        await _retire_replaced(ctx, enr, kind)
        doc = await _store(ctx, lab, enr, kind, ref, data, check)
        if reading is not None:
            doc.reading = reading.as_dict()
        stored.append(doc.id)
        existing.add(check.sha256)
        advice = [ctx.t(i, **check.args) for i in check.advice]
        # What was read, as advice the lab may override (recorded for the reviewer either way).
        read = [f for f in (reading.warnings if reading else ()) if not _said(f, check)]
        advice += [finding_text(ctx, f) for f in read]
        fine = check.looks_fine and not read
        verdict = ctx.t("pre-looks-fine") if fine else ctx.t("doc-advice", advice=" ".join(advice))
        lines.append(prefix + ("✅ " if fine else "⚠️ ") + verdict)
    if stored:
        ctx.signal("documents_uploaded", enrollment_id=enr.id, document_ids=stored)
    _, p = await journey.lab_and_progress(ctx)
    docs = p.agreement if kind == "agreement" else p.licence
    if not docs and (still := _refused_line(ctx, p, kind)):
        lines.append(still)
    lines.append(_doc_line(ctx, docs))
    rows: list[list[Button]] = []
    if docs:
        rows.append([ctx.btn(ctx.t("doc-done", kind=ctx.t(f"item-{kind}")), "done")])
        rows.append([ctx.btn(ctx.t("doc-more"), "more"), ctx.btn(ctx.t("doc-clear"), "clear")])
    rows.append([ctx.btn(ctx.t("doc-back"), "back")])
    ctx.say("\n".join(lines), rows)


def _said(finding: Finding, check: Precheck) -> bool:
    """A finding the pre-check has already put to the lab in its own words."""
    return finding.code == "read-seal-not-in-box" and "pre-no-seal" in check.advice


def _check_key(kind: str, data: bytes) -> str:
    return f"{kind}:{hashlib.sha256(data).hexdigest()}"


def _prepared_copies(ctx: Ctx, kind: str, data: bytes) -> list[str] | None:
    copies: dict[str, list[str]] = ctx.prepared.get("review_copies", {})
    return copies.get(_check_key(kind, data))


async def prepare_upload(p: Prepare) -> dict[str, Any]:
    """Before the transaction, one file at a time in the heavy-work pool: pre-check each file, draw the
    copy reviewers will be shown (storage.review_copy), kept in the store under its own key, and read it
    (conversations.reading) when reading is on."""
    if p.step not in KINDS:
        return {}
    checks: dict[str, Precheck] = {}
    copies: dict[str, list[str]] = {}
    readings: dict[str, Reading | None] = {}
    lab = enr = None
    if p.services.reading and p.lab_id is not None:
        async with p.reading() as session:
            lab = await session.get(Lab, p.lab_id)
            enr = await enrollment(session, p.lab_id, p.services.campaign.year)
    for _, data in p.files:
        key = _check_key(p.step, data)
        if key in checks:
            continue
        checks[key] = check = await run_heavy(precheck, data, purpose=p.step)  # type: ignore[arg-type]
        if not check.accepted:
            continue
        try:
            drawn = await run_heavy(review_copies, data)
        except RenderFailed:
            drawn = []  # reviewers are told; the sender's file is never forwarded instead
        copies[key] = [await asyncio.to_thread(p.services.store.put, image) for image in drawn]
        if lab is not None and enr is not None:
            readings[key] = await read_upload(p.services, p.lang, p.step, data, lab, enr)
    return {"prechecks": checks, "review_copies": copies, "readings": readings}


async def _store(
    ctx: Ctx, lab: Lab, enr: Enrollment, kind: str, ref: FileRef, data: bytes, check: Precheck
) -> Document:
    key = ref.stored or ctx.services.store.put(data)
    doc = Document(
        lab_id=lab.id,
        enrollment_id=enr.id,
        kind=kind,
        status="active",
        sha256=check.sha256,
        size=check.size,
        mime=check.mime,
        storage_key=key,
        original_name=_UNSAFE_NAME.sub("_", ref.name)[:120] if ref.name else None,
        precheck={
            "kind": check.kind,
            "issues": list(check.issues),
            "advice": list(check.advice),
            "width": check.width,
            "height": check.height,
            "pages": check.pages,
            "blur": check.blur_score,
            "seal": check.seal_score,
            # What reviewers are shown (drawn before the transaction); absent: drawn when they are sent.
            **({"review_copies": copies} if (copies := _prepared_copies(ctx, kind, data)) is not None else {}),
        },
        platform_file_id=ref.file_id if not ref.file_id.startswith("/") else None,
        uploaded_by=ctx.actor.ref,
        created_at=ctx.now,
    )
    ctx.session.add(doc)
    await ctx.session.flush()
    if kind == "licence" and enr.lab_info.get("licence_unchanged"):
        enr.lab_info = {**enr.lab_info, "licence_unchanged": False}
    ctx.audit("document_uploaded", "document", doc.id, lab_id=lab.id, after={"kind": kind, "sha256": check.sha256})
    return doc


async def _supersede(ctx: Ctx, enr: Enrollment, kind: str) -> list[int]:
    """Retire this year's active documents of a kind (kept for the record, no longer submitted)."""
    query = update(Document).where(
        Document.lab_id == enr.lab_id,
        Document.enrollment_id == enr.id,
        Document.kind == kind,
        Document.status == "active",
    )
    result = await ctx.session.execute(query.values(status="superseded").returning(Document.id))
    return list(result.scalars())


async def _retire_replaced(ctx: Ctx, enr: Enrollment, kind: str) -> None:
    """A new licence replaces earlier years' licences. (Files the centre returned are already out: the
    decision marked them refused.)"""
    if kind == "licence":
        await ctx.session.execute(
            update(Document)
            .where(
                Document.lab_id == enr.lab_id,
                Document.kind == kind,
                Document.status == "active",
                Document.enrollment_id.is_distinct_from(enr.id),
            )
            .values(status="superseded")
        )


# -- the licence's validity ---------------------------------------------------------------------------------
async def show_valid(ctx: Ctx) -> None:
    if await _guard(ctx, "licence"):
        return
    lab, _ = await journey.lab_and_progress(ctx)
    rows = []
    if ctx.campaign.licence_still_valid(lab.licence_valid_to):
        rows.append([ctx.btn(ctx.t("doc-valid-same", until=day(lab.licence_valid_to, ctx.lang)), "same")])
    rows.append([ctx.btn(ctx.t("doc-back"), "back")])
    c = ctx.campaign
    ctx.show(ctx.t("doc-ask-valid", basis=c.licence_basis, when=day(c.licence_valid_on, ctx.lang)), rows)


async def on_valid_text(ctx: Ctx, text: str) -> None:
    if await _guard(ctx, "licence"):
        return
    parsed = validators.parse_date(text)
    if not parsed.ok or parsed.value is None:
        ctx.say("⚠️ " + ctx.t(parsed.error or "val-date-format", **parsed.args), [[ctx.btn(ctx.t("doc-back"), "back")]])
        return
    lab, _ = await journey.lab_and_progress(ctx)
    valid_from = lab.licence_valid_from or date(1900, 1, 1)
    checked = validators.licence_validity(
        valid_from, parsed.value, must_cover=ctx.campaign.licence_valid_on, basis=ctx.campaign.licence_basis
    )
    if not checked.ok:
        args = {k: (day(v, ctx.lang) if isinstance(v, date) else v) for k, v in checked.args.items()}
        ctx.say("⚠️ " + ctx.t(checked.error or "", **args), [[ctx.btn(ctx.t("doc-back"), "back")]])
        return
    before = lab.licence_valid_to
    lab.licence_valid_to = parsed.value
    ctx.audit(
        "licence_validity", "lab", lab.id, lab_id=lab.id, before={"valid_to": before}, after={"valid_to": parsed.value}
    )
    await _licence_done(ctx)


async def on_valid_button(ctx: Ctx, action: str, arg: str) -> None:
    if action == "back":
        await go(ctx, "licence")
        return
    if await _guard(ctx, "licence"):
        return
    if action == "same":
        await _licence_done(ctx)
        return
    ctx.toast(ctx.t("button-unknown"))


async def _licence_done(ctx: Ctx) -> None:
    enr = await journey.current_enrollment(ctx)
    _, p = await journey.lab_and_progress(ctx)
    if "licence" in p.returned and not p.licence:  # returned: done only with a file received since
        await go(ctx, "licence")
        return
    journey.fixed(enr, "licence")
    await _after_change(ctx)


async def _after_change(ctx: Ctx) -> None:
    """Back to the documents overview, or on to the submission once both are there."""
    _, p = await journey.lab_and_progress(ctx)
    if p.documents_done and p.complete:
        ctx.end()
        await journey.resume(ctx, note=ctx.t("doc-complete"))
        return
    await go(ctx, "overview")


_upload = Step(
    show=show_upload,
    on_file=on_upload_file,
    on_album=on_upload_album,
    on_button=on_upload_button,
    prepare=prepare_upload,
)
register(
    Flow(
        "documents",
        "overview",
        {
            "overview": Step(show=show_overview, on_button=on_overview_button),
            "agreement": _upload,
            "licence": _upload,
            "licence_valid": Step(show=show_valid, on_text=on_valid_text, on_button=on_valid_button),
        },
    )
)
