"""Step 1 beyond the catalogue: a lab adds tests the list lacks as free text (checked, a listed one ticked
instead), and they reach the reviewer's card. After submission, a change to those alone is a new revision,
and confirming step 1 unchanged sends nothing (a change to the ticks is test_review_desk's)."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import App
from conversations.events import SendDocument
from storage.models import Enrollment
from tests.factories import bind, make_lab
from tests.harness import Person, Transcript
from tests.test_journey import pdf_text, walk_checklist, walk_documents, walk_plan

REVIEW_CHAT = "review-chat"


async def _enrollment(app: App, lab_id: int) -> Enrollment:
    async with app.db.reading() as s:
        enr = await s.scalar(select(Enrollment).where(Enrollment.lab_id == lab_id))
        assert enr is not None
        return enr


async def test_tests_not_in_the_list_are_typed_checked_and_shown_to_the_reviewer(
    app: App, transcript: Transcript
) -> None:
    lab_id = await make_lab(app)
    person = Person(transcript, "extra", name="王检验")
    await bind(app, person, lab_id)
    await person.send("/start")
    await person.press("继续申报")
    await person.press("列表中没有的项目（0）")
    assert "请直接输入项目名称" in person.last.text and "还没有添加" in person.last.text

    # Bad names: each refused with its reason, and nothing typed in that message is added.
    await person.send("降钙素原、😀😀")
    assert "“😀😀”没有添加（这次输入的都没有添加）：项目名称不能包含表情符号" in person.last.text, person.last.text
    await person.send("A")
    assert "“A”没有添加" in person.last.text
    assert (await _enrollment(app, lab_id)).extra_tests_draft is None

    # Several at once; a listed test typed by name is ticked rather than added twice.
    await person.send("血清淀粉样蛋白A、降钙素原\nALT\n降钙素原、K")
    assert "已在列表中，已为您勾选：ALT、K" in person.last.text
    assert "已添加：血清淀粉样蛋白A、降钙素原" in person.last.text
    enr = await _enrollment(app, lab_id)
    assert enr.extra_tests_draft == ["血清淀粉样蛋白A", "降钙素原"] and enr.checklist_draft == ["CHEM.K", "CHEM.ALT"]
    await person.press("✖ 血清淀粉样蛋白A")
    assert "已添加：降钙素原" in person.last.text
    await person.send("白细胞介素-6")
    await person.press("返回专业列表")
    assert "列表中没有的项目（2）" in " ".join(person.last.labels)

    await person.press("查看汇总并提交")
    assert "共 4 项" in person.last.text and "• 列表外项目（2）：降钙素原、白细胞介素-6" in person.last.text
    await person.press("确认提交")
    enr = await _enrollment(app, lab_id)
    assert enr.extra_tests == ["降钙素原", "白细胞介素-6"] and enr.extra_tests_draft is None
    assert enr.last_year_tests == ["CHEM.K", "CHEM.ALT"]

    await walk_plan(person)
    await walk_documents(person)
    assert "第一步：2024 年已开展项目 4 项" in person.last.text, person.last.text  # the lab's own count
    out = await person.press("提交审核")
    [receipt] = [a for a in out if isinstance(a, SendDocument)]
    assert "列表外项目" in pdf_text(app.services.store.get(receipt.file.stored or ""))
    card = transcript.chats[REVIEW_CHAT][-1].text
    assert "列表外项目（2）：降钙素原、白细胞介素-6" in card, card


async def test_after_submission_only_a_real_change_to_step_1_makes_a_revision(app: App, transcript: Transcript) -> None:
    lab_id = await make_lab(app)
    person = Person(transcript, "later", name="王检验")
    await bind(app, person, lab_id)
    await person.send("/start")
    await walk_checklist(person)
    await walk_plan(person)
    await walk_documents(person)
    await person.press("提交审核")
    submitted = await _enrollment(app, lab_id)
    assert (submitted.status, submitted.revision) == ("submitted", 1)

    # Unchanged: confirming step 1 again sends nothing new.
    await person.send("/status")
    await person.press("修改第一步")
    await person.press("查看汇总并提交")
    await person.press("确认提交")
    assert (await _enrollment(app, lab_id)).revision == 1

    await person.send("/status")
    await person.press("修改第一步")
    await person.press("列表中没有的项目")
    await person.send("降钙素原")
    await person.press("返回专业列表")
    await person.press("查看汇总并提交")
    await person.press("确认提交")
    assert "第一步的修改已作为第 2 次提交发给中心审核，其他内容保持不变" in person.last.text, person.last.text
    enr = await _enrollment(app, lab_id)
    assert (enr.status, enr.revision, enr.extra_tests) == ("submitted", 2, ["降钙素原"])
    assert (enr.lab_info, enr.specialties) == (submitted.lab_info, submitted.specialties)  # nothing reopened
    card = transcript.chats[REVIEW_CHAT][-1].text
    assert "第 2 次提交" in card and "列表外项目（1）：降钙素原" in card, card
