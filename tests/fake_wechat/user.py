"""A person on WeChat, as the bot's server sees them: XML POSTs signed with the server token (and in safe mode
AES-encrypted with the EncodingAESKey), exactly as WeChat's servers forward a follower's actions.

Each action also tells the fake API which reply window it opened (WeChat knows that too), and what the
bot sent back arrives in the fake's `inbox(openid)`.
"""

from __future__ import annotations

import itertools
import re
import secrets
from dataclasses import dataclass

import httpx
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from tests.fake_wechat.server import FakeWeChat, Sent

_msg_ids = itertools.count(6_100_000_000_000_000_000)


def signature(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


@dataclass
class Answer:
    status: int
    text: str  # the body, decrypted in safe mode


class WeChatUser:
    def __init__(
        self,
        fake: FakeWeChat,
        bot_url: str,
        openid: str,
        *,
        token: str,
        aes_key: str | None = None,
        account: str = "gh_0123456789ab",
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.fake = fake
        self.url = bot_url
        self.openid = openid
        self.token = token
        self.aes_key = aes_key
        self.account = account
        self.client = client or httpx.AsyncClient(timeout=10)
        self._time_shift = 0  # seconds: lets a test send a message whose timestamp is off

    # -- what the person does -----------------------------------------------------------------------------
    async def follow(self, scene: str | None = None) -> Answer:
        self.fake.follower(self.openid).following = True
        extra = {"EventKey": f"qrscene_{scene}", "Ticket": "TICKET"} if scene else {"EventKey": ""}
        return await self.event("subscribe", **extra)

    async def scan(self, scene: str) -> Answer:
        return await self.event("SCAN", EventKey=scene, Ticket="TICKET")

    async def click(self, key: str) -> Answer:
        return await self.event("CLICK", EventKey=key)

    async def unfollow(self) -> Answer:
        self.fake.follower(self.openid).following = False
        return await self.event("unsubscribe", EventKey="")

    async def send_text(self, text: str, **extra: str) -> Answer:
        return await self.message("text", Content=text, **extra)

    async def choose(self, label: str, message: Sent | None = None) -> Answer:
        """Tap an item of the newest menu message (or `message`) whose text contains `label`."""
        menu = message or next((m for m in reversed(self.inbox) if m.kind == "msgmenu"), None)
        assert menu is not None, "no menu message to choose from"
        item = next((i for i in menu.items if label in i["content"]), None)
        assert item is not None, f"no item {label!r} in {[i['content'] for i in menu.items]}"
        return await self.send_text(item["content"], bizmsgmenuid=item["id"])

    def options(self) -> tuple[Sent, list[tuple[str, str]]]:
        """The newest message offering numbered choices, and its (number, label) pairs: msgmenu items, or
        "N. label" lines of a longer list sent as text."""
        for m in reversed(self.inbox):
            if m.items:
                return m, [(i["id"], i["content"]) for i in m.items]
            lines = [re.match(r"^(\d{1,2})\. (.+)$", line) for line in m.text.splitlines()]
            found = [(x.group(1), line) for x, line in zip(lines, m.text.splitlines(), strict=True) if x]
            if found:
                return m, found
        raise AssertionError(f"{self.openid} was offered nothing to choose")

    async def press(self, label: str) -> Answer:
        """Choose the option whose label contains `label`: a tap on a menu item, or its number typed."""
        message, found = self.options()
        number = next((n for n, text in found if label in text), None)
        assert number is not None, f"no option {label!r} in {[t for _, t in found]}"
        if message.kind == "msgmenu":
            return await self.choose(label, message)
        return await self.send_text(number)

    async def send_image(self, data: bytes) -> Answer:
        media_id = self.fake.add_media(data)
        return await self.message("image", PicUrl=f"{self.fake.root}/picurl/{media_id}", MediaId=media_id)

    async def send_voice(self) -> Answer:
        return await self.message("voice", MediaId=self.fake.add_media(b"AMR", "voice"), Format="amr")

    async def send_location(self) -> Answer:
        return await self.message("location", Location_X="34.75", Location_Y="113.62", Scale="15", Label="郑州")

    # -- the wire -----------------------------------------------------------------------------------------
    async def message(self, kind: str, **fields: str) -> Answer:
        self.fake.interacted(self.openid, "message")
        return await self.post(self.xml(kind, MsgId=str(next(_msg_ids)), **fields))

    async def event(self, event: str, **fields: str) -> Answer:
        opens = "event" if event in ("subscribe", "SCAN", "CLICK") else None
        self.fake.interacted(self.openid, opens)
        return await self.post(self.xml("event", Event=event, **fields))

    def xml(self, kind: str, **fields: str) -> str:
        parts = {
            "ToUserName": self.account,
            "FromUserName": self.openid,
            "CreateTime": str(int(self.fake.now())),
            "MsgType": kind,
            **fields,
        }
        body = "".join(
            f"<{k}><![CDATA[{v}]]></{k}>" if not v.isdigit() else f"<{k}>{v}</{k}>" for k, v in parts.items()
        )
        return f"<xml>{body}</xml>"

    def query(self, body: str | None = None) -> tuple[dict[str, str], str]:
        ts = str(int(self.fake.now()) + self._time_shift)
        nonce = secrets.token_hex(5)
        query = {"signature": signature(self.token, ts, nonce), "timestamp": ts, "nonce": nonce, "openid": self.openid}
        if body is not None and self.aes_key:
            sealed = WeChatCrypto(self.token, self.aes_key, self.fake.app_id).encrypt_message(body, nonce, ts)
            encrypt = _between(sealed, "<Encrypt><![CDATA[", "]]></Encrypt>")
            query.update(encrypt_type="aes", msg_signature=signature(self.token, ts, nonce, encrypt))
            body = f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        return query, body or ""

    async def post(self, body: str, query: dict[str, str] | None = None) -> Answer:
        q, wire = self.query(body)
        response = await self.client.post(self.url, params=query or q, content=wire.encode())
        return Answer(response.status_code, self.open_reply(response.text, (query or q)["nonce"]))

    def open_reply(self, text: str, nonce: str) -> str:
        if not self.aes_key or "<Encrypt>" not in text:
            return text
        crypto = WeChatCrypto(self.token, self.aes_key, self.fake.app_id)
        msg_sig = _between(text, "<MsgSignature><![CDATA[", "]]></MsgSignature>")
        ts = _between(text, "<TimeStamp>", "</TimeStamp>")
        return str(
            crypto.decrypt_message(text, msg_sig, ts, _between(text, "<Nonce><![CDATA[", "]]></Nonce>") or nonce)
        )

    # -- what the person sees ------------------------------------------------------------------------------
    @property
    def inbox(self) -> list[Sent]:
        return self.fake.inbox(self.openid)

    @property
    def last(self) -> Sent:
        assert self.inbox, f"{self.openid} got nothing"
        return self.inbox[-1]

    def texts(self) -> list[str]:
        return [m.text for m in self.inbox]


def _between(text: str, start: str, end: str) -> str:
    i = text.find(start)
    if i < 0:
        return ""
    j = text.find(end, i + len(start))
    return text[i + len(start) : j]


__all__ = ["Answer", "WeChatUser", "signature"]
