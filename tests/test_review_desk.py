"""The reviewer desk on the core, as transcripts: the alert with documents and buttons, decisions, results
pushed to every contact, returns with reasons reopening only what failed, two reviewers at once, stale
and forged buttons."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from bot.app import App
from conversations.clock import FixedClock
from conversations.events import SendAlbum, SendDocument
from storage.models import AuditLog, Document, Enrollment, OutboxMessage, Review
from tests import image_samples as samples
from tests.factories import bind, make_lab, make_reviewer
from tests.harness import Person, Transcript, texts
from tests.test_journey import walk_checklist, walk_documents, walk_plan

REVIEW_CHAT = "review-chat"


async def submit(person: Person) -> None:
    """A bound contact walks the three steps and submits."""
    await person.send("/start")
    await walk_checklist(person)
    await walk_plan(person)
    await walk_documents(person)
    out = await person.press("提交审核")
    assert "已提交！" in texts(out), texts(out)


async def enrolment(app: App) -> Enrollment:
    async with app.db.reading() as s:
        enr = await s.scalar(select(Enrollment))
        assert enr is not None
        return enr


async def reviews(app: App) -> list[Review]:
    async with app.db.reading() as s:
        return list(await s.scalars(select(Review).order_by(Review.id)))


def alert_card(transcript: Transcript) -> str:
    cards = [m for m in transcript.chats.get(REVIEW_CHAT, []) if "待审核" in m.text or "第 " in m.text]
    assert cards, transcript.chats.get(REVIEW_CHAT)
    return cards[-1].text


async def lab_with_two_contacts(app: App, transcript: Transcript) -> tuple[Person, Person]:
    lab_id = await make_lab(app)
    main, backup = Person(transcript, "c-main", name="王检验"), Person(transcript, "c-backup", name="赵备用")
    await bind(app, main, lab_id)
    await bind(app, backup, lab_id, backup=True, mobile="13900001111")
    return main, backup


# -- the alert ------------------------------------------------------------------------------------------------
async def test_a_submission_alerts_the_review_chat_with_documents_and_buttons(
    app: App, transcript: Transcript, admin: Person
) -> None:
    main, _ = await lab_with_two_contacts(app, transcript)
    await submit(main)
    chat = transcript.chats[REVIEW_CHAT]
    # Documents first (two photos: an album), then the card with the decision buttons at the bottom.
    album = [m for m in chat if m.files]
    assert len(album) == 1 and len(album[0].files) == 2
    assert [name for name, _ in album[0].files] == ["HN0001-agreement-1.jpg", "HN0001-licence-1.jpg"]
    assert all(data.startswith(b"\xff\xd8") for _, data in album[0].files)  # upright JPEGs
    card = chat[-1]
    assert "🔔 新的申报待审核" in card.text
    assert "郑州市第一人民医院检验科（HN0001）· 第 1 次提交" in card.text
    assert "类型：综合医院 · 等级：三级 · 地市：郑州市" in card.text
    assert "王检验 13800138000" in card.text and "赵备用 13900001111" in card.text
    assert "开票单位：郑州市第一人民医院 · 纳税人识别号：12410000415800281H" in card.text
    assert "参加专业（3）：临床常规化学、全血细胞计数、凝血实验" in card.text
    assert "2024 年已开展项目：11 项" in card.text
    assert "缓交协议：1 份 — 1) ✅" in card.text
    assert "执业许可证：1 份 — 1) ✅ · 有效期至 2027年4月30日" in card.text
    assert "⏳ 待审核" in card.text
    assert card.labels == ["✅ 通过", "↩ 退回…", "📎 查看材料", "📁 单位档案", "📥 待审队列"]


async def test_approval_is_pushed_to_every_contact_and_the_card_shows_it(
    app: App, transcript: Transcript, admin: Person
) -> None:
    main, backup = await lab_with_two_contacts(app, transcript)
    await submit(main)
    await admin.press("✅ 通过")
    enr = await enrolment(app)
    assert (enr.status, enr.returned_items, enr.decided_at is not None) == ("approved", [], True)
    [review] = await reviews(app)
    assert (review.subject, review.revision, review.decision, review.reviewer) == (
        "enrollment",
        1,
        "approved",
        "test:admin-1",
    )
    for person in (main, backup):
        assert "审核通过" in person.last.text, person.last.text
        assert "以中心通知为准（见通知附件二）" in person.last.text  # no dispatch day in the notice
        assert "先参评、后付费" in person.last.text and "暂不交费" in person.last.text  # the fees note
        assert "📋 申报进度" in person.last.labels
    card = admin.last.text
    assert "✅ 已通过 — 李审核" in card
    assert "✅ 通过" not in admin.last.labels  # decided: no decision buttons any more
    async with app.db.reading() as s:
        audit = await s.scalar(select(AuditLog).where(AuditLog.action == "review_approved"))
    assert audit is not None and audit.before == {"status": "submitted", "revision": 1, "returned_items": []}
    assert audit.after is not None and audit.after["status"] == "approved" and audit.actor == "test:admin-1"
    await main.send("/status")
    assert "审核已通过" in main.last.text


async def test_return_with_reasons_reopens_only_the_agreement(app: App, transcript: Transcript, admin: Person) -> None:
    main, backup = await lab_with_two_contacts(app, transcript)
    await submit(main)
    alert, _ = admin.find_button("↩ 退回…")
    await admin.press("↩ 退回…")
    assert "退回 郑州市第一人民医院检验科（HN0001）" in admin.last.text
    await admin.press("☐ 缓交协议未加盖单位公章")
    assert "将要求重新提交：缓交协议" in admin.last.text
    await admin.press("✏️ 其他原因")
    await admin.send("请用原件拍照，不要用复印件")
    assert "其他原因：请用原件拍照，不要用复印件" in admin.last.text
    await admin.press("☐ 执业许可证", exact=True)  # the other reason also needs the licence again
    assert "将要求重新提交：缓交协议、执业许可证" in admin.last.text
    await admin.press("确认退回（2 条原因）")
    enr = await enrolment(app)
    assert (enr.status, enr.returned_items) == ("returned", ["agreement", "licence"])
    [review] = await reviews(app)
    assert review.decision == "returned" and review.reasons == ["no_seal", "other"]
    assert review.note == "请用原件拍照，不要用复印件"
    for person in (main, backup):
        text = person.last.text
        assert "被中心退回" in text and "缓交协议需要加盖单位公章" in text
        assert "其他：请用原件拍照，不要用复印件" in text
        assert "只需重新提交：缓交协议、执业许可证" in text
        assert person.last.labels[0] == "▶ 重新提交这些项目"
    # The alert card in the review chat shows the decision too.
    assert alert.edits == 1 and "缓交协议未加盖单位公章" in alert.text
    assert "↩ 已退回 — 李审核" in alert.text and "✅ 通过" not in alert.labels
    # The lab re-sends only the agreement and the licence; the checklist and plan are kept.
    await main.press("重新提交这些项目")
    assert "第三步" in main.last.text, main.last.text
    await main.press("上传签字盖章的协议")
    from tests.test_journey import AGREEMENT_PAGE_2

    await main.send_file(AGREEMENT_PAGE_2, name="协议2.jpg")
    await main.press("缓交协议已传完")
    await main.press("上传执业许可证")
    await main.send_file(samples.jpeg(samples.document(seal=False, seed=4)), name="licence.jpg")
    await main.press("执业许可证已传完")
    await main.press("没有变化")
    assert "请确认 2025 年申报内容" in main.last.text, main.last.text
    await main.press("提交审核")
    enr = await enrolment(app)
    assert (enr.status, enr.revision, enr.returned_items) == ("submitted", 2, [])
    card = transcript.chats[REVIEW_CHAT][-1].text
    assert "第 2 次提交" in card and "第 1 次提交曾被退回" in card and "缓交协议未加盖单位公章" in card


async def test_a_returned_item_cannot_be_resubmitted_without_a_new_file(
    app: App, transcript: Transcript, admin: Person
) -> None:
    """The dead end of a returned licence: the refused pages were still counted, "已传完" resubmitted them
    in one tap. Now they show as refused, the return notice stays, and only a new file redoes the item."""
    from tests.test_journey import LICENCE

    main, _ = await lab_with_two_contacts(app, transcript)
    await submit(main)
    await admin.press("↩ 退回…")
    await admin.press("☐ 执业许可证照片看不清")
    await admin.press("确认退回（1 条原因）")
    notice = main.last
    assert "执业许可证" in notice.text and notice.labels[0] == "▶ 重新提交这些项目"
    notice_text = notice.text
    await main.press("重新提交这些项目")
    # The notice is kept (the journey answers below it, the reasons stay in view).
    assert notice.edits == 0 and notice.text == notice_text and main.last is not notice
    overview = main.last.text
    assert "中心退回的 1 份已作废" in overview and "初查清晰" not in overview.split("执业许可证")[-1]
    await main.press("上传执业许可证")
    upload = main.last
    assert "中心退回的 1 份已作废" in upload.text and "已收到" not in upload.text
    assert not any("已传完" in label for label in upload.labels)  # nothing to finish with
    # The refused file again: refused, nothing stored, still no way to finish.
    out = await main.send_file(LICENCE, name="licence.jpg")
    assert "中心退回的那一份" in texts(out)
    assert not any("已传完" in label for label in main.last.labels)
    async with app.db.reading() as s:
        docs = list(await s.scalars(select(Document).where(Document.kind == "licence").order_by(Document.id)))
    assert [d.status for d in docs] == ["refused"]
    # Submitting is not possible either: the licence is still missing.
    await main.send("/status")
    assert "执业许可证" in main.last.text and "已提交，等待中心审核" not in main.last.text
    # A new file redoes it.
    await main.press("继续申报")
    await main.press("上传执业许可证")
    await main.send_file(samples.jpeg(samples.document(seal=False, seed=5)), name="new.jpg")
    assert "已收到 1 份" in main.last.text
    await main.press("执业许可证已传完")
    await main.press("没有变化")
    assert "请确认 2025 年申报内容" in main.last.text, main.last.text
    await main.press("提交审核")
    enr = await enrolment(app)
    assert (enr.status, enr.revision) == ("submitted", 2)


async def test_the_reviewer_sees_why_a_mandatory_specialty_was_declined(
    app: App, transcript: Transcript, admin: Person
) -> None:
    main, _ = await lab_with_two_contacts(app, transcript)
    await submit(main)
    async with app.db.transaction() as s:
        enr = await s.scalar(select(Enrollment))
        assert enr is not None
        enr.mandatory_declined = ["ABO", "TRANSF"]
        enr.mandatory_declined_reasons = {"ABO": "血型检测由输血科另行申报"}
    await admin.press("✅ 通过")
    card = admin.last.text
    assert "未参加的必选专业：血型、临床输血相容性检测" in card
    assert "不参加“血型”的原因：血型检测由输血科另行申报" in card
    assert "不参加“临床输血相容性检测”的原因：（未说明原因）" in card


async def test_step_one_changed_after_submission_is_a_new_revision(
    app: App, transcript: Transcript, admin: Person
) -> None:
    main, _ = await lab_with_two_contacts(app, transcript)
    await submit(main)
    await main.send("/status")
    await main.press("修改第一步")
    await main.press("凝血实验")
    await main.press("全选")
    await main.press("返回专业列表")
    await main.press("查看汇总并提交")
    await main.press("确认提交")
    assert "第 2 次提交" in main.last.text, main.last.text
    enr = await enrolment(app)
    assert (enr.status, enr.revision) == ("submitted", 2)
    assert any(t.startswith("COAG.") for t in enr.last_year_tests)
    assert enr.plan_confirmed_at is not None and enr.returned_items == []  # nothing else reopened
    assert "第 2 次提交" in transcript.chats[REVIEW_CHAT][-1].text


async def test_two_reviewers_decide_at_once_the_first_stands(app: App, transcript: Transcript, admin: Person) -> None:
    main, _ = await lab_with_two_contacts(app, transcript)
    await submit(main)
    other = Person(transcript, "rev-2", REVIEW_CHAT, name="周审核")
    await make_reviewer(app, other)
    message, approve = admin.find_button("✅ 通过")
    _, give_back = admin.find_button("↩ 退回…")
    await admin.handle(admin.event("button", button=approve.data, message_id=message.message_id, callback_id="a"))
    out = await other.handle(
        other.event("button", button=give_back.data, message_id=message.message_id, callback_id="b")
    )
    assert "李审核" in texts(out) and "以先做出的决定为准" in texts(out)
    out = await other.handle(other.event("button", button=approve.data, message_id=message.message_id, callback_id="c"))
    assert "以先做出的决定为准" in texts(out)
    [review] = await reviews(app)
    assert review.reviewer == "test:admin-1" and review.decision == "approved"
    assert (await enrolment(app)).status == "approved"


async def test_a_decision_on_a_submission_sent_again_changes_nothing(
    app: App, transcript: Transcript, admin: Person
) -> None:
    main, _ = await lab_with_two_contacts(app, transcript)
    await submit(main)
    old_card, old_approve = admin.find_button("✅ 通过")
    await admin.press("↩ 退回…")
    await admin.press("☐ 缓交协议未经科室负责人签字")
    await admin.press("确认退回")
    await main.press("重新提交这些项目")
    await main.press("上传签字盖章的协议")
    from tests.test_journey import AGREEMENT_PAGE_2

    await main.send_file(AGREEMENT_PAGE_2, name="signed.jpg")
    await main.press("缓交协议已传完")
    await main.press("提交审核")
    assert (await enrolment(app)).revision == 2
    # Another reviewer presses "approve" on the first alert: revision 1, since sent again.
    other = Person(transcript, "rev-2", REVIEW_CHAT, name="周审核")
    await make_reviewer(app, other)
    out = await other.handle(
        other.event("button", button=old_approve.data, message_id=old_card.message_id, callback_id="x")
    )
    assert "已重新提交（现为第 2 次提交）" in texts(out)
    enr = await enrolment(app)
    assert (enr.status, enr.revision) == ("submitted", 2)
    assert [r.revision for r in await reviews(app)] == [1]
    await other.press("打开最新提交")
    assert "第 2 次提交" in other.last.text and "✅ 通过" in other.last.labels


# -- who may ----------------------------------------------------------------------------------------------------
async def test_forged_decision_buttons_from_a_lab_contact_change_nothing_and_are_audited(
    app: App, transcript: Transcript, admin: Person
) -> None:
    main, backup = await lab_with_two_contacts(app, transcript)
    await submit(main)
    _, approve = admin.find_button("✅ 通过")
    _, give_back = admin.find_button("↩ 退回…")
    before = await enrolment(app)
    async with app.db.reading() as s:
        queued = await s.scalar(select(func.count()).select_from(OutboxMessage))
    for data in (approve.data, give_back.data, "g:rv:queue", "g:rv:lab.1", "g:adm:audit.1.0", "g:adm:export"):
        out = await backup.press("", data=data)
        assert "没有权限" in texts(out), (data, texts(out))
    for command in (
        "/queue",
        "/stats",
        "/lab HN0001",
        "/approve HN0001",
        "/export",
        "/grant c-backup",
        "/audit HN0001",
    ):
        await backup.send(command)
        assert "没有权限" in backup.last.text, command
    after = await enrolment(app)
    assert (after.status, after.revision, after.version) == (before.status, before.revision, before.version)
    assert await reviews(app) == []
    async with app.db.reading() as s:
        refused = list(await s.scalars(select(AuditLog).where(AuditLog.action == "refused")))
        # Nothing was queued for anyone but the refusals themselves (replies in the contact's own chat).
        extra = await s.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.chat_id != backup.chat_id)
        )
    assert len(refused) == 13 and {r.actor for r in refused} == {"test:c-backup"}
    assert extra == queued


async def test_a_revoked_reviewer_s_old_buttons_change_nothing(app: App, transcript: Transcript, admin: Person) -> None:
    main, _ = await lab_with_two_contacts(app, transcript)
    reviewer = Person(transcript, "rev-9", REVIEW_CHAT, name="钱审核")
    await admin.send("/grant rev-9 钱审核")
    assert "已将 rev-9 设为审核员" in admin.last.text
    await submit(main)
    _, approve = reviewer.find_button("✅ 通过")
    await admin.send("/revoke rev-9")
    assert "已撤销 rev-9 的审核员权限" in admin.last.text
    out = await reviewer.press("", data=approve.data)
    assert "没有权限" in texts(out)
    assert (await enrolment(app)).status == "submitted"


async def test_scoped_return_buttons_belong_to_the_reviewer_who_opened_them(
    app: App, transcript: Transcript, admin: Person
) -> None:
    main, _ = await lab_with_two_contacts(app, transcript)
    await submit(main)
    await admin.press("↩ 退回…")
    message, tick = admin.find_button("☐ 缓交协议未加盖单位公章")
    other = Person(transcript, "rev-2", REVIEW_CHAT, name="周审核")
    await make_reviewer(app, other)
    out = await other.handle(other.event("button", button=tick.data, message_id=message.message_id, callback_id="z"))
    assert "过期" in texts(out)  # not their screen
    _, confirm = admin.find_button("确认退回")
    out = await other.handle(other.event("button", button=confirm.data, message_id=message.message_id, callback_id="y"))
    assert (await enrolment(app)).status == "submitted"


async def test_the_approve_needs_both_documents(
    app: App, transcript: Transcript, admin: Person, clock: FixedClock
) -> None:
    main, _ = await lab_with_two_contacts(app, transcript)
    await submit(main)
    async with app.db.transaction() as s:  # the licence disappears (e.g. superseded by a support action)
        from storage.models import Document

        for doc in await s.scalars(select(Document).where(Document.kind == "licence")):
            doc.status = "superseded"
    await admin.press("✅ 通过")
    assert "二者缺一不可" in admin.last.text
    assert (await enrolment(app)).status == "submitted"
    assert await reviews(app) == []


async def test_documents_as_pdf_reach_reviewers_as_pages_we_drew(
    app: App, transcript: Transcript, admin: Person
) -> None:
    """Reviewers never get the sender's PDF (it may carry JavaScript or an exploit): its pages, drawn by us."""
    from storage.models import Document
    from tests.conftest import require_tool
    from tests.heavy_samples import pdf_with_javascript

    require_tool("pdftoppm")
    main, _ = await lab_with_two_contacts(app, transcript)
    await submit(main)
    pdf = pdf_with_javascript()
    async with app.db.transaction() as s:  # the licence came as a PDF, before copies were drawn at upload
        licence = await s.scalar(select(Document).where(Document.kind == "licence"))
        assert licence is not None
        licence.mime, licence.storage_key = "application/pdf", app.services.store.put(pdf)
        licence.precheck = {"issues": ["pre-pdf-active"], "advice": [], "pages": 1}
    out = await admin.press("📎 查看材料")
    assert not [a for a in out if isinstance(a, SendDocument)]
    album = next(a for a in out if isinstance(a, SendAlbum))
    names = [item.file.filename for item in album.items]
    assert names == ["HN0001-agreement-1.jpg", "HN0001-licence-1.jpg"]
    page = app.services.store.get(album.items[1].file.stored or "")
    assert page[:2] == b"\xff\xd8" and page != pdf
    assert "可执行内容" in album.items[1].caption and "重新渲染" in album.items[1].caption


async def test_after_the_deadline_the_desk_still_decides(
    app: App, transcript: Transcript, admin: Person, clock: FixedClock
) -> None:
    main, _ = await lab_with_two_contacts(app, transcript)
    await submit(main)
    clock.set(datetime.fromisoformat("2025-02-27T09:00:00+08:00"))
    await admin.press("✅ 通过")
    assert (await enrolment(app)).status == "approved"


async def test_each_reader_gets_their_language(app: App, transcript: Transcript, admin: Person) -> None:
    main, backup = await lab_with_two_contacts(app, transcript)
    await backup.send("/lang en")
    await submit(main)
    reviewer = Person(transcript, "rev-en", name="Reviewer")
    await make_reviewer(app, reviewer)
    await reviewer.send("/lang en")
    await reviewer.send("/queue")
    assert "1 awaiting review (oldest first)" in reviewer.last.text
    await reviewer.press("1. HN0001")
    assert "2025 registration · 郑州市第一人民医院检验科 (HN0001) · submission 1" in reviewer.last.text
    assert "Specialties (3): Routine clinical chemistry" in reviewer.last.text
    in_group = Person(transcript, "rev-en", REVIEW_CHAT, name="Reviewer")
    await in_group.press("✅ 通过")  # on the alert in the reviewers' group, which stays Chinese
    assert "✅ 已通过 — Reviewer" in in_group.last.text
    assert "has been approved" in backup.last.text and "take part first, pay later" in backup.last.text
    assert "审核通过" in main.last.text


async def test_two_reviewers_pressing_at_the_same_moment(app: App, transcript: Transcript, admin: Person) -> None:
    import asyncio

    main, backup = await lab_with_two_contacts(app, transcript)
    await submit(main)
    other = Person(transcript, "rev-2", REVIEW_CHAT, name="周审核")
    await make_reviewer(app, other)
    # 周审核 has ticked a reason and is about to confirm the return while 李审核 approves.
    await other.press("↩ 退回…")
    await other.press("☐ 缓交协议未加盖单位公章")
    checklist, confirm = other.find_button("确认退回")
    card, approve = admin.find_button("✅ 通过")
    outcomes = await asyncio.gather(
        app.core.handle(admin.event("button", button=approve.data, message_id=card.message_id, callback_id="p1")),
        app.core.handle(other.event("button", button=confirm.data, message_id=checklist.message_id, callback_id="p2")),
    )
    said = [texts([a for _, a in o.deliveries] + o.toasts) for o in outcomes]
    [review] = await reviews(app)
    enr = await enrolment(app)
    assert enr.status == review.decision
    loser = 1 if review.reviewer == "test:admin-1" else 0
    assert "以先做出的决定为准" in said[loser]
    assert "以先做出的决定为准" not in said[1 - loser]
    # The lab is told once: one result queued for each of its two contacts.
    async with app.db.reading() as s:
        pushed = list(
            await s.scalars(select(OutboxMessage).where(OutboxMessage.chat_id.in_([main.chat_id, backup.chat_id])))
        )
    decided = [r for r in pushed if "审核通过" in str(r.payload) or "被中心退回" in str(r.payload)]
    assert len(decided) == 2


async def test_a_return_for_the_invoice_reopens_only_the_invoice(
    app: App, transcript: Transcript, admin: Person
) -> None:
    main, _ = await lab_with_two_contacts(app, transcript)
    await submit(main)
    await admin.press("↩ 退回…")
    await admin.press("☐ 许可证上的单位名称与开票单位名称不一致")
    await admin.press("确认退回")
    assert (await enrolment(app)).returned_items == ["invoice"]
    assert "开票单位名称与执业许可证上的单位名称不一致" in main.last.text
    await main.press("重新提交这些项目")
    assert main.last.text.startswith("开票信息")  # straight to what failed, not to the submission
    await main.send("/status")
    assert "⬜ 第二步" in main.last.text and "✅ 第一步" in main.last.text and "✅ 第三步" in main.last.text
    await main.press("继续申报")
    await main.press("✏️ 开票单位名称")
    await main.send("郑州市第一人民医院检验科")
    await main.press("下一步")
    await main.press("确认申购")
    assert "请确认 2025 年申报内容" in main.last.text, main.last.text
    await main.press("提交审核")
    enr = await enrolment(app)
    assert (enr.status, enr.revision, enr.invoice["title"]) == ("submitted", 2, "郑州市第一人民医院检验科")
    assert enr.last_year_tests and enr.specialties == ["CHEM", "CBC", "COAG"]  # everything else kept
