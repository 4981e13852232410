"""Logging that never leaks: the bot token, mobile numbers and credit codes are masked in every line."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

_TOKEN = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}\b")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_CREDIT = re.compile(
    r"(?<![0-9A-Z])([0-9A-HJ-NPQRTUWXY]{4})[0-9A-HJ-NPQRTUWXY]{12}([0-9A-HJ-NPQRTUWXY]{2})(?![0-9A-Z])"
)


def mask(text: str, secrets: tuple[str, ...] = ()) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<secret>")
    text = _TOKEN.sub("<token>", text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _CREDIT.sub(lambda m: f"{m.group(1)}************{m.group(2)}", text)


class MaskingFormatter(logging.Formatter):
    def __init__(
        self, *args: object, secrets: tuple[str, ...] = (), as_json: bool = False, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.secrets = secrets
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        if self.as_json:
            entry = {
                "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
                "level": record.levelname,
                "logger": record.name,
                "message": record.getMessage(),
            }
            if record.exc_info:
                entry["exception"] = self.formatException(record.exc_info)
            return mask(json.dumps(entry, ensure_ascii=False), self.secrets)
        return mask(super().format(record), self.secrets)


def setup_logging(level: str = "INFO", *, secrets: tuple[str, ...] = (), as_json: bool = False) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        MaskingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets=secrets, as_json=as_json)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every request URL at INFO, and a Bot API URL contains the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
