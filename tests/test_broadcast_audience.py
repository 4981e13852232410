"""Audience selection: all, unfinished (exactly what /status calls unfinished), by status, city and type;
only contacts who can be written to."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from bot.app import App
from conversations.audience import Audience, count, is_unfinished, recipients, select_labs
from conversations.progress import progress
from storage.models import Contact, Lab, UserProfile
from tests.test_outbox_support import add_lab

T = datetime(2025, 2, 1, tzinfo=UTC)


@pytest.fixture
async def labs(app: App) -> dict[str, int]:
    made = {
        "fresh": await add_lab(app, "L-fresh"),  # no enrollment yet: a draft
        "draft": await add_lab(app, "L-draft", status="draft", checklist_submitted_at=T, city="洛阳市"),
        "ready": await add_lab(  # everything done but not submitted: still unfinished
            app, "L-ready", status="draft", checklist_submitted_at=T, plan_confirmed_at=T, city="洛阳市"
        ),
        "returned": await add_lab(app, "L-returned", status="returned", returned_items=["agreement"]),
        "submitted": await add_lab(app, "L-submitted", status="submitted", institution_type="blood_centre"),
        "approved": await add_lab(app, "L-approved", status="approved", city="洛阳市", backups=1),
    }
    return {k: lab_id for k, (lab_id, _) in made.items()}


async def codes(app: App, audience: Audience) -> set[str]:
    async with app.db.transaction() as s:
        return {lab.code.removeprefix("L-") for lab in await select_labs(s, app.campaign, audience)}


async def test_kinds_select_the_right_labs(app: App, labs: dict[str, int]) -> None:
    assert await codes(app, Audience("all")) == set(labs)
    assert await codes(app, Audience("unfinished")) == {"fresh", "draft", "ready", "returned"}
    assert await codes(app, Audience("status", "draft")) == {"fresh", "draft", "ready"}
    assert await codes(app, Audience("status", "approved")) == {"approved"}
    assert await codes(app, Audience("city", "洛阳市")) == {"draft", "ready", "approved"}
    assert await codes(app, Audience("type", "blood_centre")) == {"submitted"}


async def test_unfinished_means_what_status_says(app: App, labs: dict[str, int]) -> None:
    async with app.db.transaction() as s:
        selected = {lab.id for lab in await select_labs(s, app.campaign, Audience("unfinished"))}
        for lab_id in labs.values():
            lab = await s.get(Lab, lab_id)
            assert lab is not None
            p = await progress(s, app.campaign, lab, app.services.clock.now())
            assert is_unfinished(p) == (lab_id in selected), lab.code


async def test_recipients_are_the_reachable_contacts(app: App, labs: dict[str, int]) -> None:
    async with app.db.transaction() as s:
        # One contact blocked the bot, one never bound a chat; one chose English with /lang.
        await s.execute(update(Contact).where(Contact.chat_id == "L-draft-p0").values(active=False))
        s.add(Contact(lab_id=labs["ready"], platform="test", user_id=None, chat_id=None, name="unbound"))
        s.add(UserProfile(platform="test", user_id="L-fresh-p0", language="en"))
    async with app.db.transaction() as s:
        people = await recipients(s, app.campaign, Audience("all"))
        by_chat = {r.chat_id: r for r in people}
        assert set(by_chat) == {
            "L-fresh-p0",
            "L-ready-p0",
            "L-returned-p0",
            "L-submitted-p0",
            "L-approved-p0",
            "L-approved-b1",
        }
        assert by_chat["L-fresh-p0"].language == "en" and by_chat["L-ready-p0"].language == "zh"
        assert by_chat["L-approved-b1"].is_backup and not by_chat["L-approved-p0"].is_backup
        assert await count(s, app.campaign, Audience("unfinished")) == (4, 3)
        primaries = await recipients(s, app.campaign, Audience("status", "approved"), include_backups=False)
        assert [r.chat_id for r in primaries] == ["L-approved-p0"]


def test_an_audience_refuses_what_the_campaign_does_not_know(app: App) -> None:
    with pytest.raises(ValueError):
        Audience("city", "纽约市").check(app.campaign)
    with pytest.raises(ValueError):
        Audience("type", "reagent_seller_x").check(app.campaign)
    with pytest.raises(ValueError):
        Audience("status", "paid")
    with pytest.raises(ValueError):
        Audience("city")
    Audience("city", "郑州市").check(app.campaign)
    assert Audience.from_dict(Audience("status", "returned").to_dict()) == Audience("status", "returned")
