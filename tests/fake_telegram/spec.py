"""The Bot API method definitions (api.json) and the parameter decoding they imply.

Parameters reach the server as strings (query string, urlencoded or multipart form) or as JSON
values (application/json body). The field types in api.json decide how each one is decoded, so
handlers always see ints, bools, lists and dicts regardless of the client's encoding.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_SPEC_PATH = Path(__file__).with_name("api.json")
SPEC_ENV_VAR = "EQA_BOT_API_SPEC"

_SCALARS = {"Integer", "String", "Boolean", "Float", "True", "InputFile"}
_INT_RE = re.compile(r"-?\d+")
_ATTACH_RE = re.compile(r"attach://([A-Za-z0-9_\-.]+)")


class ApiError(Exception):
    """An error answered to the bot in the Bot API envelope."""

    def __init__(self, code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def envelope(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass(frozen=True)
class UploadedFile:
    """A multipart part that carried a file name, i.e. an InputFile upload."""

    part_name: str
    filename: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:  # keep recorded calls readable: no raw bytes
        return f"UploadedFile({self.part_name!r}, {self.filename!r}, {self.content_type!r}, {self.size} bytes)"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    types: tuple[str, ...]
    required: bool

    @property
    def is_complex(self) -> bool:
        """True when the value is a JSON object/array (sent as a JSON string in forms)."""
        return any(t not in _SCALARS for t in self.types)

    @property
    def accepts_file(self) -> bool:
        return "InputFile" in self.types


@dataclass(frozen=True)
class MethodSpec:
    name: str
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    returns: tuple[str, ...] = ()


class ApiSpec:
    """Loaded api.json: method lookup (case-insensitive, like Telegram) and parameter decoding."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path or os.environ.get(SPEC_ENV_VAR) or DEFAULT_SPEC_PATH)
        raw = json.loads(self.path.read_text(encoding="utf-8"))
        self.version: str = raw.get("version", "?")
        self.types: dict[str, Any] = raw.get("types", {})
        self.methods: dict[str, MethodSpec] = {}
        self._by_lower: dict[str, str] = {}
        for name, m in raw["methods"].items():
            fields = {
                f["name"]: FieldSpec(f["name"], tuple(f.get("types", ())), bool(f.get("required")))
                for f in m.get("fields", [])
            }
            self.methods[name] = MethodSpec(name, fields, tuple(m.get("returns", ())))
            self._by_lower[name.lower()] = name

    def lookup(self, method: str) -> MethodSpec | None:
        canonical = self._by_lower.get(method.lower())
        return self.methods[canonical] if canonical else None

    def decode(
        self,
        method: MethodSpec,
        raw: dict[str, Any],
        *,
        strict: bool,
    ) -> tuple[dict[str, Any], list[str]]:
        """Validate and decode raw parameters; returns (params, ignored unknown names).

        Multipart parts referenced as ``attach://name`` are file parts, not parameters, and are
        resolved in place for top-level InputFile fields.
        """
        attached = {m for v in raw.values() if isinstance(v, str) for m in _ATTACH_RE.findall(v)}
        unknown = [k for k in raw if k not in method.fields and k not in attached]
        if unknown and strict:
            raise bad_request(
                f'unknown parameter "{unknown[0]}" for method {method.name} '
                "(the fake server is strict; Telegram would silently ignore it)"
            )
        for f in method.fields.values():
            if f.required and f.name not in raw:
                raise bad_request(f'parameter "{f.name}" is required')
        params: dict[str, Any] = {}
        for name, value in raw.items():
            f = method.fields.get(name)
            if f is None:
                continue
            params[name] = _coerce(f, value, raw)
        return params, unknown


def attach_names(value: Any) -> set[str]:
    """All ``attach://name`` references inside a (possibly nested) decoded value."""
    if isinstance(value, str):
        return set(_ATTACH_RE.findall(value))
    if isinstance(value, dict):
        return set().union(*(attach_names(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(attach_names(v) for v in value)) if value else set()
    return set()


def _attach_uploads(value: Any, raw: dict[str, Any]) -> Any:
    """Swap nested ``attach://name`` strings (InputMedia.media, thumbnails) for the uploaded parts."""
    if isinstance(value, str) and value.startswith("attach://"):
        part = raw.get(value.removeprefix("attach://"))
        return part if isinstance(part, UploadedFile) else value
    if isinstance(value, dict):
        return {k: _attach_uploads(v, raw) for k, v in value.items()}
    if isinstance(value, list):
        return [_attach_uploads(v, raw) for v in value]
    return value


def _coerce(f: FieldSpec, value: Any, raw: dict[str, Any]) -> Any:
    if isinstance(value, UploadedFile):
        if not f.accepts_file:
            raise bad_request(f'parameter "{f.name}" can\'t be a file upload')
        return value
    if f.accepts_file and isinstance(value, str) and value.startswith("attach://"):
        part = raw.get(value.removeprefix("attach://"))
        if not isinstance(part, UploadedFile):
            raise bad_request(f'file part "{value}" for parameter "{f.name}" not found in the request')
        return part
    types = set(f.types)
    if f.is_complex and not (types & {"String", "InputFile"}):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                what = "reply keyboard markup" if f.name == "reply_markup" else f.name
                raise bad_request(f"can't parse {what} JSON object") from None
        return _attach_uploads(value, raw)
    if types == {"Integer", "String"}:
        if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
            return int(value)
        return value
    if "Integer" in types:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise bad_request(f'invalid value for parameter "{f.name}": an Integer is expected')
    if "Float" in types:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f'invalid value for parameter "{f.name}": a Float is expected') from None
    if types & {"Boolean", "True"}:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0", ""):
            return False
        raise bad_request(f'invalid value for parameter "{f.name}": a Boolean is expected')
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # Telegram accepts numbers where strings are expected in JSON bodies
    return value
