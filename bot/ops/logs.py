"""Logging that never leaks: the bot token and other secrets, mobile numbers, credit codes, licence numbers
(and other long institutional or personal ID numbers) and binding codes (deep links, shown or typed) are
masked in every line, in plain text
or as JSON lines (`EQA_LOG_JSON=1`, one object per line for a log collector).

Masking happens in the formatter, so it covers every logger — ours and the libraries' (at DEBUG,
python-telegram-bot and aiogram log whole updates and requests). SQL parameters and rows are never logged
at all: `storage.db` silences aiosqlite's and SQLAlchemy's DEBUG records at their loggers and its engines
hide parameters in errors.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import unicodedata
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

# A bot token, also URL-encoded ("123:abc" is "123%3Aabc" in a file download URL).
_TOKEN = re.compile(r"\b\d{5,}(?::|%3[Aa])[A-Za-z0-9_-]{30,}\b")
# Mainland mobiles, with +86 / 0086 and the separators people type ("139 1234 5678", "139-1234-5678").
_MOBILE = re.compile(r"(?<!\d)(?:(?:\+|00)?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
# Unified social credit codes (18), legacy taxpayer IDs (15/20), resident ID numbers (18) and practice
# licence registration numbers (up to about 24), in any case and whether or not their check character is
# right (a mistyped code is still somebody's code): 15–40 letters and digits standing alone, at least 8 of
# them digits; and 12–14 digits alone (licence numbers of the 14-digit kind).
_LONG_ID = re.compile(r"(?<![0-9A-Za-z])(?:(?=(?:[A-Za-z]*[0-9]){8})[0-9A-Za-z]{15,40}|[0-9]{12,14})(?![0-9A-Za-z])")
# Binding codes: as shown ("ABCD-2345", in any case), after a lab code as people type them
# ("HN0001 abcd2345", "HN0001_ABCD 2345": any form the bind step reads) and alone in capitals ("ABCD2345").
_DISPLAY_CODE = re.compile(r"(?<![0-9A-Za-z-])[0-9A-Za-z]{4}-[0-9A-Za-z]{4}(?![0-9A-Za-z-])")
_TYPED_CODE = re.compile(
    r"(?<![0-9A-Za-z])([A-Za-z]{1,8}[0-9]{1,10}[\s_,;:/]+)([0-9A-Za-z]{4}([- ]?)[0-9A-Za-z]{4})(?![0-9A-Za-z-])"
)
_BARE_CODE = re.compile(r"(?<![0-9A-Za-z])(?=[A-Z0-9]{0,7}[0-9])(?=[A-Z0-9]{0,7}[A-Z])[A-Z0-9]{8}(?![0-9A-Za-z])")
# A binding code travels in "/start <lab>_<code>" and in t.me/<bot>?start=<payload> links.
_DEEP_LINK = re.compile(r"(/start(?:@\w+)?[ \t]+|[?&]start=)[^\s'\"\\&]+")
# JSON written with ensure_ascii (payloads in SQL parameters at DEBUG) spells "州12410000415800281H" as
# "\u5dde12410000415800281H": escapes are read back before masking, or the code would hide behind them.
# WeChat's access_token travels in query strings (httpx logs request URLs); it is a secret like the app secret.
_ACCESS_TOKEN = re.compile(r"(access_token[=\"':\s]+)[^&\s\"',}]+")
_PAIR = re.compile(r"\\+u(d[89ab][0-9a-f]{2})\\+u(d[c-f][0-9a-f]{2})", re.IGNORECASE)
_ESCAPE = re.compile(r"\\+u([0-9a-fA-F]{4})")


def _unescape(text: str) -> str:
    def pair(m: re.Match[str]) -> str:
        high, low = int(m.group(1), 16), int(m.group(2), 16)
        return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))

    def single(m: re.Match[str]) -> str:
        code = int(m.group(1), 16)
        # Control characters and lone surrogates stay escaped (the latter could not even be written out).
        return m.group(0) if code < 0x20 or 0xD800 <= code <= 0xDFFF else chr(code)

    return _ESCAPE.sub(single, _PAIR.sub(pair, text))


def _forms(secret: str) -> list[str]:
    """A secret as it may appear: itself, URL-encoded, and a token's private half on its own."""
    forms = [secret, quote(secret, safe="")]
    if ":" in secret and len(secret.split(":", 1)[1]) >= 20:
        forms.append(secret.split(":", 1)[1])
    return forms


def _typed_code(m: re.Match[str]) -> str:
    code = m.group(2)
    # "HN0001 approved" is a log line, not a code: a code has a digit, or is in capitals, or is split in two.
    looks_like_code = m.group(3) or code.isupper() or any(ch.isdigit() for ch in code)
    return f"{m.group(1)}<code>" if looks_like_code else m.group(0)


def mask(text: str, secrets: tuple[str, ...] = ()) -> str:
    for secret in secrets:
        for form in _forms(secret) if secret else ():
            text = text.replace(form, "<secret>")
    # Full-width digits and letters (typed on Chinese keyboards) become ASCII, so the patterns see them.
    text = unicodedata.normalize("NFKC", _unescape(text))
    text = _TOKEN.sub("<token>", text)
    text = _ACCESS_TOKEN.sub(lambda m: f"{m.group(1)}<secret>", text)
    text = _DEEP_LINK.sub(lambda m: f"{m.group(1)}<code>", text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    text = _DISPLAY_CODE.sub("<code>", text)
    text = _TYPED_CODE.sub(_typed_code, text)
    text = _BARE_CODE.sub("<code>", text)
    return _LONG_ID.sub(lambda m: f"{m.group(0)[:4]}{'*' * (len(m.group(0)) - 6)}{m.group(0)[-2:]}", text)


class MaskingFormatter(logging.Formatter):
    def __init__(self, *args: object, secrets: tuple[str, ...] = (), as_json: bool = False, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.secrets = secrets
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        if not self.as_json:
            return mask(super().format(record), self.secrets)
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": mask(record.getMessage(), self.secrets),
        }
        if record.exc_info:
            entry["exception"] = mask(self.formatException(record.exc_info), self.secrets)
        if record.stack_info:
            entry["stack"] = mask(self.formatStack(record.stack_info), self.secrets)
        # Masked field by field, then encoded: JSON escaping cannot hide a number from the patterns.
        return json.dumps(entry, ensure_ascii=False)


def json_requested() -> bool:
    """EQA_LOG_JSON from the environment or .env (for callers that have no Settings at hand)."""
    value = os.environ.get("EQA_LOG_JSON")
    if value is None:
        try:
            from bot.settings import Settings

            return Settings().log_json
        except Exception:
            return False
    return value.strip().lower() in ("1", "true", "yes", "on")


def setup_logging(level: str = "INFO", *, secrets: tuple[str, ...] = (), as_json: bool | None = None) -> None:
    """Everything to stderr through the masking formatter. `as_json=None` follows EQA_LOG_JSON."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        MaskingFormatter(
            "%(asctime)s %(levelname)s %(name)s: %(message)s",
            secrets=secrets,
            as_json=json_requested() if as_json is None else as_json,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every request URL at INFO, and a Bot API URL contains the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
