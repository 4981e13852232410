"""The FAQ matcher on its own: wording, typos, scripts, bad input, scope, the per-campaign index, and a
question added to the campaign file without code."""

from __future__ import annotations

import time

import pytest

from conversations import faq_match
from conversations.campaign import load_campaign, parse_campaign
from conversations.faq_match import Match, index_for, match, normalise
from tests.test_campaign import shipped_text

CAMPAIGN = load_campaign()


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        # the issue's own examples
        ("缓交协议要盖章吗", "agreement"),
        ("截止日期是哪天", "deadline"),
        ("没赶上怎么办", "late"),
        ("新单位怎么注册", "new_lab"),
        ("发票抬头填错了", "invoice"),
        ("deadline?", "deadline"),
        # typos, Chinese and English
        ("缓交协议要盖张吗", "agreement"),
        ("截指日期是哪天", "deadline"),
        ("dedline?", "deadline"),
        ("where do I uplaod the licnese", "licence"),
        # traditional characters, full-width forms, upper case
        ("協議要蓋章嗎", "agreement"),
        ("截止日期係幾號", "deadline"),
        ("ＤＥＡＤＬＩＮＥ？", "deadline"),
        # mixed scripts
        ("licence还要传吗", "licence"),
        ("BiQAS网址是什么", "website"),
        ("ddl是几号", "deadline"),
        # English with Chinese punctuation
        ("when is the deadline？", "deadline"),
        ("who signs the agreement，and where is the stamp？", "agreement"),
        ("do i need to pay now？", "fees"),
        # colloquial
        ("咋注册新单位", "new_lab"),
        ("要不要交钱啊", "fees"),
        ("我还差什么", "steps"),
        ("试剂公司", "eligibility"),
    ],
)
def test_confident_answers(question: str, topic: str) -> None:
    result = match(CAMPAIGN, question)
    assert result.best == topic, (question, result)
    assert result.candidates[0] == topic


def test_unsure_offers_up_to_three_nearest_topics() -> None:
    result = match(CAMPAIGN, "错过了截止时间怎么办啊")  # deadline or late: too close to call
    assert result.best is None
    assert 2 <= len(result.candidates) <= 3
    assert {"deadline", "late"} <= set(result.candidates)
    assert list(result.scores) == sorted(result.scores, reverse=True)


@pytest.mark.parametrize("text", ["", "   ", "😀😀🎉", "？？？", "a", "好", "今天天气怎么样", "asdfghjkl"])
def test_nothing_to_answer_on(text: str) -> None:
    assert match(CAMPAIGN, text).best is None


def test_one_character_is_never_a_confident_answer() -> None:
    result = match(CAMPAIGN, "费")
    assert result.best is None and result.candidates[0] == "fees"


@pytest.mark.parametrize("text", ["啊" * 4000, "截止" * 2000, "deadline " * 450, "缓交协议要盖章吗" + "😀" * 3990])
def test_four_thousand_characters_are_handled_quickly(text: str) -> None:
    index_for(CAMPAIGN)
    started = time.perf_counter()
    result = match(CAMPAIGN, text)
    assert time.perf_counter() - started < 0.05
    assert isinstance(result, Match)


@pytest.mark.parametrize(
    ("question", "scope"),
    [
        ("湖北省的室间质评怎么报名", "province:湖北"),
        ("上海的实验室能参加吗", "province:上海"),
        ("Is this for Guangdong too?", "province:广东"),
        ("2026年的申报什么时候开始", "year:2026"),
        ("23年的合格证在哪下载", "year:2023"),
        ("明年还要交缓交协议吗", "year:next"),
        ("what about next year's registration", "year:next"),
        ("国家卫健委临检中心的质评在哪报", "scheme"),
    ],
)
def test_other_provinces_years_and_schemes_are_out_of_scope(question: str, scope: str) -> None:
    result = match(CAMPAIGN, question)
    assert result.out_of_scope == scope
    assert result.best is None and result.candidates == ()


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("2025年什么时候截止", "deadline"),
        ("24年开展的项目要勾吗", "checklist"),  # the previous year is part of this registration
        ("许可证2026年到期还要传吗", "licence"),  # a validity date, not another year's registration
        ("河南省临床检验中心电话", "contacts"),  # naming the centre itself says nothing about the topic
        ("我们医院开展检验10年了，需要交哪些材料", "steps"),  # a duration, not a year
    ],
)
def test_this_campaigns_years_and_province_are_in_scope(question: str, topic: str) -> None:
    result = match(CAMPAIGN, question)
    assert result.out_of_scope is None
    assert result.best == topic


def test_normalise_unifies_forms() -> None:
    assert normalise("截至ＤＤＬ") == "截止deadline"
    assert normalise("協議帳號") == "协议账号"
    assert normalise("啥时候缴费") == "什么时候交费"


def test_speller_corrects_only_to_known_words() -> None:
    speller = index_for(CAMPAIGN).speller
    assert speller("deadlin") == "deadline"
    assert speller("agreemnt") == "agreement"
    assert speller("zzzzzz") == "zzzzzz"
    assert faq_match._distance("licnese", "licence") == 2
    assert faq_match._distance("ab", "ba") == 1


def test_index_is_built_once_per_campaign_object() -> None:
    first = index_for(CAMPAIGN)
    assert index_for(CAMPAIGN) is first
    other = load_campaign()
    assert other is not CAMPAIGN and index_for(other) is not first


NEW_ENTRY = """
[[campaign.faq]]
id = "parking"
topic = "到中心现场办理与停车"
topic_en = "Visiting the centre in person"
answer = "地址：郑州市建设东路 1 号，郑州大学第一附属医院河医院区门诊楼 12 楼。"
answer_en = "Address: 12th floor, outpatient building, Heyi campus of the First Affiliated Hospital of Zhengzhou University."
examples = ["能去中心现场办理吗", "去中心怎么停车"]
examples_en = ["can I visit the centre in person", "where to park"]
keywords = ["现场", "停车", "当面", "park", "visit"]
"""


def test_a_question_added_to_the_campaign_file_is_matched_without_code() -> None:
    edited = parse_campaign(shipped_text() + NEW_ENTRY, source="edited.toml")
    assert match(CAMPAIGN, "去中心现场停车方便吗").best != "parking"
    assert match(edited, "去中心现场停车方便吗").best == "parking"
    assert match(edited, "can we come to the centre in person?").best == "parking"
    # the rest still works on the edited file
    assert match(edited, "缓交协议要盖章吗").best == "agreement"


def test_matching_one_question_takes_well_under_5_ms() -> None:
    from bench.faq import questions, timings

    texts = [q for q, _ in questions(CAMPAIGN)]
    samples = timings(lambda t: match(CAMPAIGN, t), texts, rounds=2)
    assert sorted(samples)[len(samples) // 2] < 5.0


def test_the_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.faq import main

    assert main(["--rounds", "1", "--check"]) == 0
    out = capsys.readouterr().out
    assert "median" in out and "baseline: naive keywords" in out and "ratio matcher" in out
