"""The desk's catalogues (review.ftl): the same ids in Chinese and English with the same variables, every id
the code uses defined, and each message formats without errors."""

from __future__ import annotations

import re
from pathlib import Path

from fluent.runtime import FluentBundle, FluentResource
from fluent.syntax import ast, parse

from handlers.review_cards import APPLICATION_REASONS, ENROLLMENT_REASONS
from tests.catalogues import messages

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "conversations" / "locales"
SOURCES = [
    *(ROOT / "handlers" / f"review_{m}.py" for m in ("cards", "alerts", "decisions", "returns", "desk")),
    *(ROOT / "handlers" / f"{m}.py" for m in ("admin", "admin_roster", "admin_export")),
]


def catalogue(lang: str) -> dict[str, set[str]]:
    out = messages(lang, "review.ftl")
    assert all(key.startswith(("rv-", "adm-")) for key in out), [k for k in out if not k.startswith(("rv-", "adm-"))]
    return out


def used_ids() -> set[str]:
    text = "\n".join(p.read_text(encoding="utf-8") for p in SOURCES)
    ids = set(re.findall(r"\"((?:rv|adm)-[a-z0-9-]+)\"", text))
    ids -= {"rv-pre-", "rv-reason-", "rv-why-"}
    reasons = [*ENROLLMENT_REASONS, *APPLICATION_REASONS]
    ids |= {f"rv-reason-{r.replace('_', '-')}" for r in reasons}
    ids |= {f"rv-why-{r.replace('_', '-')}" for r in reasons if r != "other"}
    ids |= {f"rv-pre-{a}" for a in ("low-resolution", "blurry", "no-seal", "blank-agreement")}
    ids |= {f"rv-decision-{d}" for d in ("approved", "returned", "rejected")}
    ids |= {f"rv-skip-{s}" for s in ("resent", "taken", "not-pending", "incomplete", "missing", "outdated")}
    ids |= {f"rv-stats-{s}" for s in ("approved", "submitted", "returned", "draft", "none")}
    ids |= {f"adm-grant-{o}" for o in ("granted", "restored", "changed", "unchanged")}
    ids |= {f"adm-role-{r}" for r in ("reviewer", "admin")}
    ids |= {f"adm-source-{s}" for s in ("roster", "application", "demo")}
    ids |= {f"adm-status-{s}" for s in ("none", "draft", "submitted", "returned", "approved")}
    return ids


def test_both_languages_have_the_same_messages_and_variables() -> None:
    zh, en = catalogue("zh"), catalogue("en")
    assert set(zh) == set(en), set(zh) ^ set(en)
    for key in zh:
        assert zh[key] == en[key], (key, zh[key], en[key])


def every_id(lang: str) -> set[str]:
    """Ids from every catalogue of the language: the desk also uses messages kept beside their topic."""
    return {
        entry.id.name
        for path in (LOCALES / lang).glob("*.ftl")
        for entry in parse(path.read_text(encoding="utf-8")).body
        if isinstance(entry, ast.Message)
    }


def test_every_id_the_desk_uses_is_defined() -> None:
    missing = used_ids() - every_id("zh")
    assert not missing, sorted(missing)


def test_every_message_formats() -> None:
    for lang, locale in (("zh", "zh-CN"), ("en", "en-GB")):
        bundle = FluentBundle([locale], use_isolating=False)
        bundle.add_resource(FluentResource((LOCALES / lang / "review.ftl").read_text(encoding="utf-8")))
        for key, names in catalogue(lang).items():
            message = bundle.get_message(key)
            assert message.value is not None, key
            text, errors = bundle.format_pattern(message.value, {n: "1" for n in names})
            assert not errors and text.strip(), (lang, key, errors)
