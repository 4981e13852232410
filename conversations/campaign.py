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
    # Only real tests (analytes): result-reporting steps such as "定性结果判定" or "Ct值报告" are not tests.
    tests: tuple[Test, ...] = Field(min_length=1)


class InstitutionType(Named):
    eligible: bool
    # Level 2+ is required for medical institutions; blood-supply labs have no hospital level.
    needs_level: bool = True
    reason: str = ""
    reason_en: str = ""
    group: Literal["hospital", "laboratory", "blood_supply", "transfusion", "excluded"]
    # The licence this kind of institution holds and uploads in step 3 (the notice names the hospitals'
    # 医疗机构执业许可证; a blood station holds a 血站执业许可证, a plasma station a 单采血浆许可证).
    licence: str = "医疗机构执业许可证"
    licence_en: str = "Medical Institution Practice Licence"

    def licence_for(self, lang: str) -> str:
        return self.licence_en if lang == "en" else self.licence


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
    # Dates the centre's notice may leave out are optional: empty, the bot says "as the centre announces"
    # rather than inventing one. `opens` empty: open from the notice's issue (reminders run whenever).
    opens: date | None = None
    deadline: date  # the last day; registration closes at its end in the campaign's timezone
    # The first samples go out on this day; a licence must be valid then. Empty: valid at the deadline.
    samples_from: date | None = None
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
        if self.opens is not None and self.opens > self.deadline:
            raise ValueError("opens ≤ deadline must hold")
        if self.samples_from is not None and self.samples_from <= self.deadline:
            raise ValueError("deadline < samples_from must hold")
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

    @property
    def licence_basis(self) -> str:
        """What a practice licence must still be valid on: "samples" (the dispatch day, when the campaign
        gives one) or "deadline" (the notice asks for a licence valid at registration)."""
        return "samples" if self.samples_from is not None else "deadline"

    @property
    def licence_valid_on(self) -> date:
        """The day a practice licence must still be valid on (see `licence_basis`)."""
        return self.samples_from or self.deadline

    def licence_still_valid(self, valid_to: date | None) -> bool:
        return valid_to is not None and valid_to >= self.licence_valid_on

    def is_closed(self, now: datetime) -> bool:
        return now >= self.closes_at

    def days_left(self, now: datetime) -> int:
        """Whole days left after today until the deadline day (in the campaign's zone): 1 on the day before
        the deadline, 0 on the deadline day itself (the last day: "today") and once closed."""
        if self.is_closed(now):
            return 0
        return max(0, (self.deadline - now.astimezone(self.tz).date()).days)

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

    def licence_name(self, institution_type: str, lang: str) -> str:
        """The licence a lab of this type uploads, as the campaign file names it."""
        kind = self.type_by_code.get(institution_type)
        return kind.licence_for(lang) if kind else InstitutionType.model_fields["licence"].default

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
        return Campaign.model_validate(raw.get("campaign", raw) | {k: v for k, v in raw.items() if k != "campaign"})
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
