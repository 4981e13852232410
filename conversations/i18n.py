"""Message catalogues (Fluent): every text a person reads, Chinese first, English too.

Each language is a folder of .ftl files under `conversations/locales/`; areas of the bot keep their own
file, and message ids are unique across files. A message missing in English falls back to Chinese.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

from fluent.runtime import FluentBundle, FluentResource
from fluent.runtime.types import fluent_number
from fluent.syntax import ast, visitor

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
log = logging.getLogger(__name__)


class Catalog:
    def __init__(self) -> None:
        self._bundles: dict[str, FluentBundle] = {}
        root = resources.files("conversations") / "locales"
        for lang in LANGUAGES:
            # Bidi isolation marks would show up as stray characters in chat clients.
            bundle = FluentBundle([_fluent_locale(lang)], use_isolating=False)
            for entry in sorted((root / lang).iterdir(), key=lambda p: p.name):
                if entry.name.endswith(".ftl"):
                    errors = bundle.add_resource(FluentResource(entry.read_text(encoding="utf-8")))
                    if errors:
                        raise ValueError(f"{lang}/{entry.name}: {errors}")
            self._bundles[lang] = bundle

    def has(self, key: str, lang: str = DEFAULT_LANGUAGE) -> bool:
        return self._bundles[lang].has_message(key)

    def message_ids(self, lang: str) -> set[str]:
        return set(self._bundles[lang]._messages)

    def templates(self, lang: str, prefix: str, placeholders: Iterable[str] = ()) -> dict[str, str]:
        """The messages starting with `prefix` as str.format templates: each named variable becomes a
        "{name}" for code that fills it in later (the PDF renderer numbers pages as it draws them).
        Every variable a message uses is passed through, so none is reported missing."""
        out = {}
        for key in sorted(self.message_ids(lang)):
            if key.startswith(prefix):
                names = set(placeholders) | self.variables(lang, key)
                out[key] = self.t(lang, key, **{name: "{" + name + "}" for name in names})
        return out

    def variables(self, lang: str, key: str) -> set[str]:
        """The names of the variables a message uses ($name)."""
        finder = _Variables()
        finder.visit(self._bundles[lang]._messages[key])
        return finder.names

    def t(self, lang: str, key: str, /, **args: Any) -> str:
        for candidate in (lang, DEFAULT_LANGUAGE):
            bundle = self._bundles.get(candidate)
            if bundle is not None and bundle.has_message(key):
                message = bundle.get_message(key)
                if message.value is None:
                    break
                # Numbers without digit grouping: Fluent would write years and codes as "2,025".
                plain = {
                    k: fluent_number(v, useGrouping=False) if isinstance(v, int) and not isinstance(v, bool) else v
                    for k, v in args.items()
                }
                text, errors = bundle.format_pattern(message.value, plain)
                if errors:
                    log.warning("message %s/%s: %s", candidate, key, errors)
                return text
        log.error("missing message %s", key)
        return key


class _Variables(visitor.Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def visit_VariableReference(self, node: ast.VariableReference) -> None:
        self.names.add(node.id.name)


def _fluent_locale(lang: str) -> str:
    return {"zh": "zh-CN", "en": "en-GB"}[lang]


def normalise_language(hint: str | None) -> str | None:
    """Map a client's language hint or a typed choice to one of ours (None when we cannot tell)."""
    if not hint:
        return None
    hint = hint.strip().lower()
    if hint.startswith(("zh", "cn", "中")):
        return "zh"
    if hint.startswith(("en", "英")):
        return "en"
    return None


@cache
def catalog() -> Catalog:
    return Catalog()
