"""What WeChat's servers send us, checked and read: signatures, safe-mode crypto, XML, and the neutral event.

- GET /wechat: URL verification (signature = SHA-1 of the sorted token, timestamp, nonce; echo `echostr`).
- POST /wechat: plaintext, or in safe mode (an EncodingAESKey set) only encrypted bodies whose msg_signature
  covers the ciphertext; the decrypted app id must be ours. A timestamp more than 5 minutes from the bot's
  clock is refused like a bad signature (a replay of a captured request).
- XML from outside is parsed by defusedxml first (no DTD, no entities, no external references), and only
  then handed to wechatpy's parser.

Signatures, crypto and parsing are wechatpy's (MIT); this module only decides what to refuse.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import WeChatSigner

from conversations.events import FileRef, Inbound

PLATFORM = "wechat"
MAX_SKEW = 300  # seconds between WeChat's timestamp and our clock
MAX_BODY = 64 * 1024  # WeChat's messages are a few hundred bytes; anything near this is not WeChat
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:\s+(.*))?$", re.S)
_NUMBER = re.compile(r"^\s*(\d{1,2})\s*$")
# Kinds a person can send an official account that the bot cannot use: answered with "please type or
# send a photo".
UNSUPPORTED = frozenset({"voice", "video", "shortvideo", "location", "link", "file"})


class Refused(Exception):
    """The request is answered with `status` and nothing in it is processed."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


@dataclass(frozen=True)
class Keys:
    app_id: str
    token: str
    aes_key: str | None = None  # set: safe mode, encrypted only

    @property
    def safe(self) -> bool:
        return bool(self.aes_key)

    def crypto(self) -> WeChatCrypto:
        assert self.aes_key
        return WeChatCrypto(self.token, self.aes_key, self.app_id)


def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


def _same(a: str | None, b: str) -> bool:
    return a is not None and hmac.compare_digest(a.encode(), b.encode())


def _fresh(timestamp: str | None, now: datetime) -> str:
    try:
        ts = int(timestamp or "")
    except ValueError:
        raise Refused(403, "no timestamp") from None
    if abs(now.timestamp() - ts) > MAX_SKEW:
        raise Refused(403, "timestamp too far from our clock")
    return str(ts)


def verify_url(keys: Keys, query: Mapping[str, str], now: datetime) -> str:
    """The echostr to answer WeChat's URL verification with (raises Refused)."""
    ts = _fresh(query.get("timestamp"), now)
    nonce = query.get("nonce", "")
    if not _same(query.get("signature"), sign(keys.token, ts, nonce)):
        raise Refused(403, "bad signature")
    echo = query.get("echostr", "")
    # Safe mode may verify with a msg_signature over the echostr too (the enterprise flavour).
    if (
        keys.safe
        and query.get("msg_signature")
        and not _same(query.get("msg_signature"), sign(keys.token, ts, nonce, echo))
    ):
        raise Refused(403, "bad msg_signature")
    return echo


def _guard(xml: bytes | str) -> Any:
    try:
        return SafeET.fromstring(xml, forbid_dtd=True)
    except (DefusedXmlException, ParseError, ValueError) as exc:
        raise Refused(400, f"unreadable XML ({type(exc).__name__})") from None


def open_post(keys: Keys, query: Mapping[str, str], body: bytes, now: datetime) -> Any:
    """The wechatpy message in a POST body, checked (raises Refused)."""
    if len(body) > MAX_BODY:
        raise Refused(413, "body too large")
    ts = _fresh(query.get("timestamp"), now)
    nonce = query.get("nonce", "")
    if not _same(query.get("signature"), sign(keys.token, ts, nonce)):
        raise Refused(403, "bad signature")
    root = _guard(body)
    if keys.safe:
        encrypted = root.findtext("Encrypt")
        if query.get("encrypt_type") != "aes" or not encrypted:
            raise Refused(403, "plaintext message in safe mode")
        if not _same(query.get("msg_signature"), sign(keys.token, ts, nonce, encrypted)):
            raise Refused(403, "bad msg_signature")
        try:
            plain = keys.crypto().decrypt_message(body.decode(), query["msg_signature"], ts, nonce)
        except InvalidAppIdException:
            raise Refused(403, "another app id") from None
        except InvalidSignatureException:
            raise Refused(403, "bad msg_signature") from None
        except Exception:
            raise Refused(400, "cannot decrypt") from None
        _guard(plain)
        body = plain.encode()
    elif root.find("Encrypt") is not None and root.find("MsgType") is None:
        raise Refused(400, "encrypted message but no EncodingAESKey configured")
    try:
        message = parse_message(body.decode())
    except Exception:
        raise Refused(400, "not a WeChat message") from None
    if message is None or not message.source:
        raise Refused(400, "not a WeChat message")
    return message


def seal_reply(keys: Keys, xml: str, nonce: str, now: datetime) -> str:
    """A passive reply as WeChat expects it in this mode (encrypted in safe mode)."""
    if not keys.safe:
        return xml
    return str(keys.crypto().encrypt_message(xml, nonce, str(int(now.timestamp()))))


# -- the neutral event -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Other:
    """Something for the transport, not the core: an unfollow, a kind we cannot use, or nothing at all."""

    what: str  # "unfollow" | "unsupported" | "ignore"
    openid: str
    update_id: str


def update_id(message: Any) -> str:
    """MsgId for messages; events carry none, so sender + CreateTime + event (WeChat's own advice)."""
    if message.type == "event":
        return f"ev:{message.source}:{message.time}:{message.event}"
    return f"msg:{message.id}" if message.id else f"msg:{message.source}:{message.time}"


def opens(message: Any) -> str | None:
    """Which reply window this message opens: "message" (5 in 48 h) or "event" (3 in 1 min)."""
    if message.type == "event":
        return "event" if message.event in ("subscribe", "subscribe_scan", "scan", "click") else None
    return "message"


def to_event(message: Any, menu: Mapping[str, Any] | None = None) -> Inbound | Other:
    """The neutral event for a WeChat message; `menu` is the numbered menu last shown to this person
    ({"mid": message id, "items": [button data, ...]}), so "2" or a msgmenu click presses its second item."""
    openid = str(message.source)
    uid = update_id(message)
    common: dict[str, Any] = {"platform": PLATFORM, "update_id": uid, "chat_id": openid, "user_id": openid}
    kind = message.type
    data: Mapping[str, Any] = message._data
    if kind == "text":
        text = str(message.content or "")
        items = list((menu or {}).get("items") or [])
        choice = str(data.get("bizmsgmenuid") or "") or (m.group(1) if (m := _NUMBER.match(text)) else "")
        if choice.isdigit() and 1 <= int(choice) <= len(items):
            # A callback id, so the core's short answers (toasts) come back: they join the reply here.
            return Inbound(
                kind="button",
                button=items[int(choice) - 1],
                message_id=(menu or {}).get("mid"),
                callback_id=uid,
                **common,
            )
        if (m := _COMMAND.match(text.strip())) is not None:
            return Inbound(
                kind="command", text=text, command=m.group(1).lower(), args=(m.group(2) or "").strip(), **common
            )
        return Inbound(kind="text", text=text, **common)
    if kind == "image":
        # By MediaId through media/get, never by PicUrl (a URL anyone could have put there).
        return Inbound(kind="photo", file=FileRef(file_id=str(message.media_id), mime="image/jpeg"), **common)
    if kind == "event":
        event = message.event
        if event in ("subscribe", "subscribe_scan", "scan"):
            scene = str(getattr(message, "scene_id", "") or "") if event != "subscribe" else ""
            return Inbound(kind="command", text="/start", command="start", args=scene, **common)
        if event == "click":
            return click_event(str(message.key or ""), common)
        if event == "unsubscribe":
            return Other("unfollow", openid, uid)
        return Other("ignore", openid, uid)  # VIEW, location reports, template delivery reports …
    return Other("unsupported", openid, uid)


def click_event(key: str, common: dict[str, Any]) -> Inbound | Other:
    """Menu keys are "cmd:NAME" (a command) or "btn:DATA" (a global button)."""
    if key.startswith("cmd:") and key[4:]:
        return Inbound(kind="command", text=f"/{key[4:]}", command=key[4:], **common)
    if key.startswith("btn:") and key[4:]:
        return Inbound(kind="button", button=key[4:], callback_id=common["update_id"], **common)
    return Other("ignore", common["chat_id"], common["update_id"])
