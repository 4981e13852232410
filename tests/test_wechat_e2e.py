"""A lab's whole registration on WeChat, over real HTTP against the fake WeChat API, in plaintext and in safe
mode: follow → scan the lab's binding QR → steps 1–3 with photos → submit → a reviewer decides → the result
reaches the lab by customer-service message inside the window, and by template message outside it.

The quota is measured at every step: each turn's replies fit the window that turn opened (3 per minute after
a click, follow or scan; 5 per 48 h after a message), and the fake — which refuses beyond them as WeChat
does — never answered 45015 or 45047."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.wechat.run import lab_qr, menu_from, set_menu
from conversations.clock import FixedClock
from storage.models import Contact, Document, Enrollment, OutboxMessage
from tests import image_samples as samples
from tests.factories import make_lab
from tests.fake_wechat.running import ADMIN_OPENID, RunningWeChat, running_wechat
from tests.fake_wechat.user import Answer, WeChatUser

pytestmark = [pytest.mark.timeout(120)]

AGREEMENT = samples.jpeg(samples.document(seal=True))
AGREEMENT_PAGE_2 = samples.jpeg(samples.document(seal=True, seed=2))
LICENCE = samples.jpeg(samples.document(seal=False, seed=3))


@pytest.fixture(params=["plain", "safe"])
async def wx(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path, clock: FixedClock
) -> AsyncIterator[RunningWeChat]:
    async with running_wechat(database_url, tmp_path / "data", clock, safe=request.param == "safe") as bot:
        yield bot


@dataclass
class Quota:
    """Counts the messages each turn produced against the window it opened."""

    wx: RunningWeChat
    steps: list[tuple[str, int, int]] = field(default_factory=list)  # (step, messages, allowed)

    async def step(self, name: str, u: WeChatUser, action: object, *, window: str = "message") -> None:
        before = len(u.inbox)
        answer = await action  # type: ignore[misc]
        assert isinstance(answer, Answer) and answer.status == 200, (name, answer)
        await self.wx.settled()
        got = len(u.inbox) - before
        self.steps.append((name, got, 3 if window == "event" else 5))
        assert got >= 1, f"{name}: no reply"
        assert got <= (3 if window == "event" else 5), f"{name}: {got} messages"

    def check(self) -> None:
        refused = [r for r in self.wx.fake.refused if r[1] in (45015, 45047, 45002, 47001)]
        assert refused == [], refused
        assert all(got <= allowed for _, got, allowed in self.steps)


def local(wx: RunningWeChat, url: str) -> str:
    """A link under EQA_PUBLIC_URL, as the reverse proxy hands it to this process."""
    assert url.startswith("https://eqa.example.cn/wechat/file/"), url
    assert wx.server is not None
    return url.replace("https://eqa.example.cn", f"http://127.0.0.1:{wx.server.port}")


def links(u: WeChatUser) -> list[str]:
    return [url for m in u.inbox for url in re.findall(r"https://eqa\.example\.cn/\S+", m.text)]


@pytest.mark.parametrize("decided", ["inside", "outside"])
async def test_a_lab_registers_on_wechat_and_gets_its_result(wx: RunningWeChat, decided: str) -> None:
    """`decided`: the reviewer decides while the lab's reply window is open (a customer-service message), or
    two days later (a template message, chosen up front)."""
    app = wx.app
    lab_id = await make_lab(app)
    q = Quota(wx)

    # The admin's binding QR for the lab (a parametric QR carrying a one-person binding code).
    line = await lab_qr(app, "HN0001")
    ticket, scene = next(iter(wx.fake.qrcodes.items()))
    assert scene.startswith("HN0001_") and "weixin.qq.com/q/" in line and ticket

    # The menu from the catalogue, within WeChat's limits (the fake refuses beyond them).
    await set_menu(app)
    assert wx.fake.menu == menu_from(app.services.catalog)

    contact = wx.user("o_lab_contact_wang")
    await q.step("follow", contact, contact.follow(), window="event")
    assert "绑定" in contact.last.text
    await q.step("scan", contact, contact.scan(scene), window="event")
    assert "HN0001" in contact.last.text
    async with app.db.reading() as s:
        bound = await s.scalar(select(Contact).where(Contact.platform == "wechat", Contact.user_id == contact.openid))
    assert bound is not None and bound.lab_id == lab_id

    # Step 1: last year's tests (a menu click, then menu items and typed numbers).
    await q.step("continue", contact, contact.click("btn:g:go:journey"), window="event")
    assert "第一步" in contact.last.text
    for label in ("临床常规化学", "K 钾", "全选", "返回专业列表", "查看汇总并提交", "确认提交"):
        await q.step(label, contact, contact.press(label))

    # Step 2: the plan, typed where it is asked for.
    assert "请输入本室联系电话" in contact.last.text
    await q.step("phone", contact, contact.send_text("0371-67966305"))
    assert "科室负责人" in contact.last.text
    await q.step("head", contact, contact.send_text("张伟"))
    await q.step("next", contact, contact.press("下一步"))
    assert "开票单位名称" in contact.last.text
    await q.step("invoice", contact, contact.send_text("郑州市第一人民医院"))
    await q.step("next", contact, contact.press("下一步"))
    if "收件人姓名" in contact.last.text:  # WeChat tells no names: typed
        await q.step("recipient", contact, contact.send_text("王检验"))
    if "收件人电话" in contact.last.text:
        await q.step("mobile", contact, contact.send_text("13912345678"))
    assert "邮政编码" in contact.last.text
    await q.step("postcode", contact, contact.send_text("450052"))
    await q.step("next", contact, contact.press("下一步"))
    await q.step("next", contact, contact.press("下一步"))
    assert "请核对 2025 年申购信息" in contact.last.text
    await q.step("confirm", contact, contact.press("确认申购"))
    assert "第三步" in contact.last.text

    # Step 3: the agreement PDF is a signed link, served decrypted; pages go back as photos, one per page.
    await q.step("download", contact, contact.press("下载缓交协议"))
    pdf_link = links(contact)[-1]
    got = await wx.client.get(local(wx, pdf_link))
    assert (
        got.status_code == 200 and got.headers["content-type"] == "application/pdf" and got.content.startswith(b"%PDF")
    )
    tampered = local(wx, pdf_link).replace("/wechat/file/", "/wechat/file/x")
    refused = await wx.client.get(tampered)
    assert refused.status_code == 403 and "进度" in refused.text
    await q.step("upload agreement", contact, contact.press("上传签字盖章的协议"))
    assert "每页一张照片" in contact.last.text
    await q.step("page 1", contact, contact.send_image(AGREEMENT))
    await q.step("page 2", contact, contact.send_image(AGREEMENT_PAGE_2))
    await q.step("agreement done", contact, contact.press("缓交协议已传完"))
    await q.step("upload licence", contact, contact.press("上传执业许可证"))
    await q.step("licence", contact, contact.send_image(LICENCE))
    await q.step("licence done", contact, contact.press("执业许可证已传完"))
    if any("没有变化" in t for _, t in contact.options()[1]):
        await q.step("unchanged", contact, contact.press("没有变化"))
    async with app.db.reading() as s:
        docs = list(await s.scalars(select(Document).where(Document.lab_id == lab_id).order_by(Document.id)))
    assert [d.kind for d in docs] == ["agreement", "agreement", "licence"]
    assert app.services.store.get(docs[0].storage_key) == AGREEMENT  # fetched by MediaId, intact
    assert wx.fake.picurl_hits == 0  # never by PicUrl

    # Submission: the receipt, with its PDF as a link.
    await q.step("submit", contact, contact.press("提交审核"))
    assert any("已提交！回执编号 2025-HN0001-R1" in t for t in contact.texts())
    receipt = await wx.client.get(local(wx, links(contact)[-1]))
    assert receipt.status_code == 200 and receipt.content.startswith(b"%PDF")
    async with app.db.reading() as s:
        alerts = list(await s.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == "review-chat")))
    # The reviewers' alert waits for the Telegram worker (an official account has no group chats).
    assert alerts and {a.platform for a in alerts} == {"telegram"}

    # A reviewer (an admin on WeChat, EQA_ADMIN_IDS=wechat:OPENID) approves.
    if decided == "outside":
        wx.clock.advance(timedelta(hours=49))
    reviewer = wx.user(ADMIN_OPENID)
    await reviewer.follow()
    await wx.settled()
    await reviewer.send_text("/approve HN0001")
    await wx.settled()
    await reviewer.press("确认")
    await wx.settled()
    news = [m for m in contact.inbox if "审核通过" in m.text]
    if decided == "inside":
        assert news and news[-1].kind in ("text", "msgmenu") and "先参评、后付费" in news[-1].text
    else:
        assert news and news[-1].kind == "template" and news[-1].body["template_id"] == "TPL_RESULT"
        assert wx.fake.calls.count("template_send") == 1
    async with app.db.reading() as s:
        enrollment = await s.scalar(select(Enrollment).where(Enrollment.lab_id == lab_id))
    assert enrollment is not None and enrollment.status == "approved"
    q.check()
