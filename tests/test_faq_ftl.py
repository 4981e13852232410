"""The FAQ's message catalogue (faq.ftl): the same ids in both languages, all prefixed, none clashing
with another catalogue, every id the FAQ code uses present, each formatting without errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conversations.i18n import catalog
from tests.catalogues import messages

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "conversations" / "locales"


def _messages(lang: str, name: str = "faq.ftl") -> dict[str, set[str]]:
    return messages(lang, name, strict=name == "faq.ftl")  # other areas' catalogues are their own tests' business


def test_both_languages_have_the_same_ids_and_arguments() -> None:
    zh, en = _messages("zh"), _messages("en")
    assert zh == en
    assert all(i.startswith("faq-") for i in zh)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_id_is_defined_in_another_catalogue_too(lang: str) -> None:
    ours = set(_messages(lang))
    for other in (LOCALES / lang).glob("*.ftl"):
        if other.name != "faq.ftl":
            assert not ours & set(_messages(lang, other.name)), other.name


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_id_the_faq_uses_exists_and_formats(lang: str) -> None:
    source = (ROOT / "handlers" / "faq.py").read_text(encoding="utf-8")
    used = set(re.findall(r'ctx\.t\(\s*"([a-z0-9-]+)"', source))
    assert {"faq-out-of-scope", "faq-missing", "faq-votes-title"} <= used
    cat = catalog()
    for key in used:
        assert cat.has(key, lang), f"{key} missing in {lang}"
    for key, args in _messages(lang).items():
        text = cat.t(lang, key, **dict.fromkeys(args, "X"))
        assert text.strip() and text != key
        if lang == "zh" and not args:
            assert any("\u4e00" <= ch <= "\u9fff" for ch in text), key
