"""The command menus for setMyCommands (contacts; reviewers and admins), in Chinese and English."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.telegram.inbound import api_chat_id
from conversations.i18n import Catalog

# -- command menus ----------------------------------------------------------------------------------------
# Descriptions come from the catalogue (`cmd-<name>`, conversations/locales/*/commands.ftl), so a module
# adding a command describes it without touching the transport; `cmd-other` covers any left undescribed.
Describe = Callable[[str, str], "str | None"]  # (language, command) -> menu text


def catalog_describer(catalog: Catalog) -> Describe:
    def describe(lang: str, name: str) -> str | None:
        key = f"cmd-{name}"
        return catalog.t(lang, key) if catalog.has(key, lang) else None

    return describe


CONTACT_ORDER = ("start", "status", "faq", "lang", "help", "cancel", "restart")
LANGUAGE_CODES: tuple[str | None, ...] = (None, "zh", "en")  # None: everyone else (Chinese first)


@dataclass(frozen=True)
class CommandMenu:
    scope: dict[str, Any]  # a Bot API BotCommandScope as JSON
    language_code: str | None
    commands: tuple[tuple[str, str], ...]


def command_menus(
    registered: Mapping[str, str],
    *,
    review_chat: str | None,
    staff_chats: Iterable[str],
    describe: Describe,
) -> list[CommandMenu]:
    """Contacts' menu for the default scope; reviewers' menu (everything a contact has, then the desk's
    commands) for the review chat and the private chats of admins and reviewers.

    `registered` maps each command the core knows to its role (anyone | contact | staff | admin);
    `describe(lang, name)` returns a catalogue description or None."""
    everyone = [c for c in CONTACT_ORDER if c in registered and registered[c] in ("anyone", "contact")]
    everyone += sorted(c for c, r in registered.items() if r in ("anyone", "contact") and c not in everyone)
    desk = sorted(c for c, r in registered.items() if r in ("staff", "admin"))
    contact_cmds = [c for c in everyone if describe("zh", c)]
    staff_cmds = contact_cmds + desk

    def described(names: list[str], lang: str) -> tuple[tuple[str, str], ...]:
        out = []
        for name in names:
            text = describe(lang, name) or describe(lang, "other") or name
            out.append((name, text[:256]))
        return tuple(out[:100])

    menus: list[CommandMenu] = []
    scopes: list[tuple[dict[str, Any], list[str]]] = [({"type": "default"}, contact_cmds)]
    chats = list(dict.fromkeys([*([review_chat] if review_chat else []), *staff_chats]))
    scopes += [({"type": "chat", "chat_id": api_chat_id(c)}, staff_cmds) for c in chats]
    for scope, names in scopes:
        for code in LANGUAGE_CODES:
            menus.append(CommandMenu(scope, code, described(names, "en" if code == "en" else "zh")))
    return menus
