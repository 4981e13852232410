"""Every message id the validators and pre-checks can return exists in both catalogues, uses
exactly the arguments the code passes, and formats without errors."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path

import pytest
from fluent.runtime import FluentBundle, FluentResource
from fluent.syntax import ast

from tests.catalogues import entries, variables

LOCALES = Path(__file__).resolve().parents[1] / "conversations" / "locales"
LANGS = {"zh": "zh-CN", "en": "en-US"}
MODULES = ["conversations.validators", "storage.images"]


def _catalogue(lang: str) -> dict[str, ast.Message]:
    return entries(lang, "checks.ftl")


def _declared() -> dict[str, frozenset[str]]:
    declared: dict[str, frozenset[str]] = {}
    for name in MODULES:
        module = importlib.import_module(name)
        messages: Mapping[str, frozenset[str]] = module.MESSAGES
        assert not set(declared) & set(messages)
        declared.update(messages)
    return declared


@pytest.mark.parametrize("lang", sorted(LANGS))
def test_every_returned_id_is_in_the_catalogue(lang: str) -> None:
    catalogue = _catalogue(lang)
    for msg_id, args in _declared().items():
        assert msg_id in catalogue, f"{msg_id} missing from {lang}/checks.ftl"
        names = variables(catalogue[msg_id])
        assert names == set(args), (lang, msg_id, names, args)


def test_catalogues_have_the_same_ids_all_prefixed() -> None:
    zh, en = _catalogue("zh"), _catalogue("en")
    assert set(zh) == set(en)
    assert all(i.startswith(("val-", "pre-")) for i in zh)
    # Nothing in the catalogue that no code can return (stale texts mislead translators).
    assert set(zh) <= set(_declared())


@pytest.mark.parametrize("lang", sorted(LANGS))
def test_messages_format_without_errors(lang: str) -> None:
    bundle = FluentBundle([LANGS[lang]], use_isolating=False)
    bundle.add_resource(FluentResource((LOCALES / lang / "checks.ftl").read_text(encoding="utf-8")))
    for msg_id, args in _declared().items():
        message = bundle.get_message(msg_id)
        assert message.value is not None
        text, errors = bundle.format_pattern(message.value, dict.fromkeys(args, "X"))
        assert not errors, (msg_id, errors)
        assert text.strip()
        if lang == "zh":
            assert any("\u4e00" <= ch <= "\u9fff" for ch in text), msg_id
