"""broadcast.ftl: the same ids and variables in both languages, and every bc- id the code uses exists."""

from __future__ import annotations

import re
from pathlib import Path

from tests.catalogues import messages

ROOT = Path(__file__).resolve().parents[1]
CODE = ["handlers/broadcasts.py", "conversations/reminders.py", "bot/delivery/worker.py"]


def _messages(lang: str) -> dict[str, set[str]]:
    return messages(lang, "broadcast.ftl")


def test_both_languages_have_the_same_messages_and_variables() -> None:
    zh, en = _messages("zh"), _messages("en")
    assert zh == en
    assert all(name.startswith("bc-") for name in zh)


def test_every_id_the_code_names_exists() -> None:
    known = set(_messages("zh"))
    used: set[str] = set()
    for path in CODE:
        text = (ROOT / path).read_text(encoding="utf-8")
        used |= set(re.findall(r'"(bc-[a-z-]+)"', text))
        # Ids built at run time: bc-kind-<kind>, bc-state-<status>, bc-desc-<kind>, bc-pick-<dim>.
        for prefix, values in {
            "bc-kind-": ("broadcast", "reminder", "payment"),
            "bc-state-": ("draft", "sending", "done", "cancelled"),
            "bc-desc-": ("all", "unfinished", "status", "city", "type"),
            "bc-pick-": ("status", "city", "type"),
        }.items():
            used |= {prefix + v for v in values}
    assert used - known == set()
