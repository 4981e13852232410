"""The demo's sample data: a bound lab contact, a blood centre waiting to be bound, a reviewer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from storage.db import Database
from storage.models import Contact, Lab
from storage.repos.bindings import issue

LAB_USER = "demo-lab"
REVIEWER_USER = "demo-reviewer"
GUEST_USER = "demo-guest"
REVIEW_CHAT = "demo-review-desk"
PLATFORM = "console"
# The demo's people (sample data, like the labs below).
LAB_NAME, REVIEWER_NAME, GUEST_NAME = "王检验", "李审核", "新用户"


@dataclass(frozen=True)
class Seeded:
    lab_code: str
    other_lab_code: str
    other_binding_code: str  # a fresh one-time code for the unbound lab, shown in the demo's banner


async def seed_demo(db: Database, now: datetime) -> Seeded:
    """Idempotent: running the demo twice keeps one copy of everything."""
    async with db.transaction() as s:
        lab = await s.scalar(select(Lab).where(Lab.code == "HN0001"))
        if lab is None:
            lab = Lab(
                code="HN0001",
                name="郑州市第一人民医院检验科",
                institution_type="general_hospital",
                level="L3",
                city="郑州市",
                licence_no="41010219900001",
                licence_valid_from=date(2020, 5, 1),
                licence_valid_to=date(2027, 4, 30),
                credit_code="12410000415800281H",
                address="郑州市金水区示范路 1 号",
                source="demo",
            )
            s.add(lab)
            await s.flush()
            s.add(
                Contact(
                    lab_id=lab.id,
                    platform=PLATFORM,
                    user_id=LAB_USER,
                    chat_id=LAB_USER,
                    name=LAB_NAME,
                    mobile="13800138000",
                )
            )
        other = await s.scalar(select(Lab).where(Lab.code == "HN0002"))
        if other is None:
            other = Lab(
                code="HN0002",
                name="洛阳市中心血站",
                institution_type="blood_centre",
                level=None,
                city="洛阳市",
                source="demo",
            )
            s.add(other)
            await s.flush()
        code = await issue(s, other.id, now=now, created_by="demo")
    return Seeded(lab_code="HN0001", other_lab_code="HN0002", other_binding_code=code)
