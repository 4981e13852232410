"""Storage behaves the same on SQLite and PostgreSQL (the `database_url` fixture runs each test on both
when EQA_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from storage.db import Database
from storage.files import DocumentStore
from storage.models import Base, ConversationState, Enrollment, Lab, Review
from storage.repos.common import insert_ignore
from storage.repos.conversations import claim_update, load_state
from storage.repos.enrollments import enrollment


@pytest.fixture
async def db(database_url: str):  # type: ignore[no-untyped-def]
    database = Database(database_url)
    await database.migrate()
    yield database
    await database.dispose()


async def _lab(db: Database, code: str = "HN0100") -> int:
    async with db.transaction() as s:
        lab = Lab(code=code, name="测试医院检验科", institution_type="general_hospital", level="L3", city="郑州市")
        s.add(lab)
        await s.flush()
        return lab.id


async def test_migration_matches_the_models(db: Database) -> None:
    async with db.engine.connect() as conn:
        diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert diff == [], f"models and migrations differ; run python -m storage.migrations.autogen: {diff}"
    assert set(Base.metadata.tables) <= tables


async def test_migrate_twice_is_harmless(db: Database) -> None:
    await db.migrate()
    assert await db.ping()


async def test_times_come_back_aware_utc(db: Database) -> None:
    lab_id = await _lab(db)
    shanghai = timezone(timedelta(hours=8))
    async with db.transaction() as s:
        enr = await enrollment(s, lab_id, 2025)
        assert enr is not None
        enr.submitted_at = datetime(2025, 2, 25, 23, 59, tzinfo=shanghai)
    async with db.reading() as s:
        enr = await enrollment(s, lab_id, 2025, create=False)
        assert enr is not None and enr.submitted_at is not None
        assert enr.submitted_at.tzinfo is not None
        assert enr.submitted_at == datetime(2025, 2, 25, 15, 59, tzinfo=UTC)


async def test_naive_times_are_refused(db: Database) -> None:
    lab_id = await _lab(db)
    with pytest.raises(Exception, match="naive datetime"):
        async with db.transaction() as s:
            enr = await enrollment(s, lab_id, 2025)
            assert enr is not None
            enr.submitted_at = datetime(2025, 2, 25)


async def test_json_keeps_chinese_and_structure(db: Database) -> None:
    lab_id = await _lab(db)
    async with db.transaction() as s:
        enr = await enrollment(s, lab_id, 2025)
        assert enr is not None
        enr.invoice = {"title": "郑州市第一人民医院", "taxpayer_id": "12410000415800281H"}
        enr.specialties = ["CHEM", "CBC"]
    async with db.reading() as s:
        enr = await enrollment(s, lab_id, 2025, create=False)
        assert enr is not None
        assert enr.invoice["title"] == "郑州市第一人民医院"
        assert enr.specialties == ["CHEM", "CBC"]


async def test_an_update_id_is_claimed_once(db: Database) -> None:
    async with db.transaction() as s:
        assert await claim_update(s, "telegram", "42", "1")
    async with db.transaction() as s:
        assert not await claim_update(s, "telegram", "42", "1")
        assert await claim_update(s, "aiogram", "42", "1")


async def test_state_is_created_once_per_person_and_chat(db: Database) -> None:
    async with db.transaction() as s:
        a = await load_state(s, "telegram", "c1", "u1")
        a.flow = "plan"
    async with db.transaction() as s:
        b = await load_state(s, "telegram", "c1", "u1")
        assert b.flow == "plan"
        await load_state(s, "telegram", "c1", "u2")
    async with db.reading() as s:
        assert len((await s.scalars(select(ConversationState))).all()) == 2


async def test_concurrent_edits_of_one_enrollment_are_detected(db: Database) -> None:
    lab_id = await _lab(db)
    async with db.transaction() as s:
        await enrollment(s, lab_id, 2025)
    first, second = db.sessions(), db.sessions()
    try:
        a = await first.scalar(select(Enrollment).where(Enrollment.lab_id == lab_id))
        b = await second.scalar(select(Enrollment).where(Enrollment.lab_id == lab_id))
        assert a is not None and b is not None
        a.specialties = ["CHEM"]
        await first.commit()
        b.specialties = ["CBC"]
        with pytest.raises(StaleDataError):
            await second.commit()
    finally:
        await first.close()
        await second.close()
    async with db.reading() as s:
        enr = await enrollment(s, lab_id, 2025, create=False)
        assert enr is not None and enr.specialties == ["CHEM"] and enr.version == 2


async def test_the_first_review_of_a_revision_stands(db: Database) -> None:
    async with db.transaction() as s:
        s.add(Review(subject="enrollment", subject_id=1, revision=1, decision="approved", reviewer="t:1"))
    with pytest.raises(IntegrityError):
        async with db.transaction() as s:
            s.add(Review(subject="enrollment", subject_id=1, revision=1, decision="returned", reviewer="t:2"))
    async with db.transaction() as s:
        assert not await insert_ignore(
            s,
            Review,
            {
                "subject": "enrollment",
                "subject_id": 1,
                "revision": 1,
                "decision": "returned",
                "reviewer": "t:2",
                "reasons": [],
            },
        )
        reviews = (await s.scalars(select(Review))).all()
        assert [(r.decision, r.reviewer) for r in reviews] == [("approved", "t:1")]


async def test_lab_codes_are_unique(db: Database) -> None:
    await _lab(db, "HN0200")
    with pytest.raises(IntegrityError):
        await _lab(db, "HN0200")


def test_document_store_is_content_addressed(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path)
    key = store.put(b"scan bytes")
    assert store.put(b"scan bytes") == key
    assert store.get(key) == b"scan bytes"
    assert len(list(tmp_path.rglob(key))) == 1
    with pytest.raises(ValueError):
        store.get("../../etc/passwd")
