"""The campaign file: everything year-specific, edited by the centre each year, validated on load.

A campaign that does not hold together (a missing deadline, a rule naming an unknown specialty, a duplicate
code) is refused with a message naming the entry, so a typo never reaches lab contacts.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_\-]{0,23}$")]
DEFAULT_CAMPAIGN = "henan-2025.toml"


class CampaignError(ValueError):
    """The campaign file is unusable; the message names the offending entry."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Named(_Strict):
    code: Code
    name: str = Field(min_length=1)
    name_en: str = Field(min_length=1)

    def label(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name


class Test(Named):
    """One analyte or test of the previous-year checklist (e.g. K, WBC, PT)."""

    code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-.+/%#]{0,23}$")]


class Specialty(Named):
    tests: tuple[Test, ...] = Field(min_length=5)


class InstitutionType(Named):
    eligible: bool
    # Level 2+ is required for medical institutions; blood-supply labs have no hospital level.
    needs_level: bool = True
    reason: str = ""
    reason_en: str = ""
    group: Literal["hospital", "laboratory", "blood_supply", "transfusion", "excluded"]


class Level(Named):
    rank: int = Field(ge=0, le=3)


class MandatoryRule(_Strict):
    institution_types: tuple[str, ...] = Field(min_length=1)
    specialties: tuple[str, ...] = Field(min_length=1)
    reason: str
    reason_en: str


class FaqEntry(_Strict):
    id: Code
    topic: str
    topic_en: str
    answer: str
    answer_en: str
    # Phrasings people actually use; the matcher learns from these.
    examples: tuple[str, ...] = ()
    examples_en: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    # Computed parts appended to the answer at reply time ("days_left", "licence_on_file", ...).
    dynamic: tuple[str, ...] = ()

    def topic_for(self, lang: str) -> str:
        return self.topic_en if lang == "en" else self.topic

    def answer_for(self, lang: str) -> str:
        return self.answer_en if lang == "en" else self.answer


class Contacts(_Strict):
    people: tuple[str, ...]
    phones: tuple[str, ...]
    email: str
    address: str
    address_en: str
    tech_support: str
    tech_support_en: str
    website: str

    # The whole contact paragraph as the notice prints it: the FAQ and every refusal quote it verbatim.
    notice_text: str
    notice_text_en: str

    def text(self, lang: str) -> str:
        return self.notice_text_en if lang == "en" else self.notice_text


class Fees(_Strict):
    mode: str
    mode_en: str
    note: str
    note_en: str
    agreement_title: str
    agreement_body: tuple[str, ...] = Field(min_length=1)


class Reminders(_Strict):
    days_before: tuple[int, ...] = (14, 7, 3, 1, 0)
    send_at: time = time(9, 30)
    backup_after_unanswered: int = 2


class Campaign(_Strict):
    id: Code
    year: int = Field(ge=2000, le=2100)
    previous_year: int
    centre: str
    centre_en: str
    title: str
    title_en: str
    timezone: str = "Asia/Shanghai"
    opens: date
    deadline: date  # the last day; registration closes at its end in the campaign's timezone
    samples_from: date  # the year's samples go out from this day; a licence must be valid then
    website: str
    institution_types: tuple[InstitutionType, ...] = Field(min_length=1)
    levels: tuple[Level, ...] = Field(min_length=1)
    min_level_rank: int = 2
    # Why a lower grade may not take part, in the notice's words.
    level_reason: str
    level_reason_en: str
    cities: tuple[str, ...] = Field(min_length=1)
    specialties: tuple[Specialty, ...] = Field(min_length=1)
    mandatory: tuple[MandatoryRule, ...] = ()
    faq: tuple[FaqEntry, ...] = Field(min_length=1)
    contacts: Contacts
    fees: Fees
    reminders: Reminders = Reminders()

    @model_validator(mode="after")
    def _consistent(self) -> Campaign:
        _unique("specialties", (s.code for s in self.specialties))
        _unique("institution_types", (t.code for t in self.institution_types))
        _unique("levels", (lv.code for lv in self.levels))
        _unique("faq", (f.id for f in self.faq))
        _unique("cities", self.cities)
        for s in self.specialties:
            _unique(f"specialties.{s.code}.tests", (t.code for t in s.tests))
        known_specs = {s.code for s in self.specialties}
        known_types = {t.code for t in self.institution_types}
        for i, rule in enumerate(self.mandatory):
            for code in rule.specialties:
                if code not in known_specs:
                    raise ValueError(f"mandatory[{i}]: unknown specialty {code!r}")
            for code in rule.institution_types:
                if code not in known_types:
                    raise ValueError(f"mandatory[{i}]: unknown institution type {code!r}")
        for t in self.institution_types:
            if not t.eligible and not t.reason:
                raise ValueError(f"institution_types.{t.code}: an excluded type needs a reason")
        if not self.opens <= self.deadline < self.samples_from:
            raise ValueError("opens ≤ deadline < samples_from must hold")
        try:
            ZoneInfo(self.timezone)
        except Exception as exc:
            raise ValueError(f"timezone: unknown zone {self.timezone!r}") from exc
        return self

    # -- derived facts ---------------------------------------------------------------------------------
    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def closes_at(self) -> datetime:
        """The first instant after the deadline day, in the campaign's zone."""
        return datetime.combine(self.deadline + timedelta(days=1), time(0), self.tz)

    def is_closed(self, now: datetime) -> bool:
        return now >= self.closes_at

    def days_left(self, now: datetime) -> int:
        """Whole days left including today; 0 once closed."""
        if self.is_closed(now):
            return 0
        return (self.deadline - now.astimezone(self.tz).date()).days + 1

    @cached_property
    def specialty_by_code(self) -> dict[str, Specialty]:
        return {s.code: s for s in self.specialties}

    @cached_property
    def test_index(self) -> dict[str, tuple[Specialty, Test]]:
        """Test keys are "<specialty>.<test>", unique across the catalogue."""
        return {f"{s.code}.{t.code}": (s, t) for s in self.specialties for t in s.tests}

    @cached_property
    def type_by_code(self) -> dict[str, InstitutionType]:
        return {t.code: t for t in self.institution_types}

    @cached_property
    def level_by_code(self) -> dict[str, Level]:
        return {lv.code: lv for lv in self.levels}

    @cached_property
    def faq_by_id(self) -> dict[str, FaqEntry]:
        return {f.id: f for f in self.faq}

    def mandatory_for(self, institution_type: str) -> list[tuple[str, MandatoryRule]]:
        """(specialty code, rule) pairs a lab of this type must take part in, in catalogue order."""
        found: dict[str, MandatoryRule] = {}
        for rule in self.mandatory:
            if institution_type in rule.institution_types:
                for code in rule.specialties:
                    found.setdefault(code, rule)
        return [(s.code, found[s.code]) for s in self.specialties if s.code in found]

    def eligibility(self, institution_type: str, level: str | None) -> tuple[bool, str, str]:
        """(eligible, reason zh, reason en) for a would-be participant."""
        kind = self.type_by_code[institution_type]
        if not kind.eligible:
            return False, kind.reason, kind.reason_en
        if kind.needs_level:
            rank = self.level_by_code[level].rank if level in self.level_by_code else 0
            if rank < self.min_level_rank:
                return False, self.level_reason, self.level_reason_en
        return True, "", ""


def _unique(where: str, values: Iterable[str]) -> None:
    dupes = [v for v, n in Counter(values).items() if n > 1]
    if dupes:
        raise ValueError(f"{where}: duplicate code {', '.join(map(repr, dupes))}")


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def parse_campaign(text: str, *, source: str = "<campaign>") -> Campaign:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CampaignError(f"{source}: not valid TOML: {exc}") from exc
    try:
        return Campaign.model_validate(
            raw.get("campaign", raw) | {k: v for k, v in raw.items() if k != "campaign"}
        )
    except ValidationError as exc:
        raise CampaignError(f"{source}: {_describe(exc)}") from exc


def load_campaign(path: str | Path | None = None) -> Campaign:
    """Load the campaign from `path`, or the one shipped with the package."""
    if path:
        p = Path(path)
        if not p.is_file():
            raise CampaignError(f"{p}: campaign file not found")
        return parse_campaign(p.read_text(encoding="utf-8"), source=str(p))
    text = resources.files("conversations.campaigns").joinpath(DEFAULT_CAMPAIGN).read_text(encoding="utf-8")
    return parse_campaign(text, source=DEFAULT_CAMPAIGN)
