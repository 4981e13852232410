"""A new lab from its application to an approved registration: /start → 新单位注册 → the fields → the alert in
the reviewers' chat → approval (a lab code, the applicant bound) → the three steps → submission → approval.
Also an application returned for correction and one refused for good."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import App
from storage.models import Application, AuditLog, Contact, Enrollment, Lab, Review
from tests.factories import make_lab
from tests.harness import Person, Transcript, texts
from tests.test_application import VALID_CODE, fill_application
from tests.test_journey import walk_checklist, walk_documents, walk_plan

REVIEW_CHAT = "review-chat"


async def _application(app: App, user_id: str) -> Application:
    async with app.db.reading() as s:
        found = await s.scalar(select(Application).where(Application.user_id == user_id))
        assert found is not None
        return found


async def test_a_new_lab_from_application_to_approved_registration(
    app: App, transcript: Transcript, admin: Person
) -> None:
    await make_lab(app, code="HN0007", name="开封市中心医院")  # codes continue after the highest in use
    applicant = Person(transcript, "new-1", name="赵医生")
    await fill_application(applicant)
    await applicant.press("提交注册申请")
    assert "已提交“新郑市人民医院”的注册申请" in applicant.last.text

    card = transcript.chats[REVIEW_CHAT][-1]
    assert "🔔 新参评单位注册申请待审核" in card.text
    assert "2025 年新参评单位注册 · 新郑市人民医院 · 第 1 次提交" in card.text
    for shown in (
        "单位类型：综合医院",
        "等级：二级",
        "地市：郑州市",
        f"统一社会信用代码：{VALID_CODE}",
        "手机号：13912345678",
    ):
        assert shown in card.text, shown
    assert card.labels[:2] == ["✅ 通过并分配编码", "↩ 退回…"]

    await admin.press("✅ 通过并分配编码")
    assert "✅ 已通过 — 李审核" in admin.last.text and "已分配实验室编码：HN0008" in admin.last.text
    assert "可能已是参评单位：新郑市人民医院（HN0008）" not in admin.last.text  # not its own duplicate
    async with app.db.reading() as s:
        lab = await s.scalar(select(Lab).where(Lab.code == "HN0008"))
        assert lab is not None
        contact = await s.scalar(select(Contact).where(Contact.user_id == "new-1"))
        enr = await s.scalar(select(Enrollment).where(Enrollment.lab_id == lab.id))
        review = await s.scalar(select(Review))
        created = await s.scalar(select(AuditLog).where(AuditLog.action == "lab_created"))
    assert (lab.name, lab.institution_type, lab.level, lab.city, lab.source) == (
        "新郑市人民医院",
        "general_hospital",
        "L2",
        "郑州市",
        "application",
    )
    assert lab.credit_code == VALID_CODE and str(lab.licence_valid_to) == "2030-12-31"
    assert contact is not None and contact.lab_id == lab.id and contact.active and contact.mobile == "13912345678"
    assert contact.chat_id == "new-1" and contact.name == "赵医生"
    assert enr is not None and enr.status == "draft" and enr.year == 2025
    assert review is not None and (review.subject, review.decision) == ("application", "approved")
    assert created is not None and created.lab_id == lab.id
    application = await _application(app, "new-1")
    assert (application.status, application.lab_id) == ("approved", lab.id)

    # The applicant is told the code and continues with one tap.
    assert "实验室编码：HN0008" in applicant.last.text
    # In the notice's words: the BiQAS credentials come by SMS to the mobile given in the application.
    assert "BiQAS 信息系统登录的“用户名和账号密码”将以短信方式发送到注册时填写的手机号码（139****5678）" in (
        applicant.last.text
    )
    assert applicant.last.labels[0] == "▶ 继续申报"
    await walk_checklist(applicant)
    await walk_plan(applicant)
    await walk_documents(applicant)
    out = await applicant.press("提交审核")
    assert "已提交！回执编号 2025-HN0008-R1" in texts(out)
    card = transcript.chats[REVIEW_CHAT][-1]
    assert "新郑市人民医院（HN0008）· 第 1 次提交" in card.text
    await admin.press("✅ 通过")
    assert "审核通过" in applicant.last.text
    async with app.db.reading() as s:
        enr = await s.scalar(select(Enrollment).where(Enrollment.lab_id == lab.id))
    assert enr is not None and enr.status == "approved"


async def test_an_application_returned_for_correction_comes_back_as_the_next_revision(
    app: App, transcript: Transcript, admin: Person
) -> None:
    applicant = Person(transcript, "new-2", name="钱医生")
    await fill_application(applicant, name="新郑市人民医")
    await applicant.press("提交注册申请")
    old_card, old_approve = admin.find_button("✅ 通过并分配编码")
    await admin.press("↩ 退回…")
    labels = admin.last.labels
    assert "☐ 注册信息有误或不完整" in labels and "☐ 不符合参评条件" in labels
    await admin.press("☐ 注册信息有误或不完整")
    await admin.press("其他原因")
    await admin.send("/note 单位名称缺一个“院”字")
    await admin.press("确认退回")
    application = await _application(app, "new-2")
    assert (application.status, application.revision) == ("draft", 2)
    assert "注册申请被中心退回" in applicant.last.text and "单位名称缺一个“院”字" in applicant.last.text
    await applicant.press("修改注册信息")
    assert "请核对注册信息" in applicant.last.text and "新郑市人民医" in applicant.last.text
    await applicant.press("✏️ 单位名称")
    await applicant.send("新郑市人民医院")
    await applicant.press("提交注册申请")
    application = await _application(app, "new-2")
    assert (application.status, application.revision) == ("pending", 2)
    assert "第 2 次提交" in transcript.chats[REVIEW_CHAT][-1].text
    # The first card's "approve" names revision 1: it changes nothing now.
    out = await admin.handle(
        admin.event("button", button=old_approve.data, message_id=old_card.message_id, callback_id="q")
    )
    assert "已重新提交（现为第 2 次提交）" in texts(out)
    assert (await _application(app, "new-2")).status == "pending"
    await admin.press("✅ 通过并分配编码")
    assert (await _application(app, "new-2")).status == "approved"
    assert "实验室编码：HN0001" in applicant.last.text


async def test_an_ineligible_application_is_refused_for_good(app: App, transcript: Transcript, admin: Person) -> None:
    applicant = Person(transcript, "new-3")
    await fill_application(applicant)
    await applicant.press("提交注册申请")
    await admin.press("↩ 退回…")
    await admin.press("☐ 已是参评单位")
    await admin.press("确认退回")
    application = await _application(app, "new-3")
    assert (application.status, application.revision) == ("rejected", 1)
    assert "注册申请未通过" in applicant.last.text and "0371-67966305" in applicant.last.text
    async with app.db.reading() as s:
        assert await s.scalar(select(Lab)) is None
        review = await s.scalar(select(Review))
    assert review is not None and review.decision == "rejected" and review.reasons == ["app_duplicate"]


async def test_an_application_for_a_known_lab_is_flagged(app: App, transcript: Transcript, admin: Person) -> None:
    await make_lab(app, code="HN0003", name="新郑市人民医院", credit_code=VALID_CODE)
    applicant = Person(transcript, "new-4")
    await fill_application(applicant)
    await applicant.press("提交注册申请")
    assert "⚠️ 可能已是参评单位：新郑市人民医院（HN0003）" in transcript.chats[REVIEW_CHAT][-1].text
