"""People and names: Telegram display names pass the typed-name checks before they are stored or prefilled;
lab codes with invisible or direction-changing characters are refused at roster import; admins remove a
person's access to a lab with /unbind (confirmed, audited, told)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.app import App
from conversations import validators
from storage.models import AuditLog, Contact, UserProfile
from storage.repos.bindings import display_code, issue
from tests.factories import bind, make_lab
from tests.harness import Person, Transcript, texts
from tests.test_admin import HEADERS, import_roster
from tests.test_excel import CREDIT, xlsx
from tests.test_journey import walk_checklist

HYPERLINK = '=HYPERLINK("http://evil.example/x","张三")'


async def _code(app: App, lab_id: int) -> str:
    async with app.db.transaction() as s:
        return display_code(await issue(s, lab_id, now=app.services.clock.now(), created_by="test"))


# -- display names ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [HYPERLINK, "+SUM(1,2)", "-1+1", "@admin", "王检验 🌸", "", "   "])
def test_display_names_get_the_typed_name_checks(name: str) -> None:
    assert validators.display_name(name) is None
    assert validators.display_name("王检验") == "王检验"
    assert validators.display_name("\u202e张三\u200b") == "张三"  # cleaned exactly as when typed
    assert validators.display_name("  买买提 · 艾力 ") == "买买提·艾力"
    assert validators.display_name(None) is None


async def test_a_formula_display_name_is_neither_stored_nor_prefilled(app: App, transcript: Transcript) -> None:
    lab_id = await make_lab(app)
    person = Person(transcript, "formula", name=HYPERLINK)
    await person.send("/start")
    await person.press("绑定实验室")
    await person.send(f"HN0001 {await _code(app, lab_id)}")
    assert "绑定成功" in person.last.text
    async with app.db.reading() as s:
        contact = await s.scalar(select(Contact).where(Contact.user_id == "formula"))
        profile = await s.scalar(select(UserProfile).where(UserProfile.user_id == "formula"))
    assert contact is not None and contact.name is None
    assert profile is None or profile.display_name is None
    await walk_checklist(person)
    await person.send("0371-67966305")
    await person.send("张伟")
    await person.press("下一步")
    await person.send("郑州市第一人民医院")
    await person.press("下一步")
    # Not prefilled: the recipient is asked for, and what is typed is checked as always.
    assert "请输入质控品收件人姓名" in person.last.text and "HYPERLINK" not in person.last.text
    await person.send(HYPERLINK)
    assert "请输入质控品收件人姓名" in person.last.text or "不能" in person.last.text


async def test_a_good_display_name_is_still_kept(app: App, transcript: Transcript) -> None:
    lab_id = await make_lab(app)
    person = Person(transcript, "good", name="王检验")
    await person.send("/start")
    await person.press("绑定实验室")
    await person.send(f"HN0001 {await _code(app, lab_id)}")
    async with app.db.reading() as s:
        contact = await s.scalar(select(Contact).where(Contact.user_id == "good"))
    assert contact is not None and contact.name == "王检验"


# -- lab codes at import ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("hidden", ["\u200b", "\u202e", "\u2066", "\ufeff", "\u200d"])
async def test_lab_codes_with_invisible_characters_are_refused(app: App, admin: Person, hidden: str) -> None:
    rows = [
        HEADERS,
        [
            f"HN{hidden}0201",
            "郑州市第一人民医院",
            "综合医院",
            "三级",
            "郑州",
            "张三",
            "13812345678",
            CREDIT,
            None,
            None,
        ],
        ["HN0202", "郑州市第二人民医院", "综合医院", "三级", "郑州", None, None, None, None, None],
    ]
    out = await import_roster(admin, xlsx(rows))
    said = texts(out)
    assert "导入 1 行，退回 1 行" in said, said
    from tests.test_admin import documents, sheet_rows

    problems = sheet_rows(documents(out)["roster-problems.xlsx"])
    assert problems[1][:2] == [2, "实验室编码"]
    assert f"U+{ord(hidden):04X}" in str(problems[1][2])


# -- /unbind -------------------------------------------------------------------------------------------------------
async def test_admins_unbind_a_person_with_confirmation_and_audit(
    app: App, transcript: Transcript, admin: Person
) -> None:
    lab_id = await make_lab(app)
    leaver, stayer = Person(transcript, "leaver", name="王离职"), Person(transcript, "stayer", name="赵在职")
    await bind(app, leaver, lab_id)
    await bind(app, stayer, lab_id, backup=True, mobile="13900001111")

    await admin.send("/unbind")
    assert "/unbind 实验室编码" in admin.last.text
    await admin.send("/unbind HN9999")
    assert "HN9999" in admin.last.text and "找不到" in admin.last.text
    await admin.send("/unbind HN0001")
    assert "王离职" in " ".join(admin.last.labels) and "赵在职" in " ".join(admin.last.labels)
    await admin.press("王离职")
    assert "确定" in admin.last.text and "王离职" in admin.last.text
    await admin.press("取消")
    async with app.db.reading() as s:
        assert (await s.scalar(select(Contact).where(Contact.user_id == "leaver"))).active  # type: ignore[union-attr]
    await leaver.send("/start")
    await leaver.press("继续申报")  # in the middle of step one when removed
    await admin.send("/unbind HN0001")
    await admin.press("王离职")
    await admin.press("确认解除")
    assert "已解除" in admin.last.text
    assert "解除" in leaver.last.text  # told in their own chat

    async with app.db.reading() as s:
        gone = await s.scalar(select(Contact).where(Contact.user_id == "leaver"))
        kept = await s.scalar(select(Contact).where(Contact.user_id == "stayer"))
        audit = list(await s.scalars(select(AuditLog).where(AuditLog.action == "contact_unbound")))
    assert gone is not None and not gone.active and kept is not None and kept.active
    assert len(audit) == 1 and audit[0].lab_id == lab_id and audit[0].actor == f"{admin.platform}:{admin.user_id}"
    assert audit[0].before == {"active": True, "user": "test:leaver", "backup": False}

    # The person is no longer the lab's contact, even after writing again; the screen they were on is gone.
    out = await leaver.press("临床常规化学")
    assert "请先绑定实验室" in texts(out) and "抱歉" not in texts(out)
    await leaver.send("/status")
    await leaver.send("/status")
    async with app.db.reading() as s:
        gone = await s.scalar(select(Contact).where(Contact.user_id == "leaver"))
    assert gone is not None and not gone.active
    assert "绑定" in leaver.last.text

    # An old confirmation pressed again changes nothing; nobody but an admin may press it.
    out = await admin.press("", data=f"g:unb:do.{gone.id}")
    assert "已不是" in texts(out) and "已解除" not in texts(out)
    out = await stayer.press("", data=f"g:unb:do.{gone.id}")
    assert "没有权限" in texts(out)


async def test_unbind_is_in_help_and_the_command_menus(app: App, admin: Person) -> None:
    from bot.telegram.menus import catalog_describer, command_menus
    from handlers.routing import COMMANDS

    await admin.send("/help")
    assert "/unbind" in admin.last.text
    menus = command_menus(
        {name: c.role for name, c in COMMANDS.items()},
        review_chat="review-chat",
        staff_chats=[],
        describe=catalog_describer(app.services.catalog),
    )
    staff = [m for m in menus if m.scope.get("type") == "chat"]
    assert staff and all("unbind" in dict(m.commands) for m in staff)
    assert dict(staff[0].commands)["unbind"] != dict(staff[0].commands).get("other")
