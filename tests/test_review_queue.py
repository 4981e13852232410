"""The reviewer's commands: the queue (oldest first, one tap opens), a lab's file, the figures, bulk
approval with a confirmation."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from bot.app import App
from storage.models import Application, Document, Enrollment, Review
from tests.factories import bind, make_lab
from tests.harness import Person, Transcript, texts
from tests.test_journey import AGREEMENT, LICENCE

BASE = datetime.fromisoformat("2025-02-08T09:00:00+08:00")


async def submitted(
    app: App,
    lab_id: int,
    *,
    hours: int,
    revision: int = 1,
    specialties: tuple[str, ...] = ("CHEM", "CBC"),
    advice: bool = False,
) -> int:
    """A registration submitted `hours` after BASE, with its agreement and licence on file."""
    now = BASE + timedelta(hours=hours)
    async with app.db.transaction() as s:
        enr = Enrollment(
            lab_id=lab_id,
            year=2025,
            status="submitted",
            revision=revision,
            submitted_at=now,
            checklist_submitted_at=now,
            plan_confirmed_at=now,
            specialties=list(specialties),
            last_year_tests=["CHEM.K"],
            invoice={"title": "某医院", "taxpayer_id": "12410000415800281H"},
        )
        s.add(enr)
        await s.flush()
        for kind, data in (("agreement", AGREEMENT), ("licence", LICENCE)):
            key = app.services.store.put(data)
            s.add(
                Document(
                    lab_id=lab_id,
                    enrollment_id=enr.id,
                    kind=kind,
                    sha256=key,
                    size=len(data),
                    mime="image/jpeg",
                    storage_key=key,
                    precheck={"advice": ["pre-no-seal"] if advice and kind == "agreement" else []},
                    created_at=now,
                )
            )
        return enr.id


async def status_of(app: App, enr_id: int) -> str:
    async with app.db.reading() as s:
        enr = await s.get(Enrollment, enr_id)
        assert enr is not None
        return enr.status


async def test_the_queue_is_oldest_first_and_each_opens_with_one_tap(
    app: App, transcript: Transcript, admin: Person
) -> None:
    late = await make_lab(app, code="HN0002", name="洛阳市中心医院", city="洛阳市")
    early = await make_lab(app, code="HN0003", name="开封市人民医院", city="开封市")
    await submitted(app, late, hours=5)
    await submitted(app, early, hours=1, advice=True)
    async with app.db.transaction() as s:
        s.add(
            Application(
                platform="test",
                user_id="ap",
                chat_id="ap",
                year=2025,
                status="pending",
                data={
                    "name": "新乡市第二人民医院",
                    "city": "新乡市",
                    "institution_type": "general_hospital",
                    "level": "L2",
                },
                submitted_at=BASE + timedelta(hours=3),
            )
        )
    await admin.send("/queue")
    text = admin.last.text
    assert "待审 3 项" in text and "距截止还有 15 天" in text
    lines = [line for line in text.splitlines() if line[:2] in ("1.", "2.", "3.")]
    assert lines[0].startswith("1. HN0003 开封市人民医院 · 第 1 次") and lines[0].endswith("⚠️")
    assert lines[1].startswith("2. 🆕 新乡市第二人民医院（新乡市）")
    assert lines[2].startswith("3. HN0002 洛阳市中心医院")
    assert admin.last.labels[:3] == ["1. HN0003 开封市人民医院", "2. 🆕 新乡市第二人民医院", "3. HN0002 洛阳市中心医院"]
    out = await admin.press("1. HN0003")
    assert any(getattr(a, "items", None) for a in out)  # the documents, as an album
    assert "开封市人民医院（HN0003）· 第 1 次提交" in admin.last.text
    assert "缓交协议：1 份 — 1) ⚠️ 未检出红色公章" in admin.last.text
    assert "✅ 通过" in admin.last.labels
    await admin.press("2. 🆕")
    assert "新乡市第二人民医院" in admin.last.text and "✅ 通过并分配编码" in admin.last.labels


async def test_the_queue_pages_and_is_empty_when_all_is_decided(
    app: App, transcript: Transcript, admin: Person
) -> None:
    for n in range(12):
        await submitted(app, await make_lab(app, code=f"HN{n + 10:04d}", name=f"第{n}医院"), hours=n)
    await admin.send("/queue")
    assert "待审 12 项" in admin.last.text and "10. HN0019" in admin.last.text and "11." not in admin.last.text
    await admin.press("下一页")
    assert "11. HN0020" in admin.last.text and "12. HN0021" in admin.last.text
    await admin.press("上一页")
    assert "1. HN0010" in admin.last.text
    async with app.db.transaction() as s:
        for enr in await s.scalars(select(Enrollment)):
            enr.status = "approved"
    await admin.send("/queue")
    assert "目前没有待审核的申报" in admin.last.text and "📊 统计" in admin.last.labels


async def test_a_labs_file_by_code_or_by_name(app: App, transcript: Transcript, admin: Person) -> None:
    lab_id = await make_lab(app)
    await make_lab(app, code="HN0002", name="郑州市第二人民医院")
    contact = Person(transcript, "c1", name="王检验")
    await bind(app, contact, lab_id)
    enr_id = await submitted(app, lab_id, hours=2)
    await admin.send("/lab hn0001")
    text = admin.last.text
    assert "📁 郑州市第一人民医院检验科（HN0001）" in text
    assert "统一社会信用代码：12410000415800281H" in text and "执业许可证：41010219900001" in text
    assert "联系人 王检验 13800138000 — 已绑定" in text
    assert "2025 年申报：已提交，等待中心审核（第 1 次提交）" in text
    assert "参加专业（2）：临床常规化学、全血细胞计数" in text
    assert admin.last.labels[:3] == ["🔎 打开最新提交", "📎 查看材料", "🧾 操作记录"]
    await admin.send("/lab 人民医院")
    assert "找到 2 家" in admin.last.text
    await admin.press("HN0002")
    assert "郑州市第二人民医院（HN0002）" in admin.last.text and "2025 年尚未开始申报" in admin.last.text
    await admin.send("/lab 不存在的医院")
    assert "没有找到" in admin.last.text
    await admin.send("/lab")
    assert "/lab HN0001" in admin.last.text
    assert enr_id


async def test_stats_by_status_city_type_and_specialty(app: App, transcript: Transcript, admin: Person) -> None:
    a = await make_lab(app, code="HN0001")
    b = await make_lab(app, code="HN0002", city="洛阳市")
    c = await make_lab(app, code="HN0003", city="洛阳市", institution_type="blood_centre", level=None)
    await make_lab(app, code="HN0004", city="开封市")
    await submitted(app, a, hours=1, specialties=("CHEM", "CBC"))
    await submitted(app, b, hours=2, specialties=("CHEM",))
    await submitted(app, c, hours=3, specialties=("ABO", "BSB"))
    async with app.db.transaction() as s:
        enr = await s.scalar(select(Enrollment).where(Enrollment.lab_id == b))
        assert enr is not None
        enr.status = "approved"
    await admin.send("/stats")
    text = admin.last.text
    assert "📊 2025 年申报统计" in text and "截止：2025年2月25日前。 距截止还有 15 天。" in text
    assert "实验室：共 4 家 · 已通过 1 · 待审 2 · 未开始 1" in text
    assert "• 郑州市：共 1 家 · 待审 1" in text
    assert "• 洛阳市：共 2 家 · 已通过 1 · 待审 1" in text
    assert "• 开封市：共 1 家 · 未开始 1" in text
    assert "• 综合医院：共 3 家 · 已通过 1 · 待审 1 · 未开始 1" in text
    assert "• 血液中心 / 中心血站：共 1 家 · 待审 1" in text
    assert "• 临床常规化学：2 / 1" in text and "• 全血细胞计数：1 / 0" in text and "• 血型：1 / 0" in text
    assert "• 凝血实验：0 / 0" in text
    # Days to the deadline move with the clock.
    assert text.index("郑州市") < text.index("开封市") < text.index("洛阳市")  # the campaign's city order


async def test_bulk_approval_of_a_chosen_list_with_a_confirmation(
    app: App, transcript: Transcript, admin: Person
) -> None:
    labs = [await make_lab(app, code=f"HN000{n}", name=f"第{n}医院") for n in (1, 2, 3)]
    contacts = []
    for n, lab_id in enumerate(labs):
        person = Person(transcript, f"c{n}")
        await bind(app, person, lab_id)
        contacts.append(person)
    ids = [await submitted(app, lab_id, hours=n) for n, lab_id in enumerate(labs)]
    await admin.send("/queue")
    await admin.press("批量通过")
    assert "待审 3 项" in admin.last.text
    await admin.press("☐ HN0001")
    await admin.press("☐ HN0003")
    await admin.press("下一步：核对（已选 2）")
    assert "1. HN0001 第1医院" in admin.last.text and "2. HN0003 第3医院" in admin.last.text
    await admin.press("确认通过 2 家")
    assert "批量审核完成：通过 2 家，跳过 0 家。" in admin.last.text
    assert [await status_of(app, i) for i in ids] == ["approved", "submitted", "approved"]
    assert "审核通过" in contacts[0].last.text and "审核通过" in contacts[2].last.text
    assert not contacts[1].messages


async def test_bulk_approval_skips_what_changed_meanwhile(app: App, transcript: Transcript, admin: Person) -> None:
    first = await submitted(app, await make_lab(app, code="HN0001"), hours=1)
    second = await submitted(app, await make_lab(app, code="HN0002", name="第二医院"), hours=2)
    await admin.send("/approve HN0001 hn0002 HN0099")
    assert "HN0099" in admin.last.text and "不在待审队列" in admin.last.text
    assert "请确认批量通过以下 2 家" in admin.last.text
    async with app.db.transaction() as s:  # meanwhile: HN0002 returned by someone and sent again
        enr = await s.get(Enrollment, second)
        assert enr is not None
        enr.revision = 2
        s.add(
            Review(
                subject="enrollment",
                subject_id=first,
                revision=1,
                decision="returned",
                reviewer="test:x",
                created_at=BASE,
            )
        )
    await admin.press("确认通过 2 家")
    text = admin.last.text
    assert "通过 0 家，跳过 2 家" in text
    assert "HN0001 郑州市第一人民医院检验科 — 已有人审核" in text and "HN0002 第二医院 — 已重新提交，未处理" in text
    assert await status_of(app, second) == "submitted"


async def test_bulk_approval_can_be_cancelled(app: App, transcript: Transcript, admin: Person) -> None:
    enr_id = await submitted(app, await make_lab(app), hours=1)
    await admin.send("/approve HN0001")
    await admin.press("取消")
    assert "已取消批量通过" in admin.last.text
    assert await status_of(app, enr_id) == "submitted"
    out = await admin.press("", data="1:ok:")  # a forged press of the old confirmation changes nothing
    assert "过期" in texts(out)
    assert await status_of(app, enr_id) == "submitted"
