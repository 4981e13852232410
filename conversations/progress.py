"""Where a lab stands in the year's registration: the three steps, what is missing, the review state.

One computation serves /status, the submit gate, reminders and the reviewer's view, so they never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from conversations.campaign import Campaign
from storage.models import Document, Enrollment, Lab
from storage.repos.enrollments import active_documents, enrollment, refused_documents

STEPS = ("checklist", "plan", "documents")


@dataclass(frozen=True)
class Progress:
    lab: Lab
    enrollment: Enrollment
    checklist_done: bool
    plan_done: bool
    agreement: tuple[Document, ...]
    licence: tuple[Document, ...]
    licence_from_earlier: bool  # an earlier year's licence, still valid when samples go out
    licence_on_file: bool  # ... and the contact confirmed nothing on it has changed
    licence_expired: bool
    days_left: int
    closed: bool
    # Files the centre returned (refused at its decision): shown as refused, never counted.
    refused: tuple[Document, ...] = ()

    @property
    def status(self) -> str:
        return self.enrollment.status

    @property
    def returned(self) -> list[str]:
        return list(self.enrollment.returned_items or []) if self.status == "returned" else []

    @property
    def agreement_done(self) -> bool:
        return bool(self.agreement) and "agreement" not in self.returned

    @property
    def licence_done(self) -> bool:
        if "licence" in self.returned:
            return False
        return (bool(self.licence) or self.licence_on_file) and not self.licence_expired

    @property
    def documents_done(self) -> bool:
        return self.agreement_done and self.licence_done

    @property
    def missing(self) -> list[str]:
        """Message ids of what is still missing, in the order to do it."""
        items = []
        if not self.checklist_done:
            items.append("missing-checklist")
        if not self.plan_done:
            items.append("missing-plan")
        if not self.agreement_done:
            items.append("missing-agreement")
        if self.licence_expired:
            items.append("missing-licence-expired")
        elif not self.licence_done:
            items.append("missing-licence")
        return items

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def next_step(self) -> str | None:
        """The step to continue with, or "submit" when everything is there but not yet sent."""
        if self.status in ("submitted", "approved"):
            return None
        if not self.checklist_done:
            return "checklist"
        if not self.plan_done:
            return "plan"
        if not self.documents_done:
            return "documents"
        return "submit"


async def progress(session: AsyncSession, campaign: Campaign, lab: Lab, now: datetime) -> Progress:
    enr = await enrollment(session, lab.id, campaign.year)
    assert enr is not None
    docs = await active_documents(session, lab.id)
    agreement = tuple(d for d in docs if d.kind == "agreement" and d.enrollment_id == enr.id)
    this_year_licence = tuple(d for d in docs if d.kind == "licence" and d.enrollment_id == enr.id)
    earlier_licence = any(d.kind == "licence" and d.enrollment_id != enr.id for d in docs)
    valid_then = campaign.licence_still_valid(lab.licence_valid_to)
    expired = lab.licence_valid_to is not None and not valid_then
    # After a return, what the centre named is to be done again (each item leaves the list when redone).
    redo = set(enr.returned_items or []) if enr.status == "returned" else set()
    return Progress(
        lab=lab,
        enrollment=enr,
        checklist_done=enr.checklist_submitted_at is not None and "checklist" not in redo,
        plan_done=enr.plan_confirmed_at is not None and not redo & {"lab_info", "invoice", "mailing", "specialties"},
        agreement=agreement,
        licence=this_year_licence,
        licence_from_earlier=earlier_licence and valid_then,
        licence_on_file=earlier_licence and valid_then and bool(enr.lab_info.get("licence_unchanged")),
        licence_expired=expired,
        days_left=campaign.days_left(now),
        closed=campaign.is_closed(now),
        refused=tuple(await refused_documents(session, enr)) if enr.status == "returned" else (),
    )
