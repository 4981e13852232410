"""The sender of every update is established on the server: roles, the lab binding, a contact coming back
after blocking the bot, reminders answered by any activity."""

from __future__ import annotations

from sqlalchemy import select, update

from bot.app import App
from storage.models import Contact, Staff
from tests.factories import bind, make_lab
from tests.harness import Person, Transcript


async def test_a_contact_who_blocked_the_bot_is_active_again_on_writing(app: App, transcript: Transcript) -> None:
    person = Person(transcript, "came-back")
    contact_id = await bind(app, person, await make_lab(app))
    async with app.db.transaction() as s:
        await s.execute(
            update(Contact)
            .where(Contact.id == contact_id)
            .values(active=False, blocked_at=app.services.clock.now(), unanswered_reminders=2)
        )
    await person.send("/status")
    assert "郑州市第一人民医院检验科" in person.last.text  # still bound, not a stranger
    async with app.db.reading() as s:
        contact = await s.get(Contact, contact_id)
    assert contact is not None and contact.active and contact.blocked_at is None
    assert contact.unanswered_reminders == 0 and contact.last_seen_at is not None


async def test_a_contact_who_left_for_another_lab_stays_there(app: App, transcript: Transcript) -> None:
    person = Person(transcript, "mover")
    old = await bind(app, person, await make_lab(app))
    async with app.db.transaction() as s:
        await s.execute(update(Contact).where(Contact.id == old).values(active=False))
    await person.send("/status")
    assert "还没有绑定实验室" in person.last.text


async def test_roles_follow_the_database_on_every_update(app: App, transcript: Transcript) -> None:
    person = Person(transcript, "rv-1")
    await person.send("/queue")
    assert "没有权限" in person.last.text
    async with app.db.transaction() as s:
        s.add(Staff(platform="test", user_id="rv-1", role="reviewer"))
    await person.send("/queue")
    assert "没有权限" not in person.last.text
    async with app.db.transaction() as s:
        await s.execute(update(Staff).where(Staff.user_id == "rv-1").values(active=False))
    await person.send("/queue")
    assert "没有权限" in person.last.text
    async with app.db.reading() as s:
        assert (await s.scalars(select(Staff))).one().active is False
