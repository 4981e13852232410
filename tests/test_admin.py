"""Administration in the chat: reviewers granted and revoked, the roster import (row by row, refusals, binding
codes as a sheet), the enrolment export (read back by LibreOffice), the audit log per lab."""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from bot.app import App
from conversations.events import SendDocument
from handlers import admin_roster
from storage.models import AuditLog, BindingCode, Contact, Enrollment, Lab, Review, Staff
from tests.conftest import require_tool
from tests.factories import bind, make_lab
from tests.harness import Person, Transcript, texts
from tests.test_excel import CREDIT, _soffice_convert, xlsx

HEADERS = [
    "实验室编码",
    "单位名称",
    "机构类型",
    "等级",
    "地市",
    "联系人",
    "手机",
    "统一社会信用代码",
    "备用联系人",
    "备用联系人手机",
]


def sheet_rows(data: bytes) -> list[list[object]]:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return [list(r) for r in wb.active.iter_rows(values_only=True)]


def documents(out: list) -> dict[str, bytes]:  # type: ignore[type-arg]
    return {a.file.filename: a.file.data for a in out if isinstance(a, SendDocument)}


# -- reviewers -------------------------------------------------------------------------------------------------
async def test_admins_grant_list_and_revoke_reviewers(app: App, transcript: Transcript, admin: Person) -> None:
    newcomer = Person(transcript, "rev-1", name="周审核")
    await newcomer.send("/myid")
    assert "您的用户 ID：rev-1" in newcomer.last.text
    await newcomer.send("/queue")
    assert "没有权限" in newcomer.last.text

    await admin.send("/grant rev-1 周审核")
    assert "已将 rev-1 设为审核员" in admin.last.text
    assert "您已被设为室间质评申报的审核员" in newcomer.last.text  # told in their own chat
    await newcomer.send("/queue")
    assert "目前没有待审核的申报" in newcomer.last.text
    await admin.send("/grant rev-1")
    assert "已经是审核员" in admin.last.text
    await admin.send("/reviewers")
    assert "admin-1 · 管理员（配置文件）" in admin.last.text and "rev-1 · 周审核 · 审核员 · 有效" in admin.last.text

    await newcomer.send("/grant rev-2")  # a reviewer is no admin
    assert "没有权限" in newcomer.last.text
    await admin.send("/revoke rev-1")
    assert "已撤销 rev-1 的审核员权限" in admin.last.text
    await newcomer.send("/queue")
    assert "没有权限" in newcomer.last.text
    await admin.send("/revoke rev-1")
    assert "没有审核或管理权限" in admin.last.text
    await admin.send("/revoke admin-1")
    assert "不能在聊天中撤销" in admin.last.text
    await admin.send("/grant rev-1")
    assert "已恢复 rev-1 的审核员权限" in admin.last.text
    await admin.send("/grant")
    assert "用法：/grant" in admin.last.text

    async with app.db.reading() as s:
        staff = await s.scalar(select(Staff).where(Staff.user_id == "rev-1"))
        entries = list(await s.scalars(select(AuditLog).where(AuditLog.entity == "staff").order_by(AuditLog.id)))
    assert staff is not None and staff.active and staff.granted_by == "test:admin-1" and staff.name == "周审核"
    assert [(e.action, e.before, e.after) for e in entries] == [
        ("staff_granted", None, {"role": "reviewer", "active": True, "name": "周审核"}),
        ("staff_revoked", {"role": "reviewer", "active": True}, {"role": "reviewer", "active": False}),
        (
            "staff_granted",
            {"role": "reviewer", "active": False, "name": "周审核"},
            {"role": "reviewer", "active": True, "name": None},
        ),
    ]


async def test_only_settings_admins_make_admins(app: App, transcript: Transcript, admin: Person) -> None:
    await admin.send("/grant boss-2 admin 孙主任")
    assert "已将 boss-2 设为管理员" in admin.last.text
    boss = Person(transcript, "boss-2", name="孙主任")
    await boss.send("/grant someone admin")
    assert "只有配置文件中的管理员" in boss.last.text
    await boss.send("/grant someone")
    assert "已将 someone 设为审核员" in boss.last.text


# -- roster import ---------------------------------------------------------------------------------------------
ROSTER = [
    HEADERS,
    [
        "HN0101",
        "郑州市第一人民医院",
        "综合医院",
        "三级甲等",
        "郑州",
        "张三",
        "13812345678",
        CREDIT,
        "李四",
        "13900000000",
    ],
    ["hn0102", "洛阳市中心血站", "中心血站", "无", "洛阳市", "王五", "13700000000", None, None, None],
    ["HN0103", "某试剂公司", "仪器、试剂生产机构", "三级", "郑州市", None, None, None, None, None],
    ["HN0104", "开封市中医院", "中医医院", "二甲", "开封市", "赵六", "1234", None, None, None],
    ["HN0101", "重复的医院", "综合医院", "三级", "郑州市", None, None, None, None, None],
    ["HN0106", None, "综合医院", "二级", "南阳市", None, None, None, None, None],
    ["HN0107", "新乡市第二人民医院", "综合医院", "二级", "新乡市", None, None, None, None, None],
]


async def import_roster(admin: Person, data: bytes, name: str = "名单.xlsx") -> list:  # type: ignore[type-arg]
    await admin.send("/import")
    assert "请发送实验室名单 Excel 文件" in admin.last.text
    return await admin.send_file(
        data, name=name, mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )


async def test_roster_import_reports_row_by_row_and_issues_binding_codes(
    app: App, transcript: Transcript, admin: Person
) -> None:
    out = await import_roster(admin, xlsx(ROSTER))
    said = texts(out)
    assert "名单共 7 行：导入 3 行，退回 4 行。" in said
    assert "新增 3 家，更新 0 家，无变化 0 家。" in said
    assert "已生成 4 个绑定码" in said  # three main contacts and one backup
    files = documents(out)
    problems = sheet_rows(files["roster-problems.xlsx"])
    assert problems[0] == ["行号", "列", "问题及修改方法"]
    assert [(r[0], r[1]) for r in problems[1:]] == [
        (4, "机构类型"),
        (5, "手机"),
        (6, "实验室编码"),
        (7, "单位名称"),
    ]
    assert "“仪器、试剂生产机构”不是可用的机构类型" in str(problems[1][2])
    assert "“1234”不是有效的手机号" in str(problems[2][2])
    assert "与第 2 行重复" in str(problems[3][2])
    assert "第 7 行“单位名称”是必填项" in str(problems[4][2])

    codes_name = next(n for n in files if n.startswith("binding-codes-"))
    codes = sheet_rows(files[codes_name])
    assert codes[0] == [
        "实验室编码",
        "单位名称",
        "地市",
        "类别",
        "联系人",
        "联系人手机",
        "绑定码",
        "绑定方式（发送给机器人）",
        "有效期至",
    ]
    assert [(r[0], r[3], r[4], r[5]) for r in codes[1:]] == [
        ("HN0101", "联系人", "张三", "13812345678"),
        ("HN0101", "备用联系人", "李四", "13900000000"),
        ("HN0102", "联系人", "王五", "13700000000"),
        ("HN0107", "联系人", None, None),
    ]
    assert all(re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", str(r[6])) for r in codes[1:])

    async with app.db.reading() as s:
        labs = {lab.code: lab for lab in await s.scalars(select(Lab))}
        roster_contacts = list(
            await s.scalars(select(Contact).where(Contact.platform == "roster").order_by(Contact.id))
        )
        issued = await s.scalar(select(func.count()).select_from(BindingCode))
    assert sorted(labs) == ["HN0101", "HN0102", "HN0107"]
    first = labs["HN0101"]
    assert (first.name, first.institution_type, first.level, first.city, first.credit_code, first.source) == (
        "郑州市第一人民医院",
        "general_hospital",
        "L3",
        "郑州市",
        CREDIT,
        "roster",
    )
    blood = labs["HN0102"]
    assert (blood.institution_type, blood.level, blood.city) == ("blood_centre", None, "洛阳市")
    assert [(c.name, c.mobile, c.is_backup, c.user_id) for c in roster_contacts] == [
        ("张三", "13812345678", False, None),
        ("李四", "13900000000", True, None),
        ("王五", "13700000000", False, None),
    ]
    assert issued == 4

    # A code from the sheet binds the lab it names.
    person = Person(transcript, "zhang", name="张三")
    await person.send(str(codes[1][7]))
    assert "绑定成功" in person.last.text and "HN0101" in person.last.text

    # Importing again: nothing doubled; a changed name is an update; no new codes for labs still holding one.
    changed = [list(r) for r in ROSTER]
    changed[7][1] = "新乡市第二人民医院检验科"
    out = await import_roster(admin, xlsx(changed))
    assert "新增 0 家，更新 1 家，无变化 2 家。" in texts(out)
    assert "无需生成新的绑定码" in texts(out)
    async with app.db.reading() as s:
        assert await s.scalar(select(func.count()).select_from(Lab)) == 3
        assert await s.scalar(select(func.count()).select_from(BindingCode)) == 4
        update = await s.scalar(select(AuditLog).where(AuditLog.action == "lab_updated"))
    assert update is not None and update.before == {"name": "新乡市第二人民医院"}
    assert update.after == {"name": "新乡市第二人民医院检验科"}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            xlsx([["实验室编码", "单位名称", "地市"], ["HN1", "某医院", "郑州市"]]),
            "缺少必需的列：机构类型 (type), 等级 (level)",
        ),
        ("实验室编码,单位名称,机构类型,等级,地市\nHN1,某医院,综合医院,三级,郑州市\n".encode(), "看起来是 CSV 或纯文本"),
        (b"", "文件是空的"),
        (xlsx([HEADERS]), "只有表头，没有实验室数据"),
    ],
    ids=["missing-columns", "csv-renamed-xlsx", "empty", "header-only"],
)
async def test_a_roster_refused_as_a_whole_changes_nothing(
    app: App, transcript: Transcript, admin: Person, data: bytes, expected: str
) -> None:
    out = await import_roster(admin, data)
    assert expected in texts(out), texts(out)
    assert "取消" in admin.last.labels  # still waiting for a better file, or a cancel
    async with app.db.reading() as s:
        assert await s.scalar(select(func.count()).select_from(Lab)) == 0
        refused = await s.scalar(select(AuditLog).where(AuditLog.action == "roster_refused"))
    assert refused is not None
    await admin.press("取消")
    assert "已取消导入" in admin.last.text


async def test_wrong_types_in_cells_are_reported_by_row_and_column(app: App, admin: Person) -> None:
    from datetime import datetime

    rows = [HEADERS, ["HN0201", "某医院", "综合医院", "三级", "郑州市", "张三", 13812345678.5, None, None, None]]
    rows.append(["HN0202", datetime(2025, 1, 1), "综合医院", "三级", "郑州市", None, None, None, None, None])
    rows.append(["HN0203", "好医院", "综合医院", True, "郑州市", None, None, None, None, None])
    out = await import_roster(admin, xlsx(rows))
    problems = sheet_rows(documents(out)["roster-problems.xlsx"])
    assert [(r[0], r[1]) for r in problems[1:]] == [(2, "手机"), (3, "单位名称"), (4, "等级")]
    assert (
        "是小数" in str(problems[1][2]) and "是日期或时间" in str(problems[2][2]) and "是逻辑值" in str(problems[3][2])
    )


async def test_ten_thousand_rows_import_with_codes_in_batches(
    app: App, admin: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_roster, "CODES_PER_BATCH", 25)
    rows: list[list[object]] = [HEADERS]
    for i in range(10_000):
        rows.append(
            [
                f"HN{i + 1:05d}",
                f"第{i + 1}医院",
                "综合医院",
                "二级",
                "郑州市",
                f"联系人{i}",
                f"138{i:08d}",
                None,
                None,
                None,
            ]
        )
    data = xlsx(rows)
    started = time.perf_counter()
    out = await import_roster(admin, data)
    took = time.perf_counter() - started
    said = texts(out)
    assert "名单共 10000 行：导入 10000 行，退回 0 行。全部导入成功。" in said
    assert "新增 10000 家" in said and "已生成 25 个绑定码" in said and "还有 9975 家待生成绑定码" in said
    codes = [n for n in documents(out) if n.startswith("binding-codes-")]
    assert len(sheet_rows(documents(out)[codes[0]])) == 26
    print(f"\n10,000-row roster imported through the chat in {took:.1f} s")
    assert took < 120
    out = await admin.press("继续生成绑定码")
    assert "已生成 25 个绑定码" in texts(out) and "还有 9950 家" in texts(out)
    async with app.db.reading() as s:
        assert await s.scalar(select(func.count()).select_from(Lab)) == 10_000
        assert await s.scalar(select(func.count()).select_from(BindingCode)) == 50


async def test_the_import_template_and_a_non_admin(app: App, transcript: Transcript, admin: Person) -> None:
    await admin.send("/import")
    out = await admin.press("下载名单模板")
    template = documents(out)["roster-template.xlsx"]
    assert sheet_rows(template)[0][:5] == ["实验室编码", "单位名称", "机构类型", "等级", "地市"]
    # The template itself imports.
    out = await admin.send_file(template, name="roster-template.xlsx")
    assert "导入 1 行" in texts(out)
    stranger = Person(transcript, "x1")
    await stranger.send("/import")
    assert "没有权限" in stranger.last.text


# -- the export -------------------------------------------------------------------------------------------------
async def exported_lab_data(app: App, transcript: Transcript, admin: Person) -> None:
    approved = await make_lab(app, code="HN0001", credit_code=CREDIT)
    returned = await make_lab(app, code="HN0002", name='=HYPERLINK("http://x")医院', city="洛阳市")
    await make_lab(app, code="HN0003", name="+开封市人民医院", city="开封市")
    contact = Person(transcript, "c1", name="王检验")
    await bind(app, contact, approved, mobile="13812345678")
    now = app.services.clock.now()
    async with app.db.transaction() as s:
        a = Enrollment(
            lab_id=approved,
            year=2025,
            status="approved",
            revision=1,
            submitted_at=now,
            decided_at=now,
            specialties=["CHEM", "COAG"],
            last_year_tests=["CHEM.K", "CHEM.Na"],
            invoice={"title": "郑州市第一人民医院", "taxpayer_id": CREDIT},
            mailing={"recipient": "王检验", "phone": "13912345678", "address": "郑州市", "postcode": "450052"},
            lab_info={"name": "郑州市第一人民医院检验科", "phone": "0371-67966305", "head": "张伟", "address": "郑州"},
        )
        r = Enrollment(lab_id=returned, year=2025, status="returned", revision=1, returned_items=["agreement"])
        s.add_all([a, r])
        await s.flush()
        s.add(
            Review(
                subject="enrollment",
                subject_id=a.id,
                revision=1,
                decision="approved",
                reviewer="test:admin-1",
                created_at=now,
            )
        )
        s.add(
            Review(
                subject="enrollment",
                subject_id=r.id,
                revision=1,
                decision="returned",
                reasons=["no_seal", "other"],
                note="=1+1",
                reviewer="test:admin-1",
                created_at=now,
            )
        )
    await admin.send("/start")  # the admin's display name is known from their messages


async def test_the_export_has_every_field_and_opens_in_libreoffice(
    app: App, transcript: Transcript, admin: Person, tmp_path: Path
) -> None:
    await exported_lab_data(app, transcript, admin)
    out = await admin.send("/export")
    [(name, data)] = documents(out).items()
    assert name.startswith("eqa-2025-enrolments-") and name.endswith(".xlsx")
    assert "2025 年全部实验室申报信息（3 家" in texts(out)

    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb.active
    header = [c.value for c in ws[1]]
    assert header[:5] == ["实验室编码", "单位名称", "机构类型", "等级", "地市"]
    assert "临床常规化学" in header and "新冠病毒核酸" in header  # one column per specialty
    first = {h: c for h, c in zip(header, ws[2], strict=True)}
    assert first["统一社会信用代码"].data_type == "s" and first["联系人手机"].data_type == "s"
    assert ws.column_dimensions["B"].width >= 2 * len("郑州市第一人民医院检验科")  # wide enough for Chinese

    soffice = require_tool("soffice")
    assert soffice
    src = tmp_path / "export.xlsx"
    src.write_bytes(data)
    csv_path = _soffice_convert(src, "csv:Text - txt - csv (StarCalc):44,34,76", tmp_path / "csv")
    rows = list(csv.reader(io.StringIO(csv_path.read_text(encoding="utf-8"))))
    assert rows[0] == header
    by_code = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    one, two, three = by_code["HN0001"], by_code["HN0002"], by_code["HN0003"]
    assert one["统一社会信用代码"] == CREDIT  # intact text, not a number
    assert one["联系人"] == "王检验" and one["联系人手机"] == "13812345678"
    assert one["申报状态"] == "已通过" and one["审核结论"] == "通过" and one["审核人"] == "李审核"
    assert one["临床常规化学"] == "是" and one["凝血实验"] == "是" and one["全血细胞计数"] == ""
    assert one["参加专业数"] == "2" and one["2024 年已开展项目"] == "K、Na"
    assert one["开票单位名称"] == "郑州市第一人民医院" and one["纳税人识别号"] == CREDIT
    assert one["收件人电话"] == "13912345678" and one["邮政编码"] == "450052"
    assert one["提交时间"].startswith("2025-02-10 10:00")
    assert one["许可证有效期至"] == "2027-04-30"
    assert two["单位名称"] == '\'=HYPERLINK("http://x")医院'  # neutralised, not a live formula
    assert two["申报状态"] == "已退回" and two["需重新提交"] == "缓交协议"
    assert two["退回原因"] == "缓交协议未加盖单位公章；其他：=1+1"
    assert three["单位名称"] == "'+开封市人民医院" and three["申报状态"] == "未开始"


async def test_reviewers_export_too_from_the_figures(app: App, transcript: Transcript, admin: Person) -> None:
    await make_lab(app)
    await admin.send("/stats")
    out = await admin.press("导出 Excel")
    assert any(isinstance(a, SendDocument) for a in out)
    async with app.db.reading() as s:
        assert await s.scalar(select(AuditLog).where(AuditLog.action == "exported")) is not None


# -- the audit log ------------------------------------------------------------------------------------------------
async def test_admins_read_a_labs_audit_log(app: App, transcript: Transcript, admin: Person) -> None:
    lab_id = await make_lab(app)
    now = app.services.clock.now()
    async with app.db.transaction() as s:
        for n in range(20):
            s.add(
                AuditLog(
                    at=now,
                    actor="test:admin-1",
                    action=f"step_{n:02d}",
                    entity="enrollment",
                    entity_id="1",
                    lab_id=lab_id,
                    before={"status": "draft"},
                    after={"status": "submitted", "items": ["agreement", "licence"]},
                )
            )
    await admin.send("/start")
    await admin.send("/audit hn0001")
    text = admin.last.text
    assert "郑州市第一人民医院检验科（HN0001）的操作记录，共 20 条" in text
    assert (
        "李审核 · step_19" in text
        and "之前: status=draft" in text
        and "之后: status=submitted; items=agreement、licence" in text
    )
    assert "step_04" not in text
    await admin.press("下一页")
    assert "step_04" in admin.last.text and "step_19" not in admin.last.text
    await admin.send("/audit HN9999")
    assert "没有找到" in admin.last.text
    reviewer = Person(transcript, "rev-1")
    await admin.send("/grant rev-1")
    await reviewer.send("/audit HN0001")
    assert "没有权限" in reviewer.last.text
    out = await reviewer.press("", data=f"g:adm:audit.{lab_id}.0")
    assert "没有权限" in texts(out)
