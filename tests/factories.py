"""Test data: labs and bound contacts, written through the real models."""

from __future__ import annotations

from datetime import date

from bot.app import App
from storage.models import Contact, Lab, Staff
from tests.harness import Person


async def make_lab(app: App, code: str = "HN0001", **fields: object) -> int:
    values: dict[str, object] = {
        "code": code,
        "name": "郑州市第一人民医院检验科",
        "institution_type": "general_hospital",
        "level": "L3",
        "city": "郑州市",
        "licence_no": "41010219900001",
        "licence_valid_from": date(2020, 5, 1),
        "licence_valid_to": date(2027, 4, 30),
        "credit_code": "12410000415800281H",
        "address": "郑州市金水区示范路 1 号",
    } | fields
    async with app.db.transaction() as s:
        lab = Lab(**values)
        s.add(lab)
        await s.flush()
        return lab.id


async def bind(app: App, person: Person, lab_id: int, *, backup: bool = False, mobile: str = "13800138000") -> int:
    async with app.db.transaction() as s:
        contact = Contact(
            lab_id=lab_id,
            platform=person.platform,
            user_id=person.user_id,
            chat_id=person.chat_id,
            name=person.name,
            mobile=mobile,
            is_backup=backup,
        )
        s.add(contact)
        await s.flush()
        return contact.id


async def make_reviewer(app: App, person: Person, role: str = "reviewer") -> None:
    async with app.db.transaction() as s:
        s.add(Staff(platform=person.platform, user_id=person.user_id, role=role, name=person.name))
