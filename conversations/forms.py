"""Asking for a series of fields, one screen each, with checks where the value is typed.

A `Form` lists its fields; each answer is checked, saved at once through the form's `save` (so nothing
typed is lost to /cancel or a restart) and the next field is asked. A review screen shows every
value with an edit button; editing a field comes back to the review.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from conversations.context import Ctx
from conversations.events import Button
from conversations.validators import Checked

# A check may be async when it needs the database (e.g. comparing with another field's saved value).
Check = Callable[[Ctx, str], "Checked[Any] | Awaitable[Checked[Any]]"]
Choices = Callable[[Ctx], Sequence[tuple[str, str]]]  # (value, label)


@dataclass(frozen=True)
class Field:
    key: str
    label: str  # message id of the field's name (used on the review screen)
    prompt: str  # message id of the question
    check: Check | None = None  # typed answers
    choices: Choices | None = None  # answered with buttons
    columns: int = 2
    optional: bool = False
    # Shown instead of the raw value on the review screen.
    show: Callable[[Ctx, Any], str] | None = None


@dataclass(frozen=True)
class Form:
    fields: Sequence[Field]
    load: Callable[[Ctx], Awaitable[Mapping[str, Any]]]
    save: Callable[[Ctx, str, Any], Awaitable[None]]
    # Called when the last field is answered (or an edit is done): usually shows the review screen.
    done: Callable[[Ctx], Awaitable[None]]
    # Fields to skip given the values so far (e.g. no level for a blood centre).
    skip: Callable[[Ctx, Mapping[str, Any]], set[str]] | None = None
    # Looks at a picked choice before it is saved; True when it answered itself and the form stops there
    # (e.g. an institution type that may not take part).
    gate: Callable[[Ctx, str, Any], Awaitable[bool]] | None = None

    def field(self, key: str) -> Field:
        return next(f for f in self.fields if f.key == key)

    async def ask(self, ctx: Ctx, key: str, *, note: str | None = None) -> None:
        f = self.field(key)
        values = await self.load(ctx)
        ctx.state.data["field"] = key
        lines = [note] if note else []
        lines.append(ctx.t(f.prompt))
        current = values.get(key)
        if current not in (None, "", []):
            lines.append(ctx.t("form-current", value=self.display(ctx, f, current)))
        rows: list[list[Button]] = []
        if f.choices is not None:
            options = [ctx.btn(label, "pick", value) for value, label in f.choices(ctx)]
            rows += [options[i : i + f.columns] for i in range(0, len(options), f.columns)]
        if current not in (None, "", []) and f.check is not None:
            rows.append([ctx.btn(ctx.t("form-keep"), "keep", key)])
        if f.optional:
            rows.append([ctx.btn(ctx.t("form-skip"), "skip", key)])
        rows.append([ctx.gbtn(ctx.t("btn-menu"), "go", "menu")])
        ctx.show("\n".join(lines), rows)

    def display(self, ctx: Ctx, f: Field, value: Any) -> str:
        if f.show is not None:
            return f.show(ctx, value)
        if isinstance(value, date):
            return value.isoformat()
        return str(value)

    async def next_missing(self, ctx: Ctx, values: Mapping[str, Any]) -> str | None:
        skipped = self.skip(ctx, values) if self.skip else set()
        for f in self.fields:
            if f.key not in skipped and not f.optional and values.get(f.key) in (None, "", []):
                return f.key
        return None

    async def advance(self, ctx: Ctx, *, note: str | None = None) -> None:
        """Ask the next unanswered field, or finish (back to the review when editing)."""
        # Prefilled fields are not asked again: the review screen shows them with an edit button.
        key = await self.next_missing(ctx, await self.load(ctx))
        if key is None:
            ctx.state.data.pop("field", None)
            if note:
                ctx.note(note)
            await self.done(ctx)
        else:
            await self.ask(ctx, key, note=note)

    async def on_text(self, ctx: Ctx, text: str) -> None:
        key = ctx.state.data.get("field")
        if key is None:
            await self.advance(ctx)
            return
        f = self.field(key)
        if f.check is None:
            ctx.say(ctx.t("form-use-buttons"))
            await self.ask(ctx, key)
            return
        result = f.check(ctx, text)
        checked = await result if inspect.isawaitable(result) else result
        if not checked.ok:
            await self.ask(ctx, key, note="⚠️ " + ctx.t(checked.error or "", **checked.args))
            return
        await self.save(ctx, key, checked.value)
        note = ("ℹ️ " + ctx.t(checked.warning, **checked.args)) if checked.warning else None
        await self.advance(ctx, note=note)

    async def on_button(self, ctx: Ctx, action: str, arg: str) -> bool:
        """Handle the form's own buttons; False when the button is not the form's."""
        key = ctx.state.data.get("field")
        if action == "pick" and key is not None:
            f = self.field(key)
            allowed = {value for value, _ in (f.choices(ctx) if f.choices else ())}
            if arg not in allowed:
                ctx.toast(ctx.t("button-stale"))
                return True
            if self.gate is not None and await self.gate(ctx, key, arg):
                return True
            await self.save(ctx, key, arg)
            await self.advance(ctx)
            return True
        if action in ("keep", "skip") and arg == key:
            await self.advance(ctx)
            return True
        if action == "edit" and any(f.key == arg for f in self.fields):
            await self.ask(ctx, arg)
            return True
        return False

    def review_lines(self, ctx: Ctx, values: Mapping[str, Any]) -> list[str]:
        skipped = self.skip(ctx, values) if self.skip else set()
        lines = []
        for f in self.fields:
            if f.key in skipped:
                continue
            value = values.get(f.key)
            shown = self.display(ctx, f, value) if value not in (None, "", []) else ctx.t("form-empty")
            lines.append(f"{ctx.t(f.label)}：{shown}" if ctx.lang == "zh" else f"{ctx.t(f.label)}: {shown}")
        return lines

    def edit_buttons(self, ctx: Ctx, values: Mapping[str, Any], per_row: int = 3) -> list[list[Button]]:
        skipped = self.skip(ctx, values) if self.skip else set()
        buttons = [ctx.btn("✏️ " + ctx.t(f.label), "edit", f.key) for f in self.fields if f.key not in skipped]
        return [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]


def checked_text(max_len: int) -> Check:
    from conversations import validators

    return lambda _ctx, text: validators.text_field(text, max_len=max_len)


def as_text(value: Any) -> Any:
    """Values are stored as JSON: dates as ISO strings."""
    return value.isoformat() if isinstance(value, date) else value
