from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from conversations import validators as v
from conversations.validators import USCC_ALPHABET, Checked, uscc_check_char

# Valid codes: a public hospital (12…), a private non-enterprise unit (52…), an authority letter
# in position 1 (Y…, which stdnum refuses), a company, python-stdnum's own example.
VALID_CODES = [
    "124100004158005471",
    "52410100MA44KL3B7L",
    "Y1410100MA44KL3B7X",
    "91410100MA9F123454",
    "91110000600037341L",
]


def assert_args_declared(result: Checked[object]) -> None:
    """The arguments given are exactly those the catalogue message expects."""
    msg = result.message
    if msg is None:
        assert not result.args
    else:
        assert msg in v.MESSAGES, msg
        assert set(result.args) == v.MESSAGES[msg], (msg, result.args)


# --------------------------------------------------------------------------- Checked


def test_checked_ok_and_message() -> None:
    assert Checked(value=1).ok
    assert Checked(value=1, warning="val-taxid-legacy").ok
    refused: Checked[int] = Checked(value=None, error="val-empty")
    assert not refused.ok
    assert refused.message == "val-empty"
    with pytest.raises(AttributeError):
        refused.value = 3  # type: ignore[misc]


# --------------------------------------------------------------------------- credit code


@pytest.mark.parametrize("code", VALID_CODES)
def test_valid_credit_codes(code: str) -> None:
    result = v.credit_code(code)
    assert result.ok and result.warning is None
    assert result.value == code


def test_stdnum_refuses_letter_in_first_eight_but_we_accept() -> None:
    assert not stdnum_uscc.is_valid("Y1410100MA44KL3B7X")
    assert v.credit_code("Y1410100MA44KL3B7X").warning is None


@pytest.mark.parametrize(
    "typed",
    [
        "9141 0100 MA9F 1234 54",
        "91410100-MA9F1234-54",
        "91410100ma9f123454",
        "９１４１０１００ＭＡ９Ｆ１２３４５４",  # full-width, as some Chinese IMEs type
        " 91410100MA9F123454\u200b",  # zero-width space from a copied web page
        "统一社会信用代码：91410100MA9F123454",
    ],
)
def test_credit_code_normalisation(typed: str) -> None:
    result = v.credit_code(typed)
    assert result.ok and result.warning is None, result
    assert result.value == "91410100MA9F123454"


def test_credit_code_bad_check_char_is_a_warning_naming_expected() -> None:
    result = v.credit_code("91410100MA9F123455")
    assert result.ok
    assert result.warning == "val-uscc-checksum"
    assert result.args == {"expected": "4", "given": "5"}
    assert result.value == "91410100MA9F123455"
    assert_args_declared(result)


@pytest.mark.parametrize(
    ("typed", "error", "args"),
    [
        ("", "val-empty", {}),
        ("   ", "val-empty", {}),
        ("9141010MA9F123454", "val-uscc-length", {"length": 17}),
        ("91410100MA9F1234540", "val-uscc-length", {"length": 19}),
        ("91410100MO9F123454", "val-uscc-letter", {"position": 10, "char": "O", "suggest": "0"}),
        ("914I0100MA9F123454", "val-uscc-letter", {"position": 4, "char": "I", "suggest": "1"}),
        ("91410100MA9F1234S4", "val-uscc-letter", {"position": 17, "char": "S", "suggest": "5"}),
        ("9141010OMA9Z123454", "val-uscc-letter", {"position": 8, "char": "O", "suggest": "0"}),
        ("91410100MV9F123454", "val-uscc-letter-v", {"position": 10}),
        ("91410100MA9F1234*4", "val-uscc-char", {"position": 17, "char": "*"}),
        ("91410100MA9F12345号", "val-uscc-char", {"position": 18, "char": "号"}),
    ],
)
def test_credit_code_refusals(typed: str, error: str, args: dict[str, object]) -> None:
    result = v.credit_code(typed)
    assert not result.ok
    assert result.value is None
    assert result.error == error
    assert dict(result.args) == args
    assert_args_declared(result)


def test_weights_are_powers_of_three() -> None:
    assert v._USCC_WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


body17 = st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17)


@given(body17)
def test_generated_codes_are_accepted(first17: str) -> None:
    code = first17 + uscc_check_char(first17)
    result = v.credit_code(code)
    assert result.ok and result.warning is None
    assert result.value == code
    # Cross-check the arithmetic with python-stdnum (whose calc ignores its own format rule).
    assert stdnum_uscc.calc_check_digit(first17) == code[-1]
    if first17[:8].isdigit():
        assert stdnum_uscc.is_valid(code)


@given(body17, st.integers(0, 17), st.sampled_from(USCC_ALPHABET))
def test_one_substituted_character_never_passes_silently(first17: str, pos: int, new: str) -> None:
    code = first17 + uscc_check_char(first17)
    if code[pos] == new:
        return
    mutated = code[:pos] + new + code[pos + 1 :]
    result = v.credit_code(mutated)
    assert result.ok and result.warning == "val-uscc-checksum"
    assert result.args["expected"] == uscc_check_char(mutated[:17])
    assert_args_declared(result)


@given(body17, st.integers(0, 17), st.sampled_from("IOSVZ*#。,号"))
def test_illegal_character_is_refused_with_its_position(first17: str, pos: int, bad: str) -> None:
    code = first17 + uscc_check_char(first17)
    mutated = code[:pos] + bad + code[pos + 1 :]
    result = v.credit_code(mutated)
    assert not result.ok
    assert result.args["position"] == pos + 1
    assert_args_declared(result)


@given(body17, st.integers(0, 15))
def test_adjacent_transposition_is_detected(first17: str, pos: int) -> None:
    code = first17 + uscc_check_char(first17)
    if code[pos] == code[pos + 1]:
        return
    swapped = code[:pos] + code[pos + 1] + code[pos] + code[pos + 2 :]
    assert v.credit_code(swapped).warning == "val-uscc-checksum"


@given(body17, st.integers(0, 17))
def test_dropped_character_is_a_length_error(first17: str, pos: int) -> None:
    code = first17 + uscc_check_char(first17)
    result = v.credit_code(code[:pos] + code[pos + 1 :])
    assert result.error == "val-uscc-length"
    assert result.args == {"length": 17}


@given(st.text(max_size=40))
def test_credit_code_never_crashes_and_args_match(text: str) -> None:
    result = v.credit_code(text)
    assert result.ok == (result.value is not None)
    assert_args_declared(result)


# --------------------------------------------------------------------------- taxpayer ID


def test_taxpayer_id_uscc() -> None:
    assert v.taxpayer_id("91410100MA9F123454").value == "91410100MA9F123454"
    assert v.taxpayer_id("91410100MA9F123455").warning == "val-uscc-checksum"
    assert v.taxpayer_id("91410100MO9F123454").error == "val-uscc-letter"


@pytest.mark.parametrize("legacy", ["410105123456789", "41010512345678X00", "41010519800101123X01"])
def test_taxpayer_id_legacy(legacy: str) -> None:
    result = v.taxpayer_id(legacy.lower())
    assert result.ok
    assert result.warning == "val-taxid-legacy"
    assert result.args == {"length": len(legacy)}
    assert result.value == legacy.upper()


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("4101051234567", "val-taxid-length"),
        ("4101051234567890", "val-taxid-length"),
        ("41010512345678/", "val-taxid-char"),
        ("", "val-empty"),
    ],
)
def test_taxpayer_id_refused(typed: str, error: str) -> None:
    result = v.taxpayer_id(typed)
    assert result.error == error
    assert_args_declared(result)


# --------------------------------------------------------------------------- mobile


@pytest.mark.parametrize(
    "typed",
    [
        "13837123456",
        "138 3712 3456",
        "138-3712-3456",
        "+86 138 3712 3456",
        "+8613837123456",
        "008613837123456",
        "86 13837123456",
        "(+86)13837123456",
        "１３８３７１２３４５６",
        "手机：13837123456",
        "013837123456",
    ],
)
def test_mobile_accepted(typed: str) -> None:
    result = v.mobile(typed)
    assert result.ok and result.warning is None, result
    assert result.value == "13837123456"


@pytest.mark.parametrize("number", ["19912345678", "16612345678", "17012345678", "14512345678"])
def test_newer_mobile_ranges(number: str) -> None:
    assert v.mobile(number).ok


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("1383712345", "val-mobile-length"),
        ("138371234567", "val-mobile-length"),
        ("12837123456", "val-mobile-prefix"),
        ("14012345678", "val-mobile-invalid"),
        ("138371234a6", "val-mobile-format"),
        ("0371-67966305", "val-mobile-landline"),
        ("", "val-empty"),
    ],
)
def test_mobile_refused(typed: str, error: str) -> None:
    result = v.mobile(typed)
    assert result.error == error, result
    assert_args_declared(result)


# --------------------------------------------------------------------------- landline


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("0371-67966305", "0371-67966305"),
        ("(0371)67966305", "0371-67966305"),
        ("（0371）67966305", "0371-67966305"),
        ("037167966305", "0371-67966305"),
        ("0371 6796 6305", "0371-67966305"),
        ("0371—67966305", "0371-67966305"),
        ("０３７１－６７９６６３０５", "0371-67966305"),
        ("+86 371 6796 6305", "0371-67966305"),
        ("0371-66968015转8001", "0371-66968015-8001"),
        ("0371-66968015 转 8001", "0371-66968015-8001"),
        ("0371-66968015-8001", "0371-66968015-8001"),
        ("0371-66968015 ext. 8001", "0371-66968015-8001"),
        ("联系电话：0371-66968015", "0371-66968015"),
        ("0379-65432100", "0379-65432100"),
        ("0398-2812345", "0398-2812345"),
        ("0391 3456789", "0391-3456789"),
    ],
)
def test_landline_henan(typed: str, value: str) -> None:
    result = v.landline(typed)
    assert result.ok and result.warning is None, result
    assert result.value == value


@pytest.mark.parametrize(
    ("typed", "value", "area"),
    [
        ("010-62345678", "010-62345678", "010"),
        ("02162345678", "021-62345678", "021"),
        ("0755-86543210", "0755-86543210", "0755"),
    ],
)
def test_landline_outside_henan_warns(typed: str, value: str, area: str) -> None:
    result = v.landline(typed)
    assert result.ok
    assert result.value == value
    assert result.warning == "val-phone-outside-henan"
    assert result.args == {"area": area}


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("67966305", "val-landline-area"),
        ("13837123456", "val-landline-mobile"),
        ("0371-6796630", "val-landline-invalid"),  # Zhengzhou numbers have 8 digits
        ("0371-12345678", "val-landline-invalid"),
        ("0371-679663051", "val-landline-invalid"),
        ("0371-6796-6305-12-34", "val-landline-format"),
        ("0371-abcdefg", "val-landline-format"),
        ("", "val-empty"),
    ],
)
def test_landline_refused(typed: str, error: str) -> None:
    result = v.landline(typed)
    assert result.error == error, result
    assert_args_declared(result)


def test_kaifeng_old_area_code_is_told_its_new_number() -> None:
    for typed in ("0378-2345678", "（0378）2345678", "03782345678"):
        result = v.phone(typed)
        assert result.error == "val-landline-kaifeng" and result.args == {"number": "0371-22345678"}, result
    assert v.landline("0371-22345678").value == "0371-22345678"  # the new form is taken as it is
    assert v.landline("0378-23456789").error == "val-landline-invalid"  # 8 digits never existed there


def test_phone_picks_whichever_fits() -> None:
    assert v.phone("138 3712 3456").value == "13837123456"
    assert v.phone("0371-67966305").value == "0371-67966305"
    assert v.phone("0371-6796630").error == "val-landline-invalid"
    assert v.phone("1383712345").error == "val-mobile-length"
    assert v.phone("67966305").error == "val-phone-format"
    assert v.phone("").error == "val-empty"


@given(st.text(alphabet="0123456789 -+()转#x", max_size=24))
def test_phones_never_crash(text: str) -> None:
    for fn in (v.mobile, v.landline, v.phone):
        result = fn(text)
        assert result.ok == (result.value is not None)
        assert_args_declared(result)


# --------------------------------------------------------------------------- postcode


def test_postcode() -> None:
    assert v.postcode("450052").value == "450052"
    assert v.postcode("４５００５２").value == "450052"
    assert v.postcode("邮编：450 003").value == "450003"
    assert v.postcode("476999").warning is None
    outside = v.postcode("100000")
    assert outside.ok and outside.warning == "val-postcode-outside-henan"
    assert outside.args == {"postcode": "100000"}
    assert v.postcode("477000").warning == "val-postcode-outside-henan"
    for bad in ("45005", "4500521", "45005a"):
        assert v.postcode(bad).error == "val-postcode-format"


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    "typed",
    [
        "2025-02-25",
        "2025/2/25",
        "2025.2.25",
        "20250225",
        "2025年2月25日",
        "2025 年 2 月 25 日",
        "２０２５年２月２５日",
        "2025年02月25号",
        "2025-2-25",
    ],
)
def test_parse_date(typed: str) -> None:
    assert v.parse_date(typed).value == date(2025, 2, 25)


@pytest.mark.parametrize(
    ("typed", "error", "args"),
    [
        ("2025-02-29", "val-date-day", {"year": "2025", "month": 2, "day": 29, "max": 28}),
        ("2025-04-31", "val-date-day", {"year": "2025", "month": 4, "day": 31, "max": 30}),
        ("2025-13-01", "val-date-month", {"month": 13}),
        ("2025-00-10", "val-date-month", {"month": 0}),
        ("0225-02-25", "val-date-year", {"year": "225"}),
        ("25/02/2025", "val-date-format", {}),
        ("明天", "val-date-format", {}),
        ("", "val-empty", {}),
    ],
)
def test_parse_date_refused(typed: str, error: str, args: dict[str, object]) -> None:
    result = v.parse_date(typed)
    assert result.error == error
    assert dict(result.args) == args
    assert_args_declared(result)


def test_leap_day() -> None:
    assert v.parse_date("2024-02-29").value == date(2024, 2, 29)


@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2150, 12, 31)))
def test_parse_date_round_trips(d: date) -> None:
    for text in (d.isoformat(), f"{d.year}年{d.month}月{d.day}日", d.strftime("%Y%m%d"), f"{d.year}/{d.month}/{d.day}"):
        assert v.parse_date(text).value == d


def test_licence_validity() -> None:
    samples = date(2025, 3, 15)
    ok = v.licence_validity(date(2021, 6, 30), date(2026, 6, 29), must_cover=samples)
    assert ok.ok and ok.warning is None
    assert ok.value == (date(2021, 6, 30), date(2026, 6, 29))
    assert v.licence_validity(date(2020, 1, 1), samples, must_cover=samples).ok

    expired = v.licence_validity(date(2020, 1, 1), date(2025, 3, 1), must_cover=samples)
    assert expired.error == "val-licence-expires"
    assert expired.args == {"valid_to": "2025-03-01", "must_cover": "2025-03-15", "basis": "samples"}
    at_deadline = v.licence_validity(
        date(2020, 1, 1), date(2025, 2, 24), must_cover=date(2025, 2, 25), basis="deadline"
    )
    assert at_deadline.error == "val-licence-expires" and at_deadline.args["basis"] == "deadline"

    backwards = v.licence_validity(date(2026, 1, 1), date(2021, 1, 1), must_cover=samples)
    assert backwards.error == "val-licence-order"
    assert backwards.args == {"valid_from": "2026-01-01", "valid_to": "2021-01-01"}

    future = v.licence_validity(date(2026, 1, 1), date(2031, 1, 1), must_cover=samples)
    assert future.ok and future.warning == "val-licence-not-yet-valid"
    for result in (expired, backwards, future):
        assert_args_declared(result)


# --------------------------------------------------------------------------- text


def test_text_field_keeps_official_punctuation() -> None:
    name = "郑州大学第一附属医院（河南省第一人民医院）"
    assert v.text_field(name, max_len=60).value == name


def test_text_field_cleans() -> None:
    typed = "  郑州市建设东路１号\n门诊楼１２楼  "
    assert v.text_field(typed, max_len=100).value == "郑州市建设东路1号 门诊楼12楼"
    assert v.text_field("河南省\u200b临床检验中心", max_len=50).value == "河南省临床检验中心"


@pytest.mark.parametrize(
    ("typed", "error", "args"),
    [
        ("", "val-empty", {}),
        (" \n\t ", "val-empty", {}),
        ("。。。", "val-text-no-letters", {}),
        ("——", "val-text-no-letters", {}),
        ("👍", "val-text-emoji", {}),
        ("检验科🏥", "val-text-emoji", {}),
        ("检" * 51, "val-text-too-long", {"max": 50, "length": 51}),
        ("a", "val-text-too-short", {"min": 2}),
    ],
)
def test_text_field_refused(typed: str, error: str, args: dict[str, object]) -> None:
    result = v.text_field(typed, max_len=50, min_len=2)
    assert result.error == error
    assert dict(result.args) == args
    assert_args_declared(result)


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("李书杰", "李书杰"),
        ("张 愔", "张愔"),
        ("  张三  ", "张三"),
        ("买买提·艾力", "买买提·艾力"),
        ("买买提.艾力", "买买提·艾力"),
        ("买买提•艾力", "买买提·艾力"),
        ("阿依古丽 · 吐尔逊", "阿依古丽·吐尔逊"),
        ("Wang Fang", "Wang Fang"),
        ("John F. Kennedy", "John F. Kennedy"),
        ("Mary O'Brien", "Mary O'Brien"),
        ("Ｗａｎｇ Ｌｉ", "Wang Li"),
        ("𠈌生", "𠈌生"),  # a CJK Extension B character, as rare given names use
    ],
)
def test_person_name(typed: str, value: str) -> None:
    result = v.person_name(typed)
    assert result.ok, result
    assert result.value == value


@pytest.mark.parametrize(
    ("typed", "error", "args"),
    [
        ("张", "val-name-too-short", {"min": 2}),
        ("张三13837123456", "val-name-chars", {"char": "1"}),
        ("张三（主任）", "val-name-chars", {"char": "（"}),
        ("张三😀", "val-name-chars", {"char": "😀"}),
        ("A" * 31, "val-name-too-long", {"max": 30}),
        ("", "val-empty", {}),
        ("··", "val-empty", {}),
    ],
)
def test_person_name_refused(typed: str, error: str, args: dict[str, object]) -> None:
    result = v.person_name(typed)
    assert result.error == error
    assert dict(result.args) == args
    assert_args_declared(result)


@given(st.text(max_size=40))
def test_free_text_never_crashes(text: str) -> None:
    for result in (
        v.text_field(text, max_len=20),
        v.person_name(text),
        v.postcode(text),
        v.parse_date(text),
        v.taxpayer_id(text),
    ):
        assert result.ok == (result.value is not None)
        assert_args_declared(result)
