"""The lab contact's journey through the core, as transcripts: binding, the three steps, documents,
submission — every stored field asserted."""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
import zipfile
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from bot.app import App
from conversations.clock import FixedClock
from conversations.events import SendDocument, Toast
from storage.models import AuditLog, BindingCode, Contact, Document, Enrollment, Lab, UserProfile
from storage.repos.bindings import issue
from tests import image_samples as samples
from tests.conftest import require_tool
from tests.factories import bind, make_lab
from tests.harness import Person, Transcript, texts


def pdf_text(data: bytes) -> str:
    """The text a reader would see, extracted by poppler (whitespace dropped: CJK lines wrap anywhere)."""
    tool = require_tool("pdftotext")
    with tempfile.NamedTemporaryFile(suffix=".pdf") as fh:
        fh.write(data)
        fh.flush()
        text = subprocess.run([tool, "-enc", "UTF-8", fh.name, "-"], capture_output=True, check=True).stdout
    return "".join(text.decode().split())


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("word/document.xml", '<?xml version="1.0"?><w:document/>')
    return buffer.getvalue()


AGREEMENT = samples.jpeg(samples.document(seal=True))
AGREEMENT_PAGE_2 = samples.jpeg(samples.document(seal=True, seed=2))
LICENCE = samples.jpeg(samples.document(seal=False, seed=3))


async def _code(app: App, lab_id: int, *, backup: bool = False) -> str:
    async with app.db.transaction() as s:
        return await issue(s, lab_id, now=app.services.clock.now(), created_by="test", for_backup=backup)


async def _enrollment(app: App, lab_id: int) -> Enrollment:
    async with app.db.reading() as s:
        enr = await s.scalar(select(Enrollment).where(Enrollment.lab_id == lab_id))
        assert enr is not None
        return enr


async def _docs(app: App, lab_id: int) -> list[Document]:
    async with app.db.reading() as s:
        return list(await s.scalars(select(Document).where(Document.lab_id == lab_id).order_by(Document.id)))


# -- binding -------------------------------------------------------------------------------------------------
async def test_admin_issues_a_code_and_a_contact_binds_by_deep_link(
    app: App, transcript: Transcript, admin: Person
) -> None:
    lab_id = await make_lab(app)
    await admin.send("/codes HN0001")
    match = re.search(r"/start (HN0001_[A-Z0-9]{8})", admin.last.text)
    assert match, admin.last.text
    async with app.db.reading() as s:
        stored = (await s.scalars(select(BindingCode))).all()
    assert len(stored) == 1 and match.group(1).split("_")[1] not in stored[0].code_hash
    person = Person(transcript, "lab-user-1", name="王检验")
    await person.send(f"/start {match.group(1)}")
    assert "绑定成功" in person.last.text and "HN0001" in person.last.text
    async with app.db.reading() as s:
        contact = await s.scalar(select(Contact).where(Contact.user_id == "lab-user-1"))
        code = await s.scalar(select(BindingCode))
    assert contact is not None and contact.lab_id == lab_id and contact.active and not contact.is_backup
    assert code is not None and code.used_at is not None and code.used_by == "test:lab-user-1"
    # Single use: a second person with the same code is refused.
    other = Person(transcript, "lab-user-2")
    await other.send(f"/start {match.group(1)}")
    assert "不正确" in other.last.text


async def test_binding_by_typing_codes_and_backup_contact(app: App, transcript: Transcript) -> None:
    lab_id = await make_lab(app)
    main_code, backup_code = await _code(app, lab_id), await _code(app, lab_id, backup=True)
    main, backup = Person(transcript, "m1"), Person(transcript, "b1")
    await main.send("/start")
    await main.press("绑定实验室")
    assert "实验室编码和绑定码" in main.last.text
    await main.send(f"hn0001  {main_code[:4].lower()}-{main_code[4:]}")
    assert "绑定成功" in main.last.text
    await backup.send("/start")
    await backup.press("绑定实验室")
    await backup.send(f"HN0001 {backup_code}")
    assert "备用联系人" in backup.last.text
    async with app.db.reading() as s:
        contacts = (await s.scalars(select(Contact).where(Contact.lab_id == lab_id).order_by(Contact.id))).all()
    assert [(c.user_id, c.is_backup) for c in contacts] == [("m1", False), ("b1", True)]


async def test_five_failed_attempts_lock_the_chat_for_an_hour(
    app: App, transcript: Transcript, clock: FixedClock
) -> None:
    lab_id = await make_lab(app)
    good = await _code(app, lab_id)
    person = Person(transcript, "x1")
    for attempt in range(4):
        await person.send(f"/start HN0001_ZZZZZZZZ{attempt}"[:24])
        assert "还可以再试" in person.last.text
    await person.send("/start HN0001_ZZZZZZZZ")
    assert "错误次数过多" in person.last.text
    # Even the right code is refused while locked, and the lockout says until when.
    await person.send(f"/start HN0001_{good}")
    assert "错误次数过多" in person.last.text and "11:00" in person.last.text
    async with app.db.reading() as s:
        assert await s.scalar(select(func.count()).select_from(Contact)) == 0
        profile = await s.scalar(select(UserProfile).where(UserProfile.user_id == "x1"))
    assert profile is not None and profile.bind_locked_until is not None
    clock.set(datetime.fromisoformat("2025-02-10T11:01:00+08:00"))
    await person.send(f"/start HN0001_{good}")
    assert "绑定成功" in person.last.text


async def test_expired_code_is_refused(app: App, transcript: Transcript, clock: FixedClock) -> None:
    lab_id = await make_lab(app)
    code = await _code(app, lab_id)
    clock.set(datetime.fromisoformat("2025-04-20T10:00:00+08:00"))
    person = Person(transcript, "late")
    await person.send(f"/start HN0001_{code}")
    assert "不正确" in person.last.text


async def test_non_admin_cannot_issue_codes(app: App, contact: Person) -> None:
    await contact.send("/codes HN0001")
    assert "没有权限" in contact.last.text
    async with app.db.reading() as s:
        assert await s.scalar(select(func.count()).select_from(BindingCode)) == 0
        refused = await s.scalar(select(AuditLog).where(AuditLog.action == "refused"))
    assert refused is not None and refused.actor == "test:contact-1"


# -- the three steps ---------------------------------------------------------------------------------------
async def walk_checklist(person: Person) -> None:
    await person.press("继续申报")
    assert "第一步" in person.last.text
    await person.press("临床常规化学")
    assert "第 1/3 页" in person.last.text
    await person.press("☐ K 钾")
    await person.press("☐ Na 钠")
    await person.press("下一页")
    await person.press("☐ ALT")
    await person.press("返回专业列表")
    await person.press("全血细胞计数")
    await person.press("全选")
    await person.press("返回专业列表")
    await person.press("查看汇总并提交")
    assert "共 11 项" in person.last.text
    await person.press("确认提交")


async def walk_plan(person: Person) -> None:
    assert "请输入本室联系电话" in person.last.text
    await person.send("0371-67966305")
    assert "科室负责人" in person.last.text
    await person.send("张伟")
    assert "本室信息" in person.last.text and "张伟" in person.last.text
    await person.press("下一步")
    assert "开票单位名称" in person.last.text
    await person.send("郑州市第一人民医院")
    assert "开票信息" in person.last.text and "12410000415800281H" in person.last.text
    await person.press("下一步")
    if "收件人电话" in person.last.text:  # the name is prefilled from the contact; a mobile only if known
        await person.send("139 1234 5678")
    assert "邮政编码" in person.last.text
    await person.send("４５００５２")
    await person.press("下一步")
    assert "☑ 临床常规化学" in " ".join(person.last.labels)  # preselected from last year's tests
    await person.press("☐ 凝血实验")
    await person.press("下一步")
    assert "请核对 2025 年申购信息" in person.last.text
    await person.press("确认申购")


async def walk_documents(person: Person) -> list[SendDocument]:
    assert "第三步" in person.last.text
    out = await person.press("下载缓交协议")
    pdfs = [a for a in out if isinstance(a, SendDocument)]
    await person.press("上传签字盖章的协议")
    out = await person.send_file(AGREEMENT, name="协议.jpg")
    assert "✅" in texts(out), texts(out)
    await person.press("缓交协议已传完")
    await person.press("上传执业许可证")
    await person.send_file(LICENCE, name="licence.jpg", kind="photo")
    await person.press("执业许可证已传完")
    assert "截止日期" in person.last.text
    await person.press("没有变化")
    return pdfs


async def test_seeded_lab_from_binding_to_submission(app: App, transcript: Transcript) -> None:
    lab_id = await make_lab(app)
    person = Person(transcript, "walker", name="王检验")
    await person.send(f"/start HN0001_{await _code(app, lab_id)}")
    await walk_checklist(person)
    enr = await _enrollment(app, lab_id)
    assert enr.last_year_tests == [
        "CHEM.K",
        "CHEM.Na",
        "CHEM.ALT",
        *(f"CBC.{t}" for t in ["WBC", "RBC", "Hb", "Hct", "MCV", "MCH", "MCHC", "PLT"]),
    ]
    assert enr.checklist_submitted_at is not None and enr.checklist_draft is None

    await walk_plan(person)
    enr = await _enrollment(app, lab_id)
    assert enr.lab_info == {
        "name": "郑州市第一人民医院检验科",
        "address": "郑州市金水区示范路 1 号",
        "phone": "0371-67966305",
        "head": "张伟",
    }
    assert enr.invoice == {"title": "郑州市第一人民医院", "taxpayer_id": "12410000415800281H"}
    assert enr.mailing == {
        "recipient": "王检验",
        "phone": "13912345678",
        "address": "郑州市金水区示范路 1 号",
        "postcode": "450052",
    }
    assert enr.specialties == ["CHEM", "CBC", "COAG"]
    assert enr.plan_confirmed_at is not None and enr.mandatory_declined == []

    pdfs = await walk_documents(person)
    assert len(pdfs) == 1 and pdfs[0].file.filename.endswith(".pdf")
    agreement_text = pdf_text(app.services.store.get(pdfs[0].file.stored or ""))
    for expected in ("郑州市第一人民医院检验科", "HN0001", "临床常规化学", "凝血实验", "科室负责人签字", "单位公章"):
        assert expected in agreement_text
    # A form the director signs: the institution as 乙方, the department beneath, the head named at the
    # signature, the credit code and the address, all as confirmed in step 2.
    for expected in (
        "乙方（单位）：郑州市第一人民医院科室：郑州市第一人民医院检验科",
        "科室负责人：张伟",
        "12410000415800281H",
        "郑州市金水区示范路1号",
        "乙方（盖章）：郑州市第一人民医院",
    ):
        assert expected in agreement_text, expected
    docs = await _docs(app, lab_id)
    assert [(d.kind, d.status) for d in docs] == [("agreement", "active"), ("licence", "active")]
    assert docs[0].sha256 and app.services.store.get(docs[0].storage_key) == AGREEMENT
    assert docs[0].original_name == "协议.jpg" and docs[0].precheck["advice"] == []

    assert "请确认 2025 年申报内容" in person.last.text
    out = await person.press("提交审核")
    assert "已提交！回执编号 2025-HN0001-R1" in texts(out)
    receipt = [a for a in out if isinstance(a, SendDocument)]
    receipt_text = pdf_text(app.services.store.get(receipt[0].file.stored or ""))
    for expected in ("2025-HN0001-R1", "郑州市第一人民医院", "12410000415800281H", "450052"):
        assert expected in receipt_text
    # Tests by their names, grouped by specialty; no internal codes.
    assert "临床常规化学钾、钠、丙氨酸氨基转移酶" in receipt_text
    assert "白细胞计数" in receipt_text and "CHEM.K" not in receipt_text and "MCHC" not in receipt_text
    enr = await _enrollment(app, lab_id)
    assert (enr.status, enr.revision, enr.returned_items) == ("submitted", 1, [])
    assert enr.submitted_at is not None
    await person.send("/status")
    assert person.last.text.count("✅") == 3 and "已提交，等待中心审核" in person.last.text
    # Submitted: step 2 can no longer be changed from the chat.
    await person.press("继续申报")
    assert "等待中心审核" in person.last.text


async def test_double_tapped_submit_submits_once(app: App, transcript: Transcript) -> None:
    lab_id = await make_lab(app)
    person = Person(transcript, "dbl")
    await bind(app, person, lab_id)
    await person.send("/start")
    await walk_checklist(person)
    await walk_plan(person)
    await walk_documents(person)
    message, button = person.find_button("提交审核")
    first = await person.handle(
        person.event("button", button=button.data, message_id=message.message_id, callback_id="c1")
    )
    second = await person.handle(
        person.event("button", button=button.data, message_id=message.message_id, callback_id="c2")
    )
    assert "已提交！" in texts(first)
    assert any(isinstance(a, Toast) and "过期" in a.text for a in second)
    enr = await _enrollment(app, lab_id)
    assert enr.revision == 1


async def test_checklist_ticks_survive_cancel_and_double_taps(app: App, contact: Person) -> None:
    await contact.send("/start")
    await contact.press("继续申报")
    await contact.press("凝血实验")
    message, button = contact.find_button("☐ PT")
    for callback in ("a", "b"):  # a double tap: the same absolute "PT on" twice
        await contact.handle(
            contact.event("button", button=button.data, message_id=message.message_id, callback_id=callback)
        )
    await contact.send("/cancel")
    await contact.press("继续申报")
    await contact.press("凝血实验")
    assert "☑ PT 凝血酶原时间" in contact.last.labels
    async with contact.t.core.db.reading() as s:
        enr = await s.scalar(select(Enrollment))
    assert enr is not None and enr.checklist_draft == ["COAG.PT"] and enr.checklist_submitted_at is None


async def test_bad_field_inputs_are_refused_and_nothing_stored(app: App, contact: Person) -> None:
    await contact.send("/start")
    await walk_checklist(contact)
    await contact.send("12345")
    assert "⚠️ 手机号应为 11 位" in contact.last.text and "请输入本室联系电话" in contact.last.text
    await contact.send("0371-67966305")
    await contact.send("张伟")
    await contact.press("下一步")
    await contact.send("郑州市第一人民医院")
    await contact.press("✏️ 纳税人识别号")
    await contact.send("1241000041580028")  # 16 characters: neither a credit code nor a legacy ID
    assert "您输入了 16 位" in contact.last.text
    await contact.send("1241000O415800281H")  # a letter O where a digit belongs
    assert "这里多半是数字 0" in contact.last.text
    await contact.send("12410000415800281H")
    await contact.press("下一步")
    await contact.send("4500")
    assert "邮政编码是 6 位数字" in contact.last.text
    enr = await _enrollment(app, (await _lab_id(app)))
    assert enr.mailing.get("postcode") in (None, "")
    assert enr.invoice["taxpayer_id"] == "12410000415800281H"


async def _lab_id(app: App) -> int:
    async with app.db.reading() as s:
        lab_id = await s.scalar(select(Lab.id))
        assert lab_id is not None
        return lab_id


async def test_text_where_a_photo_is_expected_and_photo_where_text_is(app: App, contact: Person) -> None:
    await contact.send("/start")
    await walk_checklist(contact)
    out = await contact.send_file(AGREEMENT, kind="photo")
    assert "现在不需要发送文件" in texts(out)
    await contact.press("回到当前步骤")
    await walk_plan(contact)
    await contact.press("上传签字盖章的协议")
    out = await contact.send("这是协议")
    assert "需要发送照片或文件" in texts(out)
    assert await _docs(app, await _lab_id(app)) == []


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (b"GIF89a" + b"\0" * 200, "a.gif", "GIF"),
        (_docx(), "a.docx", "办公文档"),
        (b"hello, this is not an image at all" * 10, "fake.jpg", "不是图片"),
        (samples.png_declaring(40000, 40000), "bomb.png", "尺寸异常巨大"),
    ],
)
async def test_unusable_files_are_refused(app: App, contact: Person, data: bytes, name: str, expected: str) -> None:
    await contact.send("/start")
    await walk_checklist(contact)
    await walk_plan(contact)
    await contact.press("上传签字盖章的协议")
    out = await contact.send_file(data, name=name, mime="application/octet-stream")
    assert expected in texts(out), texts(out)
    assert await _docs(app, await _lab_id(app)) == []


async def test_a_30_mb_file_is_refused_before_download(app: App, contact: Person, transcript: Transcript) -> None:
    await contact.send("/start")
    await walk_checklist(contact)
    await walk_plan(contact)
    await contact.press("上传签字盖章的协议")
    fetched: list[str] = []

    async def fetch(ref):  # type: ignore[no-untyped-def]
        fetched.append(ref.file_id)
        return b""

    app.services.fetch_file = fetch
    out = await contact.send_file(b"x", name="big.pdf", mime="application/pdf", size=30 * 1024 * 1024)
    assert "文件太大" in texts(out) and fetched == []


async def test_quality_advice_is_given_but_the_file_is_kept(app: App, contact: Person) -> None:
    await contact.send("/start")
    await walk_checklist(contact)
    await walk_plan(contact)
    await contact.press("上传签字盖章的协议")
    small = samples.jpeg(samples.document(width=200))
    out = await contact.send_file(small, name="small.jpg")
    assert "图片太小" in texts(out)
    blurry = samples.jpeg(samples.photograph(samples.document(seed=5), blur=6.0))
    out = await contact.send_file(blurry, name="blurry.jpg")
    assert "模糊" in texts(out)
    unsealed = samples.jpeg(samples.document(seal=False, seed=6))
    out = await contact.send_file(unsealed, name="noseal.jpg")
    assert "没有看到红色公章" in texts(out)
    docs = await _docs(app, await _lab_id(app))
    assert len(docs) == 3 and all(d.status == "active" for d in docs)
    assert "pre-no-seal" in docs[2].precheck["advice"]


async def test_an_album_is_handled_together(app: App, contact: Person) -> None:
    await contact.send("/start")
    await walk_checklist(contact)
    await walk_plan(contact)
    await contact.press("上传签字盖章的协议")
    for data in (AGREEMENT, AGREEMENT_PAGE_2):
        out = await contact.send_file(data, name="p.jpg", kind="photo", media_group_id="g1")
        assert out == []  # collected, answered once the album is complete
    outcomes = await contact.t.core.flush_albums(force=True)
    delivered = contact.t.deliver(outcomes[0].deliveries)
    text = texts(delivered)
    assert "第 1 个文件" in text and "第 2 个文件" in text and "已收到 2 份" in text
    docs = await _docs(app, await _lab_id(app))
    assert [d.kind for d in docs] == ["agreement", "agreement"]
    assert await contact.t.core.flush_albums(force=True) == []


async def test_licence_on_file_need_not_be_sent_again(app: App, transcript: Transcript) -> None:
    lab_id = await make_lab(app)
    async with app.db.transaction() as s:  # last year's registration with its licence
        old = Enrollment(
            lab_id=lab_id,
            year=2024,
            status="approved",
            invoice={"title": "郑州市第一人民医院", "taxpayer_id": "12410000415800281H"},
        )
        s.add(old)
        await s.flush()
        key = app.services.store.put(LICENCE)
        s.add(
            Document(
                lab_id=lab_id,
                enrollment_id=old.id,
                kind="licence",
                sha256=key,
                size=len(LICENCE),
                mime="image/jpeg",
                storage_key=key,
                created_at=app.services.clock.now(),
            )
        )
    person = Person(transcript, "keeper")
    await bind(app, person, lab_id)
    await person.send("/faq")
    await person.press("医疗机构执业许可证")
    assert "不需要重复上传" in person.last.text
    await person.send("/start")
    await walk_checklist(person)
    await person.send("0371-67966305")
    await person.send("张伟")
    await person.press("下一步")
    assert "开票信息" in person.last.text and "郑州市第一人民医院" in person.last.text  # last year's invoice
    await person.press("下一步")
    await person.send("13912345678")
    await person.send("450052")
    await person.press("下一步")
    await person.press("下一步")
    await person.press("确认申购")
    await person.press("上传签字盖章的协议")
    await person.send_file(AGREEMENT)
    await person.press("缓交协议已传完")
    await person.press("沿用已上传的许可证")
    assert "请确认 2025 年申报内容" in person.last.text and "沿用已上传" in person.last.text


async def test_a_licence_expiring_before_samples_must_be_replaced(app: App, transcript: Transcript) -> None:
    lab_id = await make_lab(app, licence_valid_to=date(2025, 2, 20))  # lapses before the deadline
    person = Person(transcript, "exp")
    await bind(app, person, lab_id)
    await person.send("/status")
    assert "新的执业许可证" in person.last.text
    await person.send("/start")
    await walk_checklist(person)
    await walk_plan(person)
    await person.press("上传执业许可证")
    await person.send_file(LICENCE)
    await person.press("执业许可证已传完")
    assert "没有变化" not in " ".join(person.last.labels)
    await person.send("2025-02-20")  # no dispatch day is given: the licence must be valid at the deadline
    assert "早于申报截止日" in person.last.text
    await person.send("2030年4月30日")
    async with app.db.reading() as s:
        lab = await s.get(Lab, lab_id)
    assert lab is not None and lab.licence_valid_to == date(2030, 4, 30)


async def test_after_the_deadline_nothing_changes(app: App, contact: Person, clock: FixedClock) -> None:
    await contact.send("/start")
    await contact.press("继续申报")
    clock.set(datetime.fromisoformat("2025-02-26T00:00:01+08:00"))
    out = await contact.press("临床常规化学")
    assert "截止" in texts(out) and "不发放本年度室间质量评价样品" in texts(out) and "0371-67966305" in texts(out)
    enr = await _enrollment(app, await _lab_id(app))
    assert enr.checklist_draft is None and enr.status == "draft"


async def test_two_contacts_of_one_lab_editing_at_once(app: App, transcript: Transcript) -> None:
    lab_id = await make_lab(app)
    a, b = Person(transcript, "ca"), Person(transcript, "cb")
    await bind(app, a, lab_id)
    await bind(app, b, lab_id)
    for p in (a, b):
        await p.send("/start")
        await p.press("继续申报")
        await p.press("凝血实验")
    await a.press("☐ PT")
    await b.press("☐ APTT")  # b's screen is older; the absolute ticks merge instead of overwriting
    enr = await _enrollment(app, lab_id)
    assert enr.checklist_draft == ["COAG.PT", "COAG.APTT"]
    assert enr.version >= 3


async def test_mandatory_specialties_are_preselected_and_not_dropped_silently(app: App, transcript: Transcript) -> None:
    lab_id = await make_lab(app, code="HN0009", name="洛阳市中心血站", institution_type="blood_centre", level=None)
    person = Person(transcript, "blood")
    await bind(app, person, lab_id)
    await person.send("/start")
    assert "《血站执业许可证》" in person.last.text and "医疗机构执业许可证" not in person.last.text
    await person.press("继续申报")
    # A blood station's step 1 is not worded as the hospitals' performance assessment.
    assert "本单位检测实验室已开展的所有检验项目" in person.last.text and "绩效考核" not in person.last.text
    await person.press("血站血液检验")
    await person.press("全选")
    await person.press("返回专业列表")
    await person.press("查看汇总并提交")
    await person.press("确认提交")
    await person.send("0379-63000000")
    await person.send("李主任")
    await person.press("下一步")
    await person.send("洛阳市中心血站")
    await person.press("下一步")
    await person.send("13912345678")
    await person.send("471000")
    await person.press("下一步")
    labels = " ".join(person.last.labels)
    assert "☑ 血站血液检验🔒" in labels and "☑ 血型🔒" in labels
    await person.press("☑ 血型🔒")
    assert "必须参加的专业" in person.last.text
    await person.press("保留（参加）")
    enr = await _enrollment(app, lab_id)
    assert enr.specialties == ["BSB", "ABO"] and enr.mandatory_declined == []
    await person.press("☑ 血型🔒")
    await person.press("仍然不参加")
    assert "需要向中心说明原因" in person.last.text
    # No reason, no change: a clear reply, still taking part.
    await person.send("   ")
    assert "没有收到内容" in person.last.text
    for empty in ("。", "无"):
        await person.send(empty)
        assert "必须写明原因，未记录任何更改" in person.last.text, empty
    enr = await _enrollment(app, lab_id)
    assert enr.specialties == ["BSB", "ABO"] and enr.mandatory_declined == []
    await person.send("本站血型检测委托市中心血站完成")
    enr = await _enrollment(app, lab_id)
    assert enr.specialties == ["BSB"] and enr.mandatory_declined == ["ABO"]
    assert enr.mandatory_declined_reasons == {"ABO": "本站血型检测委托市中心血站完成"}
    await person.press("下一步")
    assert "未参加的必选专业：血型" in person.last.text
    assert "不参加“血型”的原因：本站血型检测委托市中心血站完成" in person.last.text
    # Taking part again forgets the reason.
    await person.press("✏️ 参加专业")
    await person.press("☐ 血型🔒")
    enr = await _enrollment(app, lab_id)
    assert enr.specialties == ["BSB", "ABO"] and enr.mandatory_declined == [] and enr.mandatory_declined_reasons == {}
    # Step 3 asks for the licence a blood station holds, and the agreement names it.
    await person.press("下一步")
    await person.press("确认申购")
    assert "《血站执业许可证》" in person.last.text and "医疗机构执业许可证" not in person.last.text
    out = await person.press("下载缓交协议")
    [pdf] = [a for a in out if isinstance(a, SendDocument)]
    agreement = pdf_text(app.services.store.get(pdf.file.stored or ""))
    assert "“血站执业许可证”扫描后上传" in agreement and "医疗机构执业许可证" not in agreement
    await person.press("返回资料列表")
    await person.press("上传执业许可证")
    assert "请发送《血站执业许可证》" in person.last.text


async def test_binding_takes_over_the_rosters_contact(app: App, transcript: Transcript) -> None:
    lab_id = await make_lab(app)
    async with app.db.transaction() as s:
        s.add(Contact(lab_id=lab_id, platform="roster", user_id=None, name="孙主管", mobile="13711112222"))
    person = Person(transcript, "from-roster", name="sun")
    await person.send(f"/start HN0001_{await _code(app, lab_id)}")
    async with app.db.reading() as s:
        contacts = (await s.scalars(select(Contact).where(Contact.lab_id == lab_id))).all()
    assert [(c.user_id, c.name, c.mobile, c.active) for c in contacts] == [
        ("from-roster", "孙主管", "13711112222", True)
    ]
    await walk_checklist(person)
    await person.send("0371-67966305")
    await person.send("张伟")
    await person.press("下一步")
    await person.send("郑州市第一人民医院")
    await person.press("下一步")
    assert "邮政编码" in person.last.text  # recipient and phone came from the roster
    await person.send("450052")
    enr = await _enrollment(app, lab_id)
    assert enr.mailing["recipient"] == "孙主管" and enr.mailing["phone"] == "13711112222"


async def test_a_mailing_address_taken_from_the_institution_asks_for_the_department(
    app: App, transcript: Transcript
) -> None:
    lab_id = await make_lab(app)
    person = Person(transcript, "mailer", name="王检验")
    await person.send(f"/start HN0001_{await _code(app, lab_id)}")
    await walk_checklist(person)
    await person.send("0371-67966305")
    await person.send("张伟")
    await person.press("下一步")
    await person.send("郑州市第一人民医院")
    await person.press("下一步")
    if "收件人电话" in person.last.text:
        await person.send("139 1234 5678")
    await person.send("450052")
    # Prefilled from the institution's record, the address was never asked: the hint says what it needs.
    assert "邮寄地址用的是本单位地址" in person.last.text, person.last.text
    await person.press("✏️ 邮寄地址")
    assert "写到科室" in person.last.text and "郑州市金水区示范路 1 号" in person.last.text
    await person.send("郑州市金水区示范路 1 号 门诊楼 3 楼检验科")
    assert "门诊楼 3 楼检验科" in person.last.text and "邮寄地址用的是本单位地址" not in person.last.text
    enr = await _enrollment(app, lab_id)
    assert enr.mailing["address"] == "郑州市金水区示范路 1 号 门诊楼 3 楼检验科"
