"""Reading a Fluent catalogue in the tests: each message's id and the variables it uses."""

from __future__ import annotations

from pathlib import Path

from fluent.syntax import ast, parse
from fluent.syntax.visitor import Visitor

LOCALES = Path(__file__).resolve().parents[1] / "conversations" / "locales"


class _Variables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def visit_VariableReference(self, node: ast.VariableReference) -> None:
        self.names.add(node.id.name)


def variables(message: ast.Message) -> set[str]:
    visitor = _Variables()
    visitor.visit(message)
    return visitor.names


def entries(lang: str, name: str, *, strict: bool = True) -> dict[str, ast.Message]:
    """The messages of `<lang>/<name>`; `strict`: no syntax errors and no id twice (the file's own test)."""
    resource = parse((LOCALES / lang / name).read_text(encoding="utf-8"))
    messages = [e for e in resource.body if isinstance(e, ast.Message)]
    if strict:
        junk = [e.content for e in resource.body if isinstance(e, ast.Junk)]
        assert not junk, f"syntax errors in {lang}/{name}: {junk}"
        ids = [m.id.name for m in messages]
        assert len(ids) == len(set(ids)), f"duplicate ids in {lang}/{name}"
    return {m.id.name: m for m in messages}


def messages(lang: str, name: str, *, strict: bool = True) -> dict[str, set[str]]:
    """Each message id of `<lang>/<name>` with the variables it uses."""
    return {key: variables(m) for key, m in entries(lang, name, strict=strict).items()}
