"""The campaign file: the shipped one is complete and true to the notice; broken ones are refused by name."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path

import pytest

from conversations.campaign import CampaignError, load_campaign, parse_campaign

NOTICE_SPECIALTIES = [
    "临床常规化学",
    "全血细胞计数",
    "临床免疫学",
    "临床微生物学",
    "凝血实验",
    "PCR",
    "血站血液检验",
    "尿液化学分析",
    "特殊蛋白",
    "肿瘤标志物",
    "临床干化学",
    "血气分析",
    "脂类分析",
    "血型",
    "临床输血相容性检测",
    "新冠病毒核酸",
]
# The centre's notice, every rule's source (a copy of shared/seed/, so the checks run wherever the tests do).
NOTICE = Path(__file__).resolve().parent / "data" / "henan-eqa-2025-registration-notice.txt"


def shipped_text() -> str:
    return resources.files("conversations.campaigns").joinpath("henan-2025.toml").read_text(encoding="utf-8")


def test_shipped_campaign_matches_the_notice() -> None:
    c = load_campaign()
    assert c.year == 2025 and c.previous_year == 2024
    assert c.deadline == date(2025, 2, 25)
    assert c.closes_at.isoformat() == "2025-02-26T00:00:00+08:00"
    assert [s.name for s in c.specialties] == NOTICE_SPECIALTIES
    assert all(len(s.tests) >= 3 for s in c.specialties)
    # Only tests: result-reporting steps are not tests a lab "performed".
    names = {t.name for s in c.specialties for t in s.tests}
    assert not names & {"定性结果判定", "Ct值报告"}
    # Each eligible institution type names the licence it holds.
    assert c.licence_name("blood_centre", "zh") == "血站执业许可证"
    assert c.licence_name("plasma_station", "zh") == "单采血浆许可证"
    assert c.licence_name("general_hospital", "zh") == "医疗机构执业许可证"
    chem = {t.code for t in c.specialty_by_code["CHEM"].tests}
    assert {"K", "Na", "Cl", "Glu", "ALT"} <= chem
    assert {"WBC", "RBC", "Hb", "PLT"} <= {t.code for t in c.specialty_by_code["CBC"].tests}
    assert {"PT", "APTT", "FIB"} <= {t.code for t in c.specialty_by_code["COAG"].tests}
    assert [code for code, _ in c.mandatory_for("blood_centre")] == ["BSB", "ABO"]
    assert [code for code, _ in c.mandatory_for("plasma_station")] == ["BSB", "ABO"]
    assert [code for code, _ in c.mandatory_for("transfusion_dept")] == ["TRANSF"]
    assert c.mandatory_for("general_hospital") == []


def test_contacts_are_quoted_exactly() -> None:
    c = load_campaign()
    text = c.contacts.text("zh")
    for fragment in (
        "李书杰、张愔",
        "0371-67966305、0371-66968015",
        "henancccl@yeah.net",
        "郑州市建设东路 1 号，郑州大学第一附属医院河医院区门诊楼 12 楼",
        "标源 BIQAS 质量评价网络系统技术支持：400-999-2890 转 2",
    ):
        assert fragment in text
    # The notice typesets the name as "张 愔"; the person is 张愔 (a space inside a name is no part of it).
    notice = NOTICE.read_text(encoding="utf-8").replace("张 愔", "张愔")
    assert "张 愔" not in c.contacts.text("zh") + c.contacts.text("en") + c.faq_by_id["contacts"].answer
    assert "联系人：李书杰、张愔；联系电话：0371-67966305、0371-66968015" in notice
    assert c.contacts.tech_support.rstrip("。") in notice
    assert c.contacts.address in notice
    for line in c.contacts.notice_text.splitlines():  # the paragraph the bot quotes, line by line
        assert line in notice


def test_faq_answers_quote_the_notice() -> None:
    notice = "".join(NOTICE.read_text(encoding="utf-8").split())
    c = load_campaign()
    # Each of these answers is a verbatim sentence of the notice (whitespace aside).
    for topic, sentence in (
        (
            "review",
            "未上传由科室负责人签字并加盖单位公章的“缓交协议”和“执业资格许可证”（二者缺一不可）的单位，不能通过审核。",
        ),
        ("late", "审核不通过或逾期未申报的实验室，不发放本年度室间质量评价样品。"),
        ("eligibility", "不接受仪器、试剂等生产、销售机构参评。"),
    ):
        assert sentence in c.faq_by_id[topic].answer
        assert "".join(sentence.split()) in notice


def test_eligibility_rules() -> None:
    c = load_campaign()
    assert c.eligibility("general_hospital", "L3")[0]
    assert c.eligibility("general_hospital", "L2")[0]
    ok, reason, _ = c.eligibility("general_hospital", "L1")
    assert not ok and "二级及以上" in reason
    ok, reason, _ = c.eligibility("manufacturer", None)
    assert not ok and reason == "不接受仪器、试剂等生产、销售机构参评。"
    assert not c.eligibility("seller", "L3")[0]
    assert c.eligibility("blood_centre", None)[0]
    assert c.eligibility("transfusion_dept", None)[0]


def test_days_left_and_closing() -> None:
    c = load_campaign()
    tz = c.tz
    # Whole days after today: the deadline day itself is "today, the last day" (0), the day before is 1.
    assert c.days_left(datetime(2025, 2, 24, 0, 0, tzinfo=tz)) == 1
    assert c.days_left(datetime(2025, 2, 24, 12, 0, tzinfo=tz)) == 1
    assert c.days_left(datetime(2025, 2, 24, 23, 59, 59, tzinfo=tz)) == 1
    assert c.days_left(datetime(2025, 2, 25, 0, 0, tzinfo=tz)) == 0
    assert c.days_left(datetime(2025, 2, 25, 23, 59, tzinfo=tz)) == 0
    assert not c.is_closed(datetime(2025, 2, 25, 23, 59, 59, tzinfo=tz))
    assert c.is_closed(datetime(2025, 2, 26, 0, 0, tzinfo=tz))
    assert c.days_left(datetime(2025, 2, 26, 0, 0, tzinfo=tz)) == 0
    assert c.days_left(datetime(2025, 2, 10, 10, 0, tzinfo=tz)) == 15
    # The zone decides the day: 16:00 UTC on the 24th is already the 25th in Shanghai.
    assert c.days_left(datetime(2025, 2, 24, 16, 0, tzinfo=UTC)) == 0
    assert c.days_left(datetime(2025, 2, 24, 15, 59, tzinfo=UTC)) == 1
    assert c.is_closed(datetime(2025, 2, 25, 16, 0, tzinfo=UTC))
    assert not c.is_closed(datetime(2025, 2, 25, 15, 59, 59, tzinfo=UTC))


def _without(text: str, line_start: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith(line_start))


def test_missing_deadline_is_refused_by_name() -> None:
    with pytest.raises(CampaignError, match=r"deadline: Field required"):
        parse_campaign(_without(shipped_text(), "deadline ="))


def test_unknown_specialty_in_a_rule_is_refused_by_name() -> None:
    text = shipped_text().replace('specialties = ["TRANSF"]', 'specialties = ["TRANSFUSION"]')
    with pytest.raises(CampaignError, match=r"mandatory\[1\]: unknown specialty 'TRANSFUSION'"):
        parse_campaign(text)


def test_duplicate_specialty_code_is_refused_by_name() -> None:
    text = shipped_text().replace('code = "DRYCHEM"', 'code = "CHEM"')
    with pytest.raises(CampaignError, match=r"specialties: duplicate code 'CHEM'"):
        parse_campaign(text)


def test_duplicate_test_code_is_refused_by_name() -> None:
    text = shipped_text().replace(
        '{ code = "Na", name = "钠", name_en = "Sodium" },\n  { code = "Cl"',
        '{ code = "K", name = "钠", name_en = "Sodium" },\n  { code = "Cl"',
        1,
    )
    with pytest.raises(CampaignError, match=r"specialties\.CHEM\.tests: duplicate code 'K'"):
        parse_campaign(text)


def test_unknown_field_and_bad_toml_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CampaignError, match="not valid TOML"):
        parse_campaign("year = ")
    text = shipped_text().replace('website = "www.henanccl.cn"\nmin_level_rank', "webiste = 1\nmin_level_rank")
    with pytest.raises(CampaignError, match="webiste"):
        parse_campaign(text)
    with pytest.raises(CampaignError, match="not found"):
        load_campaign(tmp_path / "nope.toml")


def test_a_campaign_file_path_overrides_the_shipped_one(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(shipped_text().replace("deadline = 2025-02-25", "deadline = 2025-02-28"), encoding="utf-8")
    assert load_campaign(path).deadline == date(2025, 2, 28)


def test_shipped_file_is_plain_toml() -> None:
    assert tomllib.loads(shipped_text())["campaign"]["year"] == 2025
