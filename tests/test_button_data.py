"""Button data has one builder: a button that works whenever it is pressed ("g:<action>:<arg>") is made by
`conversations.events.global_button` / `global_data` (or `Ctx.gbtn`, which calls it), never spelled out, so
the format can change in one place and a typo cannot make a dead button."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILDER = ROOT / "conversations" / "events.py"
LITERAL = re.compile(r"""f?["']g:[a-z]+:""")


def literals(source: str) -> list[int]:
    return [n for n, line in enumerate(source.splitlines(), 1) if LITERAL.search(line)]


def test_the_check_sees_a_literal() -> None:
    assert literals('x = Button("菜单", "g:go:menu")\n') == [1]
    assert literals('y = Button(label, f"g:bc:stop:{bid}")\n') == [1]
    assert literals('z = global_button(label, "go", "menu")\n') == []


def test_no_code_spells_out_global_button_data() -> None:
    found = {
        str(path.relative_to(ROOT)): hits
        for package in ("bot", "handlers", "conversations", "storage")
        for path in (ROOT / package).rglob("*.py")
        if path != BUILDER and (hits := literals(path.read_text(encoding="utf-8")))
    }
    assert found == {}
