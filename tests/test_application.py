"""New-lab application: the eligibility pre-screen in the notice's words, the fields checked where typed,
the draft kept through /cancel, the application stored and awaiting the centre."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.app import App
from conversations.clock import FixedClock
from storage.models import Application
from tests.harness import Person

VALID_CODE = "12410000415800281H"


async def _application(app: App, user_id: str) -> Application | None:
    async with app.db.reading() as s:
        return await s.scalar(select(Application).where(Application.user_id == user_id))


async def fill_application(person: Person, *, name: str = "新郑市人民医院") -> None:
    await person.send("/start")
    await person.press("新单位注册")
    assert "请选择单位类型" in person.last.text
    await person.press("综合医院")
    assert "请选择医疗机构等级" in person.last.text
    await person.press("二级")
    await person.send(name)
    await person.press("郑州市")
    await person.send("PDY00001341018211A1001")
    await person.send("2021-01-01")
    await person.send("2030/12/31")
    await person.send(VALID_CODE)
    await person.send("新郑市人民路 1 号")
    await person.send("赵医生")
    await person.send("13912345678")


async def test_new_lab_applies_and_waits_for_the_centre(app: App, guest: Person) -> None:
    await fill_application(guest)
    assert "请核对注册信息" in guest.last.text
    for shown in ("综合医院", "二级", "新郑市人民医院", "郑州市", "2030-12-31", VALID_CODE, "13912345678"):
        assert shown in guest.last.text
    await guest.press("提交注册申请")
    assert "已提交“新郑市人民医院”的注册申请" in guest.last.text
    application = await _application(app, guest.user_id)
    assert application is not None and application.status == "pending"
    assert application.data == {
        "institution_type": "general_hospital",
        "level": "L2",
        "name": "新郑市人民医院",
        "city": "郑州市",
        "licence_no": "PDY00001341018211A1001",
        "licence_valid_from": "2021-01-01",
        "licence_valid_to": "2030-12-31",
        "credit_code": VALID_CODE,
        "address": "新郑市人民路 1 号",
        "contact_name": "赵医生",
        "mobile": "13912345678",
    }
    await guest.press("新单位注册")
    assert "正在等待中心审核" in guest.last.text


async def test_manufacturers_are_stopped_with_the_notices_reason(app: App, guest: Person) -> None:
    await guest.send("/start")
    await guest.press("新单位注册")
    await guest.press("仪器、试剂生产机构")
    assert "不接受仪器、试剂等生产、销售机构参评。" in guest.last.text
    assert "0371-67966305" in guest.last.text
    application = await _application(app, guest.user_id)
    assert application is None or "institution_type" not in application.data


async def test_level_one_hospitals_are_stopped_blood_centres_admitted(app: App, guest: Person) -> None:
    await guest.send("/start")
    await guest.press("新单位注册")
    await guest.press("综合医院")
    await guest.press("一级")
    assert "二级及以上" in guest.last.text
    await guest.press("重新选择")
    await guest.press("三级")
    assert "请输入单位（医疗机构）全称" in guest.last.text
    blood = Person(guest.t, "blood-1")
    await blood.send("/start")
    await blood.press("新单位注册")
    await blood.press("血液中心")
    assert "请输入单位（医疗机构）全称" in blood.last.text  # no grade asked of a blood centre


async def test_fields_are_checked_and_the_draft_survives_cancel(app: App, guest: Person) -> None:
    await guest.send("/start")
    await guest.press("新单位注册")
    await guest.press("专科医院")
    await guest.press("三级")
    await guest.send("郑州市儿童医院")
    await guest.send("/cancel")
    await guest.send("/start")
    await guest.press("新单位注册")
    assert "请选择所在地市" in guest.last.text  # picks up where it stopped
    await guest.press("郑州市")
    await guest.send("PDY-1")
    await guest.send("2021-02-30")
    assert "没有 30 日" in guest.last.text
    await guest.send("2021-02-01")
    await guest.send("2025-02-20")  # expires before the deadline (no dispatch day is given)
    assert "早于申报截止日" in guest.last.text
    await guest.send("2026-03-01")
    await guest.send("12410000415800281")
    assert "18 位" in guest.last.text
    await guest.send(VALID_CODE[:-1] + "Q")
    assert "校验位" in guest.last.text  # a failed check character is accepted with a warning
    await guest.send("郑州市某路")
    await guest.send("😀")
    assert "姓名" in guest.last.text
    await guest.send("钱医生")
    await guest.send("1391234567")
    assert "11 位" in guest.last.text
    await guest.send("+86 139-1234-5678")
    application = await _application(app, guest.user_id)
    assert application is not None and application.status == "draft"
    assert application.data["mobile"] == "13912345678"
    assert application.data["licence_valid_to"] == "2026-03-01"
    assert application.data["credit_code"] == VALID_CODE[:-1] + "Q"


async def test_no_new_applications_after_the_deadline(app: App, guest: Person, clock: FixedClock) -> None:
    clock.set(datetime.fromisoformat("2025-02-26T08:00:00+08:00"))
    await guest.send("/start")
    await guest.press("新单位注册")
    assert "申报已截止" in guest.last.text
    assert await _application(app, guest.user_id) is None
