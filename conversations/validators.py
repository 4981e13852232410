"""Field validators for what a lab contact types on a phone.

Every validator normalises first (full-width → half-width, stray spaces and dashes, case) and
returns a :class:`Checked`: the normalised value, or a Fluent message id saying what is wrong
and how to fix it. Message ids start with ``val-`` and live in ``locales/*/checks.ftl``.
A warning means "accepted, but a person should look": it never blocks the user.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Generic, TypeVar

import phonenumbers

T = TypeVar("T")

__all__ = [
    "HENAN_AREA_CODES",
    "MESSAGES",
    "MESSAGE_IDS",
    "USCC_ALPHABET",
    "Checked",
    "credit_code",
    "landline",
    "licence_validity",
    "mobile",
    "parse_date",
    "person_name",
    "phone",
    "postcode",
    "taxpayer_id",
    "text_field",
    "uscc_check_char",
]


@dataclass(frozen=True)
class Checked(Generic[T]):
    value: T | None  # normalised value when accepted
    error: str | None = None  # message id; set => refused
    warning: str | None = None  # message id; set => accepted with a warning
    args: Mapping[str, object] = field(default_factory=dict)  # message arguments

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def message(self) -> str | None:
        """The message id to show, if any (the error wins over the warning)."""
        return self.error or self.warning


def _accept(value: T, warning: str | None = None, **args: object) -> Checked[T]:
    return Checked(value=value, warning=warning, args=args)


def _refuse(error: str, **args: object) -> Checked[T]:
    return Checked(value=None, error=error, args=args)


# Every message id this module can return, with the arguments it is given; tests check each
# exists in both catalogues and uses exactly these variables.
MESSAGES: Mapping[str, frozenset[str]] = {
    msg_id: frozenset(args.split())
    for msg_id, args in {
        "val-empty": "",
        "val-uscc-length": "length",
        "val-uscc-char": "position char",
        "val-uscc-letter": "position char suggest",
        "val-uscc-letter-v": "position",
        "val-uscc-checksum": "expected given",
        "val-taxid-legacy": "length",
        "val-taxid-length": "length",
        "val-taxid-char": "position char",
        "val-mobile-format": "char",
        "val-mobile-length": "length",
        "val-mobile-prefix": "",
        "val-mobile-invalid": "number",
        "val-mobile-landline": "",
        "val-landline-format": "",
        "val-landline-area": "",
        "val-landline-mobile": "",
        "val-landline-invalid": "area digits",
        "val-landline-kaifeng": "number",
        "val-phone-outside-henan": "area",
        "val-phone-format": "",
        "val-postcode-format": "",
        "val-postcode-outside-henan": "postcode",
        "val-date-format": "",
        "val-date-year": "year",
        "val-date-month": "month",
        "val-date-day": "year month day max",
        "val-licence-order": "valid_from valid_to",
        "val-licence-expires": "valid_to must_cover basis",
        "val-licence-not-yet-valid": "valid_from must_cover basis",
        "val-text-too-short": "min",
        "val-text-too-long": "max length",
        "val-text-no-letters": "",
        "val-text-emoji": "",
        "val-name-too-short": "min",
        "val-name-too-long": "max",
        "val-name-chars": "char",
    }.items()
}
MESSAGE_IDS: frozenset[str] = frozenset(MESSAGES)

# --------------------------------------------------------------------------- normalisation

# NFKC leaves these dashes alone; people paste them from Word and WeChat.
_DASHES = dict.fromkeys(map(ord, "‐‑‒–—―−﹣－~～"), "-")


def _is_invisible(ch: str) -> bool:
    # Zero-width spaces/joiners and BOMs sneak in through copy-paste and break matching.
    return unicodedata.category(ch) == "Cf"


def _normalise(text: str) -> str:
    """NFKC, unify dashes, drop invisible characters, strip."""
    text = unicodedata.normalize("NFKC", text).translate(_DASHES)
    return "".join(ch for ch in text if not _is_invisible(ch)).strip()


def _compact(text: str, drop: str = " -") -> str:
    """Normalise and remove separators people put into codes and numbers."""
    text = _normalise(text)
    return "".join(ch for ch in text if ch not in drop and not ch.isspace())


# Labels people paste along with the value ("统一社会信用代码：9141…", "电话: 0371…").
_LABEL_RE = re.compile(
    r"^(?:统一社会信用代码|社会信用代码|信用代码|纳税人识别号|税号|手机号码|手机号|手机|联系电话|"
    r"电话号码|电话|座机|固话|邮政编码|邮编)\s*[:：]?\s*"
)


def _strip_label(text: str) -> str:
    return _LABEL_RE.sub("", text, count=1)


# --------------------------------------------------------------------------- credit code

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_INDEX = {ch: i for i, ch in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
# Letters GB 32100 leaves out because they look like digits; say what was probably meant.
_LOOKALIKES = {"O": "0", "I": "1", "Z": "2", "S": "5"}


def uscc_check_char(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters.

    Unlike ``stdnum.cn.uscc.validate`` this does not insist that characters 1–8 are digits:
    registration-authority and entity-type letters (e.g. ``Y1…``) exist.
    """
    if len(first17) != 17:
        raise ValueError("need exactly 17 characters")
    total = sum(_USCC_INDEX[ch] * w for ch, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def _uscc_shape(code: str) -> Checked[str] | None:
    """Refusal for a code with wrong characters or length, else None."""
    for pos, ch in enumerate(code, start=1):
        if not (ch.isascii() and ch.isalnum()):
            return _refuse("val-uscc-char", position=pos, char=ch)
    for pos, ch in enumerate(code, start=1):
        if ch in _LOOKALIKES:
            return _refuse("val-uscc-letter", position=pos, char=ch, suggest=_LOOKALIKES[ch])
        if ch == "V":
            return _refuse("val-uscc-letter-v", position=pos)
    if len(code) != 18:
        return _refuse("val-uscc-length", length=len(code))
    return None


def credit_code(text: str) -> Checked[str]:
    """Unified social credit code (统一社会信用代码, GB 32100-2015).

    A bad check character is only a warning: some early pilot codes are genuine yet fail the
    check, so a reviewer decides. Wrong length or characters are refused with the position.
    """
    code = _compact(_strip_label(_normalise(text))).upper()
    if not code:
        return _refuse("val-empty")
    refusal = _uscc_shape(code)
    if refusal is not None:
        return refusal
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        return _accept(code, "val-uscc-checksum", expected=expected, given=code[17])
    return _accept(code)


def taxpayer_id(text: str) -> Checked[str]:
    """Taxpayer ID on the invoice: an 18-character USCC, or a legacy 15/17/20-character ID."""
    code = _compact(_strip_label(_normalise(text))).upper()
    if not code:
        return _refuse("val-empty")
    if len(code) == 18:
        return credit_code(code)
    for pos, ch in enumerate(code, start=1):
        if not (ch.isascii() and ch.isalnum()):
            return _refuse("val-taxid-char", position=pos, char=ch)
    if len(code) in (15, 17, 20):
        return _accept(code, "val-taxid-legacy", length=len(code))
    return _refuse("val-taxid-length", length=len(code))


# --------------------------------------------------------------------------- phones

HENAN_AREA_CODES: frozenset[str] = frozenset(
    [f"037{d}" for d in range(10)] + [f"039{d}" for d in range(1, 7)] + ["0398"]
)
KAIFENG_OLD_AREA = "0378"
_MOBILE_RE = re.compile(r"1[3-9]\d{9}")
_PHONE_PUNCT = " -()（）.·"


def _strip_country(digits: str) -> str:
    """Drop +86 / 0086 / 86 in front of an 11-digit mobile or a landline without its 0."""
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix):
            rest = digits[len(prefix) :]
            if prefix == "86" and not (len(rest) == 11 and rest.startswith("1")):
                return digits  # "86…" may be a plain number; only strip when a mobile remains
            return rest if rest.startswith(("1", "0")) else "0" + rest
    return digits


def mobile(text: str) -> Checked[str]:
    """Mainland mobile number, normalised to its 11 digits."""
    raw = _compact(_strip_label(_normalise(text)), drop=_PHONE_PUNCT)
    if not raw:
        return _refuse("val-empty")
    digits = _strip_country(raw)
    for ch in digits:
        if not ch.isdigit():
            return _refuse("val-mobile-format", char=ch)
    if len(digits) == 12 and digits.startswith("01"):
        digits = digits[1:]  # "0138…": the old habit of dialling 0 before an out-of-town mobile
    elif digits.startswith("0") and landline(text).ok:
        return _refuse("val-mobile-landline")
    if len(digits) != 11:
        return _refuse("val-mobile-length", length=len(digits))
    if not _MOBILE_RE.fullmatch(digits):
        return _refuse("val-mobile-prefix")
    number = phonenumbers.parse(digits, "CN")
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        return _refuse("val-mobile-invalid", number=digits)
    return _accept(digits)


_EXT_RE = re.compile(r"(?:转|轉|分机|ext\.?|x|#)\s*(\d{1,6})$", re.IGNORECASE)


def _split_landline(text: str) -> tuple[str, str, str] | None:
    """(area code, subscriber number, extension) from the common ways people write them."""
    s = _normalise(_strip_label(_normalise(text)))
    ext = ""
    m = _EXT_RE.search(s)
    if m:
        ext, s = m.group(1), s[: m.start()].strip(" -")
    s = s.replace("(", " ").replace(")", " ").strip()
    country = re.match(r"(?:\+86|0086)[\s\-]*", s)
    if country:
        # International form drops the trunk 0: +86 371 6796 6305.
        s = s[country.end() :]
        s = s if s.startswith("0") else "0" + s
    tokens = [t for t in re.split(r"[\s\-.]+", s) if t]
    if not tokens or not all(t.isascii() and t.isdigit() for t in tokens):
        return None
    if len(tokens) == 1:
        digits = tokens[0]
        if not digits.startswith("0"):
            return ("", digits, ext)
        # Beijing (010) and 02x cities have 3-digit area codes, everyone else 4.
        cut = 3 if digits.startswith(("010", "02")) else 4
        return (digits[:cut], digits[cut:], ext)
    area, rest = tokens[0], tokens[1:]
    if not area.startswith("0"):
        return ("", "".join(tokens), ext)
    number = ""
    while rest and len(number) < 7:
        number += rest.pop(0)
    if len(rest) == 1 and not ext:
        ext = rest.pop()  # "0371-66968015-8001": the trailing group is an extension
    if rest:
        return None
    return (area, number, ext)


def landline(text: str) -> Checked[str]:
    """Landline with area code, normalised to ``0371-67966305`` (``-8001`` for an extension)."""
    if not _normalise(text):
        return _refuse("val-empty")
    parts = _split_landline(text)
    if parts is None:
        return _refuse("val-landline-format")
    area, number, ext = parts
    if not area:
        if _MOBILE_RE.fullmatch(number):
            return _refuse("val-landline-mobile")
        return _refuse("val-landline-area")
    if area == KAIFENG_OLD_AREA and len(number) == 7 and number[0] not in "01":
        # Kaifeng joined 0371 in 2020, its numbers gaining a leading 2; say so rather than "does not exist".
        return _refuse("val-landline-kaifeng", number=f"0371-2{number}")
    if not (3 <= len(area) <= 4) or not (7 <= len(number) <= 8) or number[0] in "01":
        return _refuse("val-landline-invalid", area=area, digits=len(number))
    parsed = phonenumbers.parse(area + number, "CN")
    if not phonenumbers.is_valid_number(parsed) or phonenumbers.number_type(parsed) not in (
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        return _refuse("val-landline-invalid", area=area, digits=len(number))
    value = f"{area}-{number}" + (f"-{ext}" if ext else "")
    if area not in HENAN_AREA_CODES:
        return _accept(value, "val-phone-outside-henan", area=area)
    return _accept(value)


def phone(text: str) -> Checked[str]:
    """A mobile or a landline, whichever fits; the refusal is the one for what it resembles."""
    as_mobile = mobile(text)
    if as_mobile.ok:
        return as_mobile
    as_landline = landline(text)
    if as_landline.ok:
        return as_landline
    if as_mobile.error == "val-empty":
        return as_mobile
    digits = _strip_country(_compact(_strip_label(_normalise(text)), drop=_PHONE_PUNCT))
    if digits.startswith("1"):
        return as_mobile
    if digits.startswith("0"):
        return as_landline
    return _refuse("val-phone-format")


# --------------------------------------------------------------------------- postcode


def postcode(text: str) -> Checked[str]:
    """Six-digit postcode; outside Henan (450000–476999) is accepted with a warning."""
    code = _compact(_strip_label(_normalise(text)))
    if not code:
        return _refuse("val-empty")
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return _refuse("val-postcode-format")
    if not 450000 <= int(code) <= 476999:
        return _accept(code, "val-postcode-outside-henan", postcode=code)
    return _accept(code)


# --------------------------------------------------------------------------- dates

_DATE_SEP_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?")
_DATE_COMPACT_RE = re.compile(r"(\d{4})(\d{2})(\d{2})")


def parse_date(text: str) -> Checked[date]:
    """A date as people write it: 2025-02-25, 2025/2/25, 2025.2.25, 20250225, 2025年2月25日."""
    s = _normalise(text)
    if not s:
        return _refuse("val-empty")
    m = _DATE_SEP_RE.fullmatch(s) or _DATE_COMPACT_RE.fullmatch(s.replace(" ", ""))
    if not m:
        return _refuse("val-date-format")
    year, month, day = (int(g) for g in m.groups())
    if not 1949 <= year <= 2199:
        return _refuse("val-date-year", year=str(year))
    if not 1 <= month <= 12:
        return _refuse("val-date-month", month=month)
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        return _refuse("val-date-day", year=str(year), month=month, day=day, max=last)
    return _accept(date(year, month, day))


def licence_validity(
    valid_from: date, valid_to: date, *, must_cover: date, basis: str = "samples"
) -> Checked[tuple[date, date]]:
    """The practice licence's validity period must still hold on ``must_cover``.

    ``must_cover`` is the day samples go out (``basis`` "samples") or, when the campaign gives no such
    day, the registration deadline (``basis`` "deadline"); a licence that lapses before then is refused.
    """
    if valid_to <= valid_from:
        return _refuse("val-licence-order", valid_from=valid_from.isoformat(), valid_to=valid_to.isoformat())
    if valid_to < must_cover:
        return _refuse(
            "val-licence-expires", valid_to=valid_to.isoformat(), must_cover=must_cover.isoformat(), basis=basis
        )
    if valid_from > must_cover:
        # Most likely a mistyped year; a reviewer can see the licence itself.
        return _accept(
            (valid_from, valid_to),
            "val-licence-not-yet-valid",
            valid_from=valid_from.isoformat(),
            must_cover=must_cover.isoformat(),
            basis=basis,
        )
    return _accept((valid_from, valid_to))


# --------------------------------------------------------------------------- free text

# Only full-width letters and digits are folded: official names keep their （） and ，.
_FULLWIDTH_ALNUM = {
    **{0xFF10 + i: chr(0x30 + i) for i in range(10)},
    **{0xFF21 + i: chr(0x41 + i) for i in range(26)},
    **{0xFF41 + i: chr(0x61 + i) for i in range(26)},
    0x3000: " ",
}
_SPACES_RE = re.compile(r"\s+")


def _is_emoji(ch: str) -> bool:
    cp = ord(ch)
    return 0x1F000 <= cp <= 0x1FAFF or 0x2600 <= cp <= 0x27BF or 0x2B00 <= cp <= 0x2BFF or cp in (0xFE0F, 0x20E3)


def _clean_text(text: str) -> str:
    text = text.translate(_FULLWIDTH_ALNUM)
    text = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text)
    text = "".join(ch for ch in text if not _is_invisible(ch))
    return _SPACES_RE.sub(" ", text).strip()


def text_field(text: str, *, max_len: int, min_len: int = 1) -> Checked[str]:
    """Names, addresses, invoice titles: trimmed, spaces collapsed, length-checked.

    Full-width brackets and commas are kept (they are part of official Chinese names);
    emoji are refused because the text goes onto invoices and envelopes.
    """
    s = _clean_text(text)
    if not s:
        return _refuse("val-empty")
    if any(_is_emoji(ch) for ch in s):
        return _refuse("val-text-emoji")
    if not any(unicodedata.category(ch)[0] in "LN" for ch in s):
        return _refuse("val-text-no-letters")
    if len(s) < min_len:
        return _refuse("val-text-too-short", min=min_len)
    if len(s) > max_len:
        return _refuse("val-text-too-long", max=max_len, length=len(s))
    return _accept(s)


_NAME_DOTS = dict.fromkeys(map(ord, "•・‧∙⋅●"), "·")
# A full stop between Chinese names is a mistyped ·, but "John F. Kennedy" keeps its period.
_CJK_NAME_DOTS = dict.fromkeys(map(ord, ".．。"), "·")


def _is_cjk(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH"))


def _is_latin(ch: str) -> bool:
    return ch.isalpha() and "LATIN" in unicodedata.name(ch, "")


def person_name(text: str, *, min_len: int = 2, max_len: int = 30) -> Checked[str]:
    """A person's name: Chinese or Latin letters, with · (买买提·艾力) and spaces."""
    s = _clean_text(text).translate(_NAME_DOTS)
    if any(_is_cjk(ch) for ch in s):
        s = s.translate(_CJK_NAME_DOTS)
    s = re.sub(r"\s*·\s*", "·", s).strip(" ·")
    if not s:
        return _refuse("val-empty")
    if all(_is_cjk(ch) or ch in " ·" for ch in s):
        s = s.replace(" ", "")  # "张 三" is spaced out for alignment, not part of the name
    for i, ch in enumerate(s):
        if _is_cjk(ch) or _is_latin(ch) or ch in " ·":
            continue
        # Apostrophes, hyphens and initials' periods only after a Latin letter (O'Brien, F. Kennedy).
        after = s[i + 1] if i + 1 < len(s) else ""
        if ch in "'-." and i > 0 and _is_latin(s[i - 1]) and (_is_latin(after) or after == " "):
            continue
        return _refuse("val-name-chars", char=ch)
    if len(s) < min_len:
        return _refuse("val-name-too-short", min=min_len)
    if len(s) > max_len:
        return _refuse("val-name-too-long", max=max_len)
    return _accept(s)


def display_name(text: str | None) -> str | None:
    """A name the platform reported (a Telegram display name), kept only if it would pass as a typed name:
    it is stored and prefilled (a mailing recipient, an export), so "=HYPERLINK(...)" must not get in."""
    if not text:
        return None
    checked = person_name(text)
    return checked.value if checked.ok else None
