"""The practice licence: its fields found in the lines OCR read.

Licences differ by issuer and year, but each prints a label and its value on one row (or the value on the
row under the label): 机构名称 / 血站名称 / 单位名称, 登记号 / 许可证号, 有效期限 自…至…, 发证机关. The
lines are grouped into rows once the page is upright; each field is the text after its label.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from storage.reading.engine import Line
from storage.reading.text import compact, dates_in

__all__ = ["LICENCE_TYPES", "Field", "LicenceReading", "label_order", "parse_licence", "rows", "score"]

LICENCE_TYPES = ("医疗机构执业许可证", "血站执业许可证", "单采血浆许可证")


@dataclass(frozen=True)
class Field:
    value: str | None
    confidence: float  # 0…1: the recogniser's score of the lines it came from; 0 when not found

    @property
    def found(self) -> bool:
        return bool(self.value)


_NONE = Field(None, 0.0)


@dataclass(frozen=True)
class LicenceReading:
    text_found: bool  # any text of a licence (its title or two of its labels) was read
    licence_type: Field
    name: Field
    number: Field
    valid_from: Field  # ISO dates
    valid_to: Field
    authority: Field

    def as_dict(self) -> dict[str, object]:
        return {k: (asdict(v) if isinstance(v, Field) else v) for k, v in self.__dict__.items()}


@dataclass
class _Row:
    lines: list[Line]

    @property
    def text(self) -> str:
        return "".join(line.text for line in self.lines)

    @property
    def score(self) -> float:
        return min(line.score for line in self.lines)


def rows(lines: Sequence[Line]) -> list[_Row]:
    """Upright lines grouped into rows (centres within half a line height), each sorted left to right."""
    ordered = sorted(lines, key=lambda line: line.centre[1])
    out: list[_Row] = []
    for line in ordered:
        if out:
            last = out[-1]
            ref = sum(x.centre[1] for x in last.lines) / len(last.lines)
            tall = max(min(x.height for x in last.lines), 1.0)
            if abs(line.centre[1] - ref) <= 0.55 * min(tall, line.height):
                last.lines.append(line)
                continue
        out.append(_Row([line]))
    for row in out:
        row.lines.sort(key=lambda line: line.centre[0])
    return out


_LABELS = {
    "name": r"(?:医疗机构|机构|血站|单采血浆站|浆站|单位)名称",
    "number": r"(?:登记号|许可证号|许可证编号|证号|登记证号)",
    "validity": r"有效期限?",
    "authority": r"(?:发证机关|登记机关|发证单位|发证部门)",
    "address": r"(?:地址|住所)",
    "other": r"(?:法定代表人|主要负责人|所有制形式|诊疗科目|经营性质|执业范围|业务范围|类别|床位|负责人|采浆区域)",
}
_ANY_LABEL = re.compile("|".join(f"(?:{p})" for p in _LABELS.values()))


def _after(label: str, rows_: list[_Row]) -> tuple[str, float] | None:
    """The value after a label: the rest of its row up to the next label, else the next row."""
    pattern = re.compile(label + r"\s*(?:[（(]\s*盖?章\s*[)）])?\s*[:：]?")  # "发证机关（章）："
    for i, row in enumerate(rows_):
        text = unicodedata.normalize("NFKC", row.text)
        m = pattern.search(text)
        if m is None:
            continue
        rest = text[m.end() :]
        nxt = _ANY_LABEL.search(rest)
        value = (rest[: nxt.start()] if nxt else rest).strip(" :：")
        if compact(value):
            return value, row.score
        if i + 1 < len(rows_):
            below = unicodedata.normalize("NFKC", rows_[i + 1].text)
            if not _ANY_LABEL.match(compact(below)):
                return below.strip(" :："), rows_[i + 1].score
    return None


_NUMBER = re.compile(r"[0-9A-Z][0-9A-Z\-]{5,}")
_LONG_NUMBER = re.compile(r"(?<![0-9A-Z])[0-9A-Z]{15,30}(?![0-9A-Z])")
_AUTHORITY_END = re.compile(r"^(.*?(?:委员会|卫生局|卫健委|卫计委|卫生厅|管理局|委))")


def score(reading: LicenceReading) -> int:
    """How much of a licence a reading found (to choose between two ways of holding the page)."""
    fields = (reading.licence_type, reading.name, reading.number, reading.valid_to, reading.authority)
    return sum(1 for f in fields if f.found) + (1 if reading.valid_from.found else 0)


def label_order(lines: Sequence[Line]) -> int:
    """Rows where a label stands left of its value, minus rows where it stands right of it: negative when
    the page is held upside down."""
    total = 0
    for row in rows(lines):
        for i, line in enumerate(row.lines):
            if _ANY_LABEL.fullmatch(compact(line.text)):
                total += 1 if i < len(row.lines) - 1 else (-1 if i > 0 else 0)
    return total


def parse_licence(lines: Sequence[Line]) -> LicenceReading:
    """Fields of a licence from upright OCR lines."""
    rs = rows(lines)
    whole = compact("".join(r.text for r in rs))
    kind = _NONE
    for name in LICENCE_TYPES:
        if name in whole:
            conf = min(
                (line.score for line in lines if compact(line.text) and compact(line.text) in name + "副本正本"),
                default=0.9,
            )
            kind = Field(name, round(conf, 3))
            break
    labels_seen = sum(1 for key in ("name", "number", "validity", "authority") if re.search(_LABELS[key], whole))

    name = _NONE
    found = _after(_LABELS["name"], rs)
    if found:
        name = Field(compact(found[0]), round(found[1], 3))

    number = _NONE
    found = _after(_LABELS["number"], rs)
    if found:
        m = _NUMBER.search(compact(found[0]).upper())
        if m:
            number = Field(m.group(0), round(found[1], 3))
    if not number.found:
        # The label missed (a short word, easily lost): the licence's only long run of letters and digits.
        for row in rs:
            m = _LONG_NUMBER.search(compact(row.text).upper())
            if m and sum(c.isdigit() for c in m.group(0)) >= 8:
                number = Field(m.group(0), round(row.score * 0.9, 3))
                break

    valid_from, valid_to = _NONE, _NONE
    for i, row in enumerate(rs):
        if re.search(_LABELS["validity"], row.text):
            text = row.text + (rs[i + 1].text if i + 1 < len(rs) else "")
            dates = dates_in(text)
            score = min(row.score, rs[i + 1].score) if len(dates_in(row.text)) < 2 and i + 1 < len(rs) else row.score
            if len(dates) >= 2:
                valid_from = Field(dates[0].isoformat(), round(score, 3))
                valid_to = Field(dates[1].isoformat(), round(score, 3))
            elif len(dates) == 1:
                valid_to = Field(dates[0].isoformat(), round(score, 3))
            break

    authority = _NONE
    found = _after(_LABELS["authority"], rs)
    if found:
        text = compact(re.sub(r"[（(]\s*章\s*[)）]", "", found[0]))
        m = _AUTHORITY_END.match(text)
        if m:
            authority = Field(m.group(1), round(found[1], 3))
    return LicenceReading(
        text_found=kind.found or labels_seen >= 2,
        licence_type=kind,
        name=name,
        number=number,
        valid_from=valid_from,
        valid_to=valid_to,
        authority=authority,
    )
