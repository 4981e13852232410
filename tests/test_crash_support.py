"""The lab contact's whole journey as a person on Telegram would walk it (through the fake Bot API), for
tests that run the real `eqa-bot run` process: the crash test and the privacy test. No tests here.

The person waits for what each action should produce before doing the next thing, and presses buttons on
the screen they are looking at (the message that last showed what they waited for), as a person would.
They never repeat an action: whatever they sent must be carried through by the bot, crash or not.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from storage.db import Database
from storage.models import Contact, Lab
from storage.repos.bindings import issue
from tests import image_samples as samples
from tests.fake_telegram import BotMessage, FakeTelegram, FakeUser

NOW = datetime.fromisoformat("2025-02-10T10:00:00+08:00")
MOBILE_TYPED = "139 1234 5678"
MOBILE = "13912345678"
LANDLINE = "0371-67966305"
CREDIT_CODE = "12410000415800281H"
# Personal and institutional data the journey puts through the bot: none of it may reach a log.
PII = (MOBILE, CREDIT_CODE, "12410000415800281h", "1241000O415800281H")


@dataclass(frozen=True)
class Act:
    kind: str  # send | press | document | photo
    arg: str
    expect: str  # a text the answer contains, or a button label it shows
    data: bytes = b""


def images() -> dict[str, bytes]:
    return {
        "agreement": samples.jpeg(samples.document(seal=True)),
        "licence": samples.jpeg(samples.document(seal=False, seed=3)),
    }


def journey(lab_code: str, binding_code: str, files: dict[str, bytes], *, typos: bool = False) -> list[Act]:
    """Binding by deep link, the three steps, the documents, the submission."""
    acts = [
        Act("send", f"/start {lab_code}_{binding_code}", "绑定成功"),
        Act("press", "继续申报", "第一步"),
        Act("press", "临床常规化学", "第 1/3 页"),
        Act("press", "☐ K 钾", "☑ K 钾"),
        Act("press", "☐ Na 钠", "☑ Na 钠"),
        Act("press", "下一页", "第 2/3 页"),
        Act("press", "☐ ALT", "☑ ALT"),
        Act("press", "返回专业列表", "全血细胞计数"),
        Act("press", "全血细胞计数", "全选"),
        Act("press", "全选", "☑ WBC"),
        Act("press", "返回专业列表", "查看汇总并提交"),
        Act("press", "查看汇总并提交", "共 11 项"),
        Act("press", "确认提交", "请输入本室联系电话"),
    ]
    if typos:  # refused inputs carry personal data too
        acts.append(Act("send", "1391234567", "手机号应为 11 位"))
    acts += [
        Act("send", LANDLINE, "科室负责人"),
        Act("send", "张伟", "本室信息"),
        Act("press", "下一步", "开票单位名称"),
        Act("send", "郑州市第一人民医院", "开票信息"),
    ]
    if typos:
        acts += [
            Act("press", "✏️ 纳税人识别号", "纳税人识别号"),
            Act("send", "1241000O415800281H", "这里多半是数字 0"),
            Act("send", CREDIT_CODE.lower(), "开票信息"),
        ]
    acts += [
        Act("press", "下一步", "收件人电话"),
        Act("send", MOBILE_TYPED, "邮政编码"),
        Act("send", "４５００５２", "邮寄信息"),
        Act("press", "下一步", "☑ 临床常规化学"),
        Act("press", "☐ 凝血实验", "☑ 凝血实验"),
        Act("press", "下一步", "请核对 2025 年申购信息"),
        Act("press", "确认申购", "第三步"),
        Act("press", "上传签字盖章的协议", "协议"),
        Act("document", "协议.jpg", "✅", files["agreement"]),
        Act("press", "缓交协议已传完", "上传执业许可证"),
        Act("press", "上传执业许可证", "许可证"),
        Act("photo", "", "✅", files["licence"]),
        Act("press", "执业许可证已传完", "截止日期"),
        Act("press", "没有变化", "请确认 2025 年申报内容"),
        Act("press", "提交审核", f"回执编号 2025-{lab_code}-R1"),
    ]
    return acts


def _shows(message: BotMessage, expect: str) -> bool:
    return expect in message.content or any(expect in b for b in message.buttons)


class Walker:
    """Walks the acts for one person; `on_act` runs before each (the crash test kills the bot there)."""

    def __init__(self, user: FakeUser, *, timeout: float = 60, silence: float = 5) -> None:
        self.user = user
        self.timeout = timeout
        self.silence = silence  # seconds without the answer before `on_silence` is asked
        self.screen: int | None = None  # the message the person is looking at
        self.done = 0

    async def walk(
        self,
        acts: list[Act],
        on_act: Callable[[int], Awaitable[None]] | None = None,
        on_silence: Callable[[int, Act], Awaitable[bool]] | None = None,
    ) -> None:
        """`on_silence(i, act)`: the answer is late; what a person does who got nothing (they call the
        centre, which may resend it). True: something was done, wait again."""
        for i, act in enumerate(acts):
            if on_act is not None:
                await on_act(i)
            deadline = time.monotonic() + self.timeout
            while True:
                try:
                    await self.do(act)
                    break
                except LookupError:  # the screen with that button never arrived
                    if on_silence is None or time.monotonic() > deadline:
                        raise
                    await on_silence(i - 1, act)
                    await asyncio.sleep(self.silence / 5)
            while True:
                wait = min(self.silence, deadline - time.monotonic()) if on_silence else deadline - time.monotonic()
                try:
                    seen = await self.user.wait_for_message(
                        lambda m, e=act.expect: _shows(m, e), timeout=max(wait, 0.1)
                    )
                    break
                except AssertionError as exc:
                    if on_silence is not None and time.monotonic() < deadline and await on_silence(i, act):
                        continue
                    if on_silence is not None and time.monotonic() < deadline:
                        continue
                    raise AssertionError(f"act {i} {act.kind} {act.arg!r}: {exc}") from None
            self.screen = seen.message_id
            self.done = i + 1

    async def do(self, act: Act) -> None:
        u = self.user
        if act.kind == "send":
            await u.send_text(act.arg)
        elif act.kind == "press":
            try:
                await u.press(act.arg, substring=True, message=self.screen)
            except LookupError:  # the button is on an earlier message (a reply above the screen)
                await u.press(act.arg, substring=True)
        elif act.kind == "document":
            await u.send_document(act.data, act.arg, "image/jpeg")
        elif act.kind == "photo":
            await u.send_photo(act.data)
        else:
            raise ValueError(act.kind)


async def seed(database_url: str, lab_code: str = "HN0001", *, name: str = "郑州市第一人民医院检验科") -> str:
    """A migrated database with one lab of the roster and a fresh binding code for it (returned)."""
    db = Database(database_url)
    try:
        await db.migrate()
        async with db.transaction() as s:
            lab = Lab(
                code=lab_code,
                name=name,
                institution_type="general_hospital",
                level="L3",
                city="郑州市",
                licence_no="41010219900001",
                licence_valid_from=date(2020, 5, 1),
                licence_valid_to=date(2027, 4, 30),
                credit_code=CREDIT_CODE,
                address="郑州市金水区示范路 1 号",
            )
            s.add(lab)
            await s.flush()
            return await issue(s, lab.id, now=NOW, created_by="test")
    finally:
        await db.dispose()


REVIEW_CHAT_ID = -1001234567890


def run_env(tg: FakeTelegram, tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of an `eqa-bot run` child: the fake Bot API (where the reviewers' group is made to
    exist), a SQLite file, the fixed clock."""
    import os

    if not any(c == REVIEW_CHAT_ID for c in tg._chats):
        tg.group("审核群", chat_id=REVIEW_CHAT_ID)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EQA_", "TELEGRAM_"))}
    return env | {
        "TELEGRAM_BOT_TOKEN": tg.token,
        "TELEGRAM_API_BASE_URL": tg.root,
        "EQA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'eqa.sqlite3'}",
        "EQA_DATA_DIR": str(tmp_path / "data"),
        "EQA_NOW": NOW.isoformat(),
        "EQA_TRANSPORT": "ptb",
        "EQA_REVIEW_CHAT_ID": str(REVIEW_CHAT_ID),
        "EQA_ADMIN_IDS": "9001",
        **extra,
    }


async def contacts_of(database_url: str) -> list[Contact]:
    from sqlalchemy import select

    db = Database(database_url)
    try:
        async with db.reading() as s:
            return list(await s.scalars(select(Contact)))
    finally:
        await db.dispose()


__all__ = ["Act", "Walker", "asyncio", "journey", "run_env", "seed"]
