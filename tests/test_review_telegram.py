"""The reviewer desk over the fake Bot API server, through both real transports: a submission's alert (an
album of the documents and the card with its buttons) reaches the reviewers' group, an admin approves with
a tap there, and the lab's contact gets the result in their private chat."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from storage.models import Document, Enrollment, Review
from tests.e2e import conftest as e2e
from tests.e2e.conftest import ADMIN_ID, REVIEW_CHAT_ID, RunningBot, user
from tests.factories import bind, make_lab
from tests.fake_telegram import FakeTelegram
from tests.test_journey import AGREEMENT, LICENCE

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# The end-to-end fixtures (a fake Bot API server, the app served by each real transport), used by name here.
tg, app, bot, transport_name = e2e.tg, e2e.app, e2e.bot, e2e.transport_name


async def ready_to_submit(running: RunningBot, lab_id: int) -> None:
    """The three steps done (as the journey tests walk them), not yet submitted."""
    now = running.app.services.clock.now()
    async with running.app.db.transaction() as s:
        enr = Enrollment(
            lab_id=lab_id,
            year=2025,
            status="draft",
            last_year_tests=["CHEM.K", "CHEM.Na"],
            checklist_submitted_at=now,
            plan_confirmed_at=now,
            specialties=["CHEM"],
            lab_info={
                "name": "郑州市第一人民医院检验科",
                "address": "郑州市",
                "phone": "0371-67966305",
                "head": "张伟",
            },
            invoice={"title": "郑州市第一人民医院", "taxpayer_id": "12410000415800281H"},
            mailing={"recipient": "王检验", "phone": "13912345678", "address": "郑州市", "postcode": "450052"},
        )
        s.add(enr)
        await s.flush()
        for kind, data in (("agreement", AGREEMENT), ("licence", LICENCE)):
            key = running.app.services.store.put(data)
            s.add(
                Document(
                    lab_id=lab_id,
                    enrollment_id=enr.id,
                    kind=kind,
                    sha256=key,
                    size=len(data),
                    mime="image/jpeg",
                    storage_key=key,
                    precheck={"advice": []},
                    created_at=now,
                )
            )


async def test_alert_decision_and_push_over_the_bot_api(bot: RunningBot, tg: FakeTelegram) -> None:
    lab_id = await make_lab(bot.app, licence_valid_to=date(2027, 4, 30))
    contact = user(tg, 5101, "王检验")
    await bind(bot.app, bot.person(contact), lab_id)  # type: ignore[arg-type]
    await ready_to_submit(bot, lab_id)
    group = tg.group("审核群", chat_id=REVIEW_CHAT_ID)
    reviewer = user(tg, ADMIN_ID, "李审核").in_group(group)

    await contact.send_command("start")
    await contact.wait_for_message(lambda m: "继续申报" in " ".join(m.buttons))
    await contact.press("▶ 继续申报")
    await contact.wait_for_message(lambda m: "请确认 2025 年申报内容" in m.content)
    await contact.press("提交审核", substring=True)
    await contact.wait_for_message(lambda m: "已提交" in m.content)

    card = await reviewer.wait_for_message(lambda m: "新的申报待审核" in m.content, timeout=10)
    assert "郑州市第一人民医院检验科（HN0001）· 第 1 次提交" in card.content
    assert card.buttons[:2] == ["✅ 通过", "↩ 退回…"]
    album = [f for f in tg.sent_files(REVIEW_CHAT_ID) if f.method == "sendMediaGroup"]
    assert len(album) == 2 and all(f.data[:2] == b"\xff\xd8" for f in album)  # two upright JPEGs, one album

    await reviewer.press("✅ 通过", message=card.message_id)
    edited = await reviewer.wait_for_message(lambda m: "已通过" in m.content, timeout=10)
    assert edited.kind == "edit" and "✅ 通过" not in edited.buttons
    result = await contact.wait_for_message(lambda m: "审核通过" in m.content, timeout=10)
    assert "以中心通知为准" in result.content and "📋 申报进度" in result.buttons
    async with bot.app.db.reading() as s:
        enr = await s.scalar(select(Enrollment))
        review = await s.scalar(select(Review))
    assert enr is not None and enr.status == "approved"
    assert review is not None and review.reviewer == f"telegram:{ADMIN_ID}"
    await bot.wait_outbox(REVIEW_CHAT_ID, "sent")
    await bot.wait_outbox(contact.chat_id, "sent")


async def test_a_forged_press_in_the_group_changes_nothing(bot: RunningBot, tg: FakeTelegram) -> None:
    lab_id = await make_lab(bot.app)
    contact = user(tg, 5102, "王检验")
    await bind(bot.app, bot.person(contact), lab_id)  # type: ignore[arg-type]
    await ready_to_submit(bot, lab_id)
    group = tg.group("审核群", chat_id=REVIEW_CHAT_ID)
    await contact.send_command("start")
    await contact.wait_for_message(lambda m: "继续申报" in " ".join(m.buttons))
    await contact.press("▶ 继续申报")
    await contact.wait_for_message(lambda m: "请确认 2025 年申报内容" in m.content)
    await contact.press("提交审核", substring=True)
    outsider = user(tg, 5199, "路人").in_group(group)
    card = await outsider.wait_for_message(lambda m: "新的申报待审核" in m.content, timeout=10)
    query = await outsider.press("✅ 通过", message=card.message_id)
    answer = await outsider.wait_for_answer(query)
    assert "没有权限" in answer.get("text", "") and answer.get("show_alert") is True
    async with bot.app.db.reading() as s:
        enr = await s.scalar(select(Enrollment))
        assert await s.scalar(select(Review)) is None
    assert enr is not None and enr.status == "submitted"
