"""Reading an upload at upload time: the one call the documents flow makes, and the lab's messages.

`read_upload` runs `storage.reading.read_document` in the heavy-work pool with a time limit. Off
(`EQA_READING=off`), failed or timed out, it gives a "not read" result and the upload goes on exactly as
without it. The result is stored with the document (`Document.reading`) for the reviewer.
"""

from __future__ import annotations

import logging
from datetime import date

from conversations.context import Ctx, Services
from conversations.formatting import day
from storage.heavy import HeavyTimeout, run_heavy
from storage.models import Enrollment, Lab
from storage.reading import Finding, Reading, ReadingContext, read_document

__all__ = ["finding_text", "read_upload", "reading_context"]

log = logging.getLogger(__name__)

_DATE_ARGS = ("until", "samples")


def reading_context(services: Services, lang: str, lab: Lab, enr: Enrollment) -> ReadingContext:
    c = services.campaign
    kind = c.type_by_code.get(lab.institution_type)
    return ReadingContext(
        campaign_id=c.id,
        year=c.year,
        lab_code=lab.code,
        lab_name=lab.name,
        deadline=c.deadline,
        samples_from=c.samples_from,
        invoice_title=(enr.invoice or {}).get("title") or None,
        licence_no=lab.licence_no,
        licence_types=(kind.licence,) if kind is not None and kind.licence else (),
        institution=kind.label(lang) if kind is not None else "",
        time_limit=services.reading_timeout,
    )


async def read_upload(
    services: Services, lang: str, kind: str, data: bytes, lab: Lab, enr: Enrollment
) -> Reading | None:
    """What the document says, compared with the lab's record; None when reading is off. Call it before
    the event's transaction (the documents step's prepare): OCR takes seconds, and it waits its turn in the
    heavy-work pool with the pre-checks, so a burst of uploads neither piles up models in memory nor holds
    SQLite's write lock meanwhile."""
    if not services.reading:
        return None
    context = reading_context(services, lang, lab, enr)
    try:
        # The reader keeps to its own limit; this is the backstop should a model call hang.
        return await run_heavy(read_document, kind, data, context, timeout=context.time_limit + 5)
    except HeavyTimeout:
        log.warning("reading a %s timed out", kind)
        return Reading(kind, "not-read", error="timeout")


def finding_text(ctx: Ctx, finding: Finding) -> str:
    args = dict(finding.args)
    for key in _DATE_ARGS:
        if isinstance(args.get(key), str):
            args[key] = day(date.fromisoformat(args[key]), ctx.lang)
    return ctx.t(finding.code, **args)
