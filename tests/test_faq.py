"""Transcripts of the FAQ: free-text questions answered, unsure and unmatched ones, answers computed from
the date and the lab, votes and the admins' view of them, bad input, and answers checked against the
notice on dates, fees and eligibility."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from sqlalchemy import select

from bot.app import App
from conversations.campaign import parse_campaign
from conversations.clock import FixedClock
from conversations.events import Edit, Reply, Toast
from conversations.formatting import MONTHS
from storage.models import Document, Enrollment, FaqVote, Lab
from storage.repos.enrollments import enrollment
from tests.harness import Person, Transcript, texts
from tests.test_campaign import NOTICE, shipped_text
from tests.test_faq_match import NEW_ENTRY

AFTER_DEADLINE = datetime.fromisoformat("2025-02-26T08:00:00+08:00")
VOTE_UP, VOTE_DOWN = "👍 有帮助", "👎 没帮助"


def notice_contact_lines() -> list[str]:
    text = NOTICE.read_text(encoding="utf-8").replace("张 愔", "张愔")  # the notice's stray space in a name
    lines = [line.strip() for line in text.splitlines()]
    found = [line for line in lines if line.startswith(("河南省临床检验中心：联系人", "标源 BIQAS"))]
    assert len(found) == 2
    return found


async def _lab(app: App) -> Lab:
    async with app.db.reading() as s:
        lab = await s.scalar(select(Lab).where(Lab.code == "HN0001"))
        assert lab is not None
        return lab


async def _add_licence(app: App, lab_id: int, year: int) -> None:
    async with app.db.transaction() as s:
        enr = await enrollment(s, lab_id, year)
        assert enr is not None
        s.add(
            Document(
                lab_id=lab_id,
                enrollment_id=enr.id,
                kind="licence",
                sha256="0" * 64,
                size=1,
                mime="application/pdf",
                storage_key=f"test/licence-{year}",
            )
        )


async def _votes(app: App) -> list[tuple[str, bool, str | None]]:
    async with app.db.reading() as s:
        rows = (await s.scalars(select(FaqVote).order_by(FaqVote.id))).all()
    return [(v.topic, v.helpful, v.question) for v in rows]


# -- matching in the chat ---------------------------------------------------------------------------------
async def test_a_confident_match_answers_in_the_notices_words_with_a_vote(guest: Person) -> None:
    out = await guest.send("缓交协议要盖章吗")
    reply = out[-1]
    assert isinstance(reply, Reply)
    assert "【缓交协议（签字、盖章、上传）】" in reply.text
    assert "需科室负责人签字并加盖单位公章" in reply.text
    assert guest.last.labels[:2] == [VOTE_UP, VOTE_DOWN]


async def test_an_unsure_match_offers_the_nearest_topics(guest: Person, app: App) -> None:
    await guest.send("错过了截止时间怎么办啊")
    assert "您想问的是下面哪个问题？" in guest.last.text
    topics = guest.last.labels[:-1]
    assert 2 <= len(topics) <= 3 and "逾期未申报" in topics
    assert guest.last.labels[-1] == "其他问题"
    out = await guest.press("逾期未申报", exact=True)
    edit = next(a for a in out if isinstance(a, Edit))
    assert "不发放本年度室间质量评价样品" in edit.text
    await guest.press(VOTE_DOWN)
    assert await _votes(app) == [("late", False, "错过了截止时间怎么办啊")]


async def test_no_match_gives_the_centres_contacts_as_in_the_notice(guest: Person) -> None:
    out = await guest.send("今天天气怎么样")
    text = texts(out)
    assert "这个问题我暂时回答不了" in text
    for line in notice_contact_lines():
        assert line in text
    assert guest.last.buttons, "every reply offers a next step"


@pytest.mark.parametrize(
    "question",
    ["湖北省的室间质评怎么报名", "2026年的申报什么时候开始", "明年还要交缓交协议吗", "Is this for Guangdong too?"],
)
async def test_another_province_or_year_is_not_answered_as_if_it_were_this_one(guest: Person, question: str) -> None:
    out = await guest.send(question)
    text = texts(out)
    if question.isascii():  # asked in English: answered in English
        assert "only answers questions about the 2025 EQA registration" in text
        assert "0371-67966305" in text and "400-999-2890, extension 2" in text
    else:
        assert "本助手只解答河南省临床检验中心组织的 2025 年室间质量评价申报问题" in text
        assert "0371-67966305" in text and "400-999-2890 转 2" in text
    assert "月 25 日" not in text and "月25日" not in text and "缓交协议（" not in text
    assert VOTE_UP not in guest.last.labels and guest.last.buttons


async def test_english_questions_get_english_answers(transcript: Transcript) -> None:
    person = Person(transcript, "en-1", language="en")
    await person.send("deadline?")
    assert "[Registration deadline]" not in person.last.text  # brackets are the Chinese ones
    assert "【Registration deadline】" in person.last.text
    assert "before 25 February" in person.last.text and "15 days left" in person.last.text
    assert person.last.labels[:2] == ["👍 Helpful", "👎 Not helpful"]


async def test_a_question_after_the_faq_command_is_answered(guest: Person) -> None:
    await guest.send("/faq 缓交协议要盖章吗")
    assert "需科室负责人签字并加盖单位公章" in guest.last.text
    await guest.send("/faq 😀")
    assert "申报截止时间" in guest.last.labels  # nothing to match: the topics


async def test_group_chatter_is_not_answered_but_the_command_is(admin: Person) -> None:
    out = await admin.send("这个协议的章看不清，退回吧", chat_type="supergroup")
    assert out == []
    await admin.send("/faq 缓交协议要盖章吗", chat_type="supergroup")
    assert "需科室负责人签字并加盖单位公章" in admin.last.text


# -- computed parts ----------------------------------------------------------------------------------------
async def test_days_left_before_and_closed_after_the_deadline(guest: Person, clock: FixedClock) -> None:
    await guest.send("截止日期是哪天")
    assert "并在 2 月 25 日以前申报完成" in guest.last.text
    assert "还剩 15 天" in guest.last.text
    clock.set(AFTER_DEADLINE)
    await guest.send("新单位怎么注册")
    assert "申报已截止（须在 2025年2月25日前申报完成）" in guest.last.text
    await guest.send("没赶上怎么办")
    assert "不发放本年度室间质量评价样品" in guest.last.text
    assert "申报已截止（须在 2025年2月25日前申报完成）" in guest.last.text and "还剩" not in guest.last.text


async def test_licence_question_is_answered_from_the_documents_on_file(contact: Person, app: App) -> None:
    lab = await _lab(app)
    await contact.send("我还需要再发许可证吗")
    assert "毋需重复上传" in contact.last.text
    assert "您单位还没有上传过执业许可证" in contact.last.text

    await _add_licence(app, lab.id, 2024)  # last year's, still valid when samples go out
    await contact.send("我们还要再发许可证吗")
    assert "您单位以前上传过执业许可证且仍在有效期内" in contact.last.text

    await _add_licence(app, lab.id, 2025)
    await contact.send("do I still need to send my licence")  # asked in English: answered in English
    assert "Your lab has uploaded its licence this year." in contact.last.text

    async with app.db.transaction() as s:
        row = await s.get(Lab, lab.id)
        assert row is not None
        row.licence_valid_to = date(2025, 2, 20)  # lapses before the deadline (no dispatch date is given)
    await contact.send("许可证还要传吗")
    assert "有效期不够" in contact.last.text


async def test_a_guest_gets_the_general_answer_and_how_to_get_their_own(guest: Person) -> None:
    await guest.send("我还需要再发许可证吗")
    assert "毋需重复上传" in guest.last.text
    assert "绑定实验室后" in guest.last.text
    assert "您单位还没有上传过" not in guest.last.text and "您单位以前上传过" not in guest.last.text


async def test_review_state_and_what_is_missing(contact: Person, app: App) -> None:
    await contact.send("我们审核通过了没")
    text = contact.last.text
    assert "您单位目前的审核状态：尚未提交" in text
    assert "您单位还缺：上年已开展项目勾选、开票、邮寄信息和参加专业的确认、签字盖章的缓交协议、执业许可证" in text
    lab = await _lab(app)
    async with app.db.transaction() as s:
        enr = await s.scalar(select(Enrollment).where(Enrollment.lab_id == lab.id))
        assert enr is not None
        enr.status = "submitted"
    await contact.send("what's my review state")  # asked in English: answered in English
    assert "submitted, awaiting the centre's review" in contact.last.text
    assert "still needs" not in contact.last.text
    await contact.send("我们审核通过了没")
    assert "已提交，等待中心审核" in contact.last.text and "还缺" not in contact.last.text


# -- votes -------------------------------------------------------------------------------------------------
async def test_votes_keep_the_question_and_count_once(guest: Person, app: App) -> None:
    await guest.send("缓交协议要盖章吗")
    out = await guest.press(VOTE_DOWN)
    assert any(isinstance(a, Toast) and a.text == "谢谢反馈！" for a in out)
    assert "0371-67966305" in guest.last.text
    out = await guest.press(VOTE_DOWN)
    assert any(isinstance(a, Toast) and "已经记录过" in a.text for a in out)
    await guest.send("/faq")
    await guest.press("申报截止时间", exact=True)
    await guest.press(VOTE_UP)
    assert await _votes(app) == [("agreement", False, "缓交协议要盖章吗"), ("deadline", True, None)]


async def test_admins_see_votes_per_topic_and_the_latest_unhelpful_questions(
    guest: Person, admin: Person, contact: Person, app: App
) -> None:
    await admin.send("/votes")
    assert "还没有收到任何常见问题反馈" in admin.last.text
    for question in ("缓交协议要盖章吗", "缓交协议在哪里下载啊"):
        await guest.send(question)
        await guest.press(VOTE_DOWN)
    await guest.send("截止日期是哪天")
    await guest.press(VOTE_UP)
    await guest.send("/faq")
    await guest.press("邮寄信息", exact=True)
    await guest.press(VOTE_DOWN)

    await admin.send("/votes")
    text = admin.last.text
    assert "共 4 条，其中“没帮助” 3 条" in text
    assert "缓交协议（签字、盖章、上传）：👍 0  👎 2" in text
    assert "申报截止时间：👍 1  👎 0" in text
    assert text.index("缓交协议（签字") < text.index("邮寄信息：") < text.index("申报截止时间：")
    latest = text.split("最近 3 条“没帮助”的提问：")[1]
    assert "缓交协议在哪里下载啊" in latest and "缓交协议要盖章吗" in latest and "没有提问原文" in latest
    assert "截止日期是哪天" not in latest  # that one helped
    assert "2025年2月10日 10:00" in latest  # shown in the campaign's time zone

    out = await contact.send("/votes")
    assert "您没有权限进行这个操作" in texts(out)
    assert "缓交协议在哪里下载啊" not in texts(out)


async def test_a_forged_vote_button_is_refused(guest: Person, app: App) -> None:
    await guest.send("/start")
    for data in ("g:vote:nosuch|0|", "g:vote:fees|2|", "g:faq:nosuch"):
        await guest.press("", data=data)
    assert await _votes(app) == []


# -- bad input ---------------------------------------------------------------------------------------------
async def test_bad_input(contact: Person) -> None:
    cases = (
        ("", "没有收到内容"),
        ("费", "您想问的是下面哪个问题？"),  # one character: too little to answer on, but a hint
        ("?", "只看到表情或符号"),
        ("请问" * 2000, "消息太长（4000 字）"),
        ("😀🎉👍", "只看到表情或符号"),
        ("when is the deadline？", "complete the registration before 25 February"),  # Chinese punctuation
        ("who signs the agreement，and stamp？", "stamped with"),
    )
    for text, expected in cases:
        out = await contact.send(text)
        assert expected in texts(out), text[:10]
        assert isinstance(out[-1], Reply) and out[-1].buttons, "every reply offers a next step"


async def test_one_character_offers_the_topic(guest: Person) -> None:
    await guest.send("费")
    assert "费用：先参评、后付费" in guest.last.labels


# -- the campaign file is the FAQ --------------------------------------------------------------------------
async def test_a_question_added_to_the_campaign_file_is_answered(guest: Person, app: App) -> None:
    app.services.campaign = parse_campaign(shipped_text() + NEW_ENTRY, source="edited.toml")
    await guest.send("去中心现场停车方便吗")
    assert "【到中心现场办理与停车】" in guest.last.text
    assert "郑州市建设东路 1 号" in guest.last.text
    await guest.press(VOTE_DOWN)
    assert await _votes(app) == [("parking", False, "去中心现场停车方便吗")]


# -- answers never contradict the notice -------------------------------------------------------------------
_MONTHS = "|".join(MONTHS)
ZH_DATE = re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*日")
EN_DATE = re.compile(rf"\b(\d{{1,2}})\s+({_MONTHS})\b|\b({_MONTHS})\s+(\d{{1,2}})\b")
NUMERIC_DATE = re.compile(r"(?<![\d-])(\d{1,4})[/.-](\d{1,2})(?:[/.-](\d{1,2}))?(?![\d-])")
YEAR = re.compile(r"(?<!\d)(20\d{2})(?!\d)")
AMOUNT = re.compile(r"\d+(\.\d+)?\s*(元|块|rmb|yuan|cny)|[¥￥]", re.IGNORECASE)
PAY_NOW_ZH = re.compile(
    r"(现在|立即|马上|尽快|即刻|当场|今天|本周|本月)[^。；，]{0,6}(交费|缴费|缴纳|付款|支付|转账|汇款)"
    r"|(请|需要|须|必须|应当?)(尽快)?(交费|缴费|缴纳|付款|支付|转账|汇款)"
)
PAY_NOW_EN = re.compile(
    r"\b(must|should|need to|needs to|have to|has to|please)\s+pay\b|\bpayment is due\b"
    r"|\bpay\b.{0,20}\b(now|immediately|today|at once)\b",
    re.IGNORECASE,
)
EXCLUDED_ZH = ("生产", "销售", "试剂公司", "厂家", "经销")
EXCLUDED_EN = ("manufacturer", "seller", "distributor")


def contradictions(text: str) -> list[str]:
    """What in an answer disagrees with the notice on dates, fees or eligibility."""
    found = []
    for month, day in ZH_DATE.findall(text):
        if (int(month), int(day)) != (2, 25):
            found.append(f"date {month}月{day}日")
    for day, month, month2, day2 in EN_DATE.findall(text):
        if (int(day or day2), month or month2) != (25, "February"):
            found.append(f"date {day or day2} {month or month2}")
    for a, b, c in NUMERIC_DATE.findall(text):
        # 2025-03-01, 2025/3/1 or 3/1; month and day are the last two parts
        month_day = [int(x) for x in (a, b, c) if x][-2:]
        looks_like_a_date = len(a) == 4 or (len(a) <= 2 and int(a) <= 12)
        if looks_like_a_date and month_day != [2, 25]:
            found.append(f"date {a}/{b}/{c}")
    for year in YEAR.findall(text):
        if int(year) not in (2024, 2025):  # 2024: the year of the checklist and of "pay later"
            found.append(f"year {year}")
    if AMOUNT.search(text):
        found.append("an amount of money (no fee schedule has been approved)")
    if PAY_NOW_ZH.search(text) or PAY_NOW_EN.search(text):
        found.append("payment due now")
    if any(w in text for w in EXCLUDED_ZH) and "不接受仪器、试剂等生产、销售机构参评" not in text:
        found.append("manufacturers/sellers without the exclusion")
    if any(w in text.lower() for w in EXCLUDED_EN) and "may not take part" not in text:
        found.append("manufacturers/sellers without the exclusion")
    return found


def test_the_contradiction_check_catches_contradictions() -> None:
    for bad in (
        "请在 3 月 1 日以前申报完成。",
        "Complete the registration before 28 February.",
        "截止 2025-03-01。",
        "2026 年度的申报。",
        "质评费 800 元。",
        "请尽快交费。",
        "现在就需要转账。",
        "You must pay the fee.",
        "Payment is due now.",
        "仪器、试剂生产机构也可以参加。",
        "Reagent manufacturers are welcome.",
    ):
        assert contradictions(bad), bad
    assert not contradictions("并在 2 月 25 日以前申报完成。暂不交费。申报截止：2025年2月25日前，还剩 15 天。")


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("when", ["before", "after"])
async def test_no_answer_contradicts_the_notice(
    transcript: Transcript, app: App, clock: FixedClock, lang: str, when: str
) -> None:
    from tests.factories import bind, make_lab

    if when == "after":
        clock.set(AFTER_DEADLINE)
    guest = Person(transcript, f"g-{lang}", language=lang)
    member = Person(transcript, f"c-{lang}", language=lang)
    await bind(app, member, await make_lab(app, code=f"HN01{lang}"))
    for person in (guest, member):
        for entry in app.campaign.faq:
            await person.send("/faq")
            await person.press(entry.topic_for(lang), exact=True)
            text = person.last.text
            assert entry.answer_for(lang) in text
            assert not contradictions(text), (entry.id, contradictions(text), text)
    fees = app.campaign.faq_by_id["fees"]
    assert "暂不交费" in fees.answer and "pays nothing for now" in fees.answer_en
    eligibility = app.campaign.faq_by_id["eligibility"]
    assert "不接受仪器、试剂等生产、销售机构参评。" in eligibility.answer
    assert "二级及以上" in eligibility.answer
    assert "Manufacturers and sellers of instruments and reagents may not take part." in eligibility.answer_en


@pytest.mark.parametrize(
    "question",
    ["试剂公司能参加吗", "我们是仪器经销商，可以报名吗", "can an instrument distributor take part", "厂家可以参评吗"],
)
async def test_manufacturers_and_sellers_are_told_no(guest: Person, question: str) -> None:
    await guest.send(question)
    if question.isascii():
        assert "Manufacturers and sellers of instruments and reagents may not take part." in guest.last.text
    else:
        assert "不接受仪器、试剂等生产、销售机构参评。" in guest.last.text


@pytest.mark.parametrize(
    "question", ["现在要交钱吗", "质评费多少钱", "do we need to pay anything now?", "payment什么时候交"]
)
async def test_fee_questions_say_nothing_is_paid_now(guest: Person, question: str) -> None:
    await guest.send(question)
    assert ("pays nothing for now" if question.isascii() else "暂不交费") in guest.last.text
    assert not contradictions(guest.last.text)
