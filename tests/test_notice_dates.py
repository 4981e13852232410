"""No date the centre's notice does not give: every calendar date in the catalogues and the campaign file
is one the notice names (25 February), unless it is an input example ("例如 2028-12-31"). Dates the notice
leaves to annex 2 (opening, sample dispatch) are empty settings, and the bot then says so."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from conversations.campaign import load_campaign, parse_campaign
from conversations.formatting import MONTHS
from conversations.i18n import catalog

ROOT = Path(__file__).resolve().parents[1]
NOTICE = "并在 2 月 25 日以前申报完成 … 请在2月25日前打开"  # the only dates the 2025 notice gives
PATTERNS = (
    re.compile(r"(?<!\d)(?:\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?!\d)"),
    re.compile(r"(?<!\d)(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日"),
    re.compile(r"(?<!\d)(?P<d>\d{1,2}) (?P<mon>" + "|".join(MONTHS) + ")"),
    re.compile(r"(?P<mon>" + "|".join(MONTHS) + r") (?P<d>\d{1,2})(?!\d)"),
)
EXAMPLE = re.compile(r"例如|如 \d|e\.g\.|such as|for example")


def _dates(text: str) -> set[tuple[int, int]]:
    found = set()
    for p in PATTERNS:
        for m in p.finditer(text):
            month = int(m["m"]) if "m" in m.groupdict() and m["m"] else MONTHS.index(m["mon"]) + 1
            found.add((month, int(m["d"])))
    return found


def test_no_date_outside_the_notice() -> None:
    allowed = _dates(NOTICE)
    assert allowed == {(2, 25)}
    files = [ROOT / "conversations/campaigns/henan-2025.toml", *sorted((ROOT / "conversations/locales").rglob("*.ftl"))]
    invented = []
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if EXAMPLE.search(line):
                continue
            for d in _dates(line) - allowed:
                invented.append(f"{path.relative_to(ROOT)}:{n}: {d[0]}/{d[1]}: {line.strip()[:80]}")
    assert not invented, "\n".join(invented)


def test_dates_the_notice_leaves_out_are_empty_and_the_bot_says_so() -> None:
    c = load_campaign()
    assert c.opens is None and c.samples_from is None
    assert c.licence_basis == "deadline" and c.licence_valid_on == date(2025, 2, 25)
    assert c.licence_still_valid(date(2025, 2, 25)) and not c.licence_still_valid(date(2025, 2, 24))
    approved = catalog().t("zh", "rv-lab-approved", lab="L", code="HN1", year=2025, samples="none", fees="先参评")
    assert "以中心通知为准" in approved and "附件二" in approved
    # A centre that announces a dispatch day sets it; the licence rule then follows it.
    text = (ROOT / "conversations/campaigns/henan-2025.toml").read_text(encoding="utf-8")
    dated = parse_campaign(text.replace("deadline = 2025-02-25", "deadline = 2025-02-25\nsamples_from = 2025-03-15"))
    assert dated.licence_basis == "samples" and not dated.licence_still_valid(date(2025, 3, 1))
    expires = catalog().t("zh", "val-licence-expires", valid_to="2025-02-20", must_cover="2025-02-25", basis="deadline")
    assert "申报截止日" in expires and "发放" not in expires
