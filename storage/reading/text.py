"""Normalising what was read and what was typed before comparing them: full/half-width forms, spaces,
brackets and punctuation, a leading province or city, a department after the institution's name."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from difflib import SequenceMatcher

__all__ = ["compact", "dates_in", "institution_core", "names_agree", "normal_number", "similarity"]

_NOISE = re.compile(r"[\s()（）\[\]【】〔〕{}<>《》\"'“”‘’·•.,，。、;；:：\-—_/\\|]")
_PROVINCE = re.compile(r"^(?:[\u4e00-\u9fff]{2,3}省|[\u4e00-\u9fff]{2,8}自治区|北京市|天津市|上海市|重庆市)")
_CITY = re.compile(r"^[\u4e00-\u9fff]{2,4}?(?:市|地区|自治州|州|盟)(?=[\u4e00-\u9fff]{2})")
_COUNTY = re.compile(r"^[\u4e00-\u9fff]{1,4}?(?:县|区)(?=[\u4e00-\u9fff]{3})")
# Departments that follow the institution's name in a lab's name ("…医院检验科").
_DEPARTMENT = re.compile(
    r"(?:医学检验科|检验科|检验中心|检验部|检验医学部|医学检验中心|临床实验室|中心实验室|输血科|输血部|血库|实验室)$"
)


def compact(text: str | None) -> str:
    """NFKC (full-width letters and digits become ASCII), then spaces, brackets and punctuation dropped."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", text or ""))


def _parts(name: str | None) -> tuple[str, str, str]:
    """(province, city, the rest) of an institution's name, without a department after it."""
    text = _DEPARTMENT.sub("", compact(name))
    province = _PROVINCE.match(text)
    text = text[province.end() :] if province else text
    city = _CITY.match(text)
    rest = text[city.end() :] if city else text
    return (province.group(0) if province else "", city.group(0) if city else "", rest)


def institution_core(name: str | None) -> str:
    """The institution's name without a leading province and city, and without a department."""
    return _parts(name)[2]


def similarity(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b, autojunk=False).ratio() if a and b else 0.0


def names_agree(read: str | None, typed: str | None, *, tolerance: float = 0.8) -> bool:
    """The name on a document and a typed name agree: equal once normalised, or one lacking only a
    province/city prefix the other has, or differing by about one misread character."""
    x, y = compact(read), compact(typed)
    if not x or not y:
        return False
    if x == y:
        return True
    (px, qx, cx), (py, qy, cy) = _parts(read), _parts(typed)
    # A province or city named on one side only may be left out; named on both, it must be the same.
    if (px and py and px != py) or (qx and qy and qx != qy):
        return False
    cx, cy = cx or x, cy or y
    if cx == cy:
        return True
    if similarity(cx, cy) < tolerance:
        return False
    # A misread character is forgiven, but not one that names another institution or branch
    # (第一/第二附属医院, 东院/西院).
    matcher = SequenceMatcher(None, cx, cy, autojunk=False)
    for op, i0, i1, j0, j1 in matcher.get_opcodes():
        if op != "equal" and _TELLING.search(cx[i0:i1] + cy[j0:j1]):
            return False
    return True


_TELLING = re.compile(r"[一二三四五六七八九十百零0-9东西南北中分]")


def normal_number(text: str | None) -> str:
    """A registration number as compared: ASCII, upper case, no spaces or punctuation; the letter O read
    inside a run of digits is a zero."""
    value = compact(text).upper()
    return re.sub(r"(?<=\d)O|O(?=\d)", "0", value)


_DATE = re.compile(r"((?:19|20)\d{2})\s*[年./\-]\s*(\d{1,2})\s*[月./\-]\s*(\d{1,2})\s*日?")


def dates_in(text: str) -> list[date]:
    found = []
    for y, m, d in _DATE.findall(unicodedata.normalize("NFKC", text)):
        try:
            found.append(date(int(y), int(m), int(d)))
        except ValueError:
            continue
    return found
