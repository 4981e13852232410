"""A reviewer decides only the current campaign year's record: a forged or old card button naming last
year's enrollment changes nothing, tells the reviewer the card is outdated and points to this year's."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.app import App
from storage.models import Enrollment, OutboxMessage, Review
from tests.factories import bind, make_lab
from tests.harness import Person, Transcript, texts
from tests.test_review_desk import REVIEW_CHAT, submit


async def _old_enrollment(app: App, lab_id: int, year: int) -> int:
    async with app.db.transaction() as s:
        old = Enrollment(lab_id=lab_id, year=year, status="submitted", revision=1)
        s.add(old)
        await s.flush()
        return old.id


async def test_forged_buttons_naming_last_year_s_enrollment_change_nothing(
    app: App, transcript: Transcript, admin: Person
) -> None:
    lab_id = await make_lab(app)
    main = Person(transcript, "c-main", name="王检验")
    await bind(app, main, lab_id)
    await submit(main)
    year = app.services.campaign.year
    old_id = await _old_enrollment(app, lab_id, year - 1)
    async with app.db.reading() as s:
        queued = await s.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.chat_id == "c-main")
        )
    told_before = len(main.messages)

    for data in (f"g:rv:a.e.{old_id}.1", f"g:rv:r.e.{old_id}.1"):
        out = await admin.press("", data=data)
        said = texts(out)
        assert f"{year - 1} 年" in said and "已过期" in said, said
        assert "申报已审核通过" not in said
    # An old card opened again says so too, and offers this year's record.
    out = await admin.press("", data=f"g:rv:o.e.{old_id}")
    assert "已过期" in texts(out)
    await admin.press("打开今年的申报")
    assert f"{year} 年" in admin.last.text and "✅ 通过" in admin.last.labels

    async with app.db.reading() as s:
        old = await s.get(Enrollment, old_id)
        current = await s.scalar(select(Enrollment).where(Enrollment.year == year))
        decided = list(await s.scalars(select(Review)))
        queued_after = await s.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.chat_id == "c-main")
        )
    assert old is not None and current is not None
    assert (old.status, old.decided_at) == ("submitted", None)
    assert current.status == "submitted"
    assert decided == []
    assert queued_after == queued and len(main.messages) == told_before  # the lab was told nothing

    # This year's card still decides.
    await admin.press("✅ 通过")
    async with app.db.reading() as s:
        current = await s.scalar(select(Enrollment).where(Enrollment.year == year))
    assert current is not None and current.status == "approved"
    assert any(f"{year} 年室间质评申报已审核通过" in m.text for m in main.messages)
    assert REVIEW_CHAT in transcript.chats
