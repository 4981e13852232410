"""Files we send on WeChat (the agreement PDF, receipts, exports) become links to our own endpoint: an
official account cannot send a PDF in a chat. A link names a document-store key, a file name and a type, and
expires; an HMAC seals it, so nobody can point it at another document or stretch its life. It is served
decrypted from the document store; an expired or altered link gets a page saying how to get a fresh one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

LIFETIME = timedelta(days=3)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Linked:
    key: str
    filename: str
    mime: str


class LinkSigner:
    def __init__(self, secret: bytes, public_url: str, path: str = "/wechat/file") -> None:
        self._key = hashlib.sha256(b"eqa-bot wechat file links\0" + secret).digest()
        self.base = public_url.rstrip("/") + path
        self.path = path

    def url(self, key: str, filename: str, mime: str, now: datetime, lifetime: timedelta = LIFETIME) -> str:
        claims = {"k": key, "n": filename, "m": mime, "e": int((now + lifetime).timestamp())}
        body = _b64(json.dumps(claims, ensure_ascii=False, separators=(",", ":")).encode())
        return f"{self.base}/{body}.{self._mac(body)}/{quote(filename)}"

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:18])

    def open(self, token: str, now: datetime) -> Linked | None:
        """What a link names, or None when it was altered or has expired."""
        body, _, mac = token.partition(".")
        if not body or not hmac.compare_digest(mac.encode(), self._mac(body).encode()):
            return None
        try:
            claims = json.loads(_unb64(body))
            if int(claims["e"]) < now.timestamp():
                return None
            return Linked(str(claims["k"]), str(claims["n"]), str(claims["m"]))
        except (ValueError, KeyError, TypeError):
            return None
