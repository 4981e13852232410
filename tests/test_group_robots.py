"""Group-robot alerts (WeCom, DingTalk, Feishu): each platform's signing scheme, rate, retries with backoff;
alerts queued in the submission's transaction and delivered from the outbox; a robot that fails is logged
and never touches the chat."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
import urllib.parse
from typing import Any

import httpx
import pytest
from aiolimiter import AsyncLimiter
from sqlalchemy import select

from bot.app import App
from bot.delivery import Rejected, RetryAfter, Transient
from bot.delivery.robots import RobotWorker
from bot.group_robots import (
    GroupRobotSender,
    RobotConfig,
    configs_from,
    dingtalk_sign,
    feishu_sign,
    request_for,
)
from bot.settings import Settings
from conversations.events import Edit, Reply, SendAlbum
from storage.models import OutboxMessage
from tests.factories import bind, make_lab
from tests.harness import Person, Transcript
from tests.test_review_desk import submit

WECOM = RobotConfig("wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=WECOM-KEY-123")
DINGTALK = RobotConfig("dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=DT-TOKEN", "SECdingtalk-secret")
FEISHU = RobotConfig("feishu", "https://open.feishu.cn/open-apis/bot/v2/hook/FS-HOOK", "feishu-secret")
NOW = 1_739_152_800.123  # 2025-02-10 02:00:00.123 UTC


# -- signing ------------------------------------------------------------------------------------------------
def test_dingtalk_signs_timestamp_and_secret_with_the_secret_in_the_query() -> None:
    url, body = request_for(DINGTALK, "新申报", now=NOW)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert query["access_token"] == "DT-TOKEN" and query["timestamp"] == "1739152800123"  # milliseconds
    expected = base64.b64encode(
        hmac.new(b"SECdingtalk-secret", b"1739152800123\nSECdingtalk-secret", hashlib.sha256).digest()
    ).decode()
    assert query["sign"] == expected  # parse_qsl decoded it: it was URL-encoded exactly once
    raw_sign = url.split("sign=", 1)[1]
    assert raw_sign == urllib.parse.quote_plus(expected) and "+" not in raw_sign and "/" not in raw_sign
    assert dingtalk_sign("SECdingtalk-secret", 1739152800123) == raw_sign
    assert body == {"msgtype": "text", "text": {"content": "新申报"}}


def test_feishu_signs_with_timestamp_and_secret_as_the_key_over_nothing_in_the_body() -> None:
    url, body = request_for(FEISHU, "新申报", now=NOW)
    assert url == FEISHU.url  # nothing in the query
    assert body["timestamp"] == "1739152800"  # seconds, as a string
    expected = base64.b64encode(hmac.new(b"1739152800\nfeishu-secret", b"", hashlib.sha256).digest()).decode()
    assert body["sign"] == expected == feishu_sign("feishu-secret", 1739152800)
    # Not DingTalk's scheme (keyed by the secret): the two are easy to swap by mistake.
    assert (
        body["sign"]
        != base64.b64encode(hmac.new(b"feishu-secret", b"1739152800\nfeishu-secret", hashlib.sha256).digest()).decode()
    )
    assert body["msg_type"] == "text" and body["content"] == {"text": "新申报"}


def test_wecom_has_no_signature_and_its_text_fits_2048_bytes() -> None:
    url, body = request_for(WECOM, "审核" * 2000, now=NOW)
    assert url == WECOM.url and set(body) == {"msgtype", "text"}
    assert len(body["text"]["content"].encode()) <= 2048
    unsigned_dingtalk = RobotConfig("dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=X")
    assert "sign=" not in request_for(unsigned_dingtalk, "x", now=NOW)[0]


def test_settings_name_the_configured_robots(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EQA_WECOM_WEBHOOK_URL", WECOM.url)
    monkeypatch.setenv("EQA_FEISHU_WEBHOOK_URL", FEISHU.url)
    monkeypatch.setenv("EQA_FEISHU_SECRET", "feishu-secret")
    settings = Settings(_env_file=None)
    assert settings.group_robots() == frozenset({"wecom", "feishu"})
    configs = configs_from(settings)
    assert [(c.platform, c.secret) for c in configs] == [("wecom", None), ("feishu", "feishu-secret")]
    assert "FS-HOOK" not in repr(configs) and "feishu-secret" not in repr(configs) and "KEY" not in repr(settings)


# -- sending ------------------------------------------------------------------------------------------------
class Robot:
    """A fake robot endpoint: answers from a script, records what it got."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(200, json=answer)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


def sender(config: RobotConfig, robot: Robot, **kw: Any) -> tuple[GroupRobotSender, list[float]]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    client = httpx.AsyncClient(transport=httpx.MockTransport(robot))
    return GroupRobotSender(config, client=client, sleep=sleep, clock=lambda: NOW, **kw), slept


async def test_each_platform_posts_its_own_message_shape() -> None:
    for config, ok in ((WECOM, {"errcode": 0, "errmsg": "ok"}), (DINGTALK, {"errcode": 0}), (FEISHU, {"code": 0})):
        robot = Robot(ok)
        s, _ = sender(config, robot)
        result = await s.send(Reply("【室间质评申报】HN0001 待审核", chat_id="robot", platform=config.platform))
        assert result == {"platform": config.platform, "status": 200}
        [body] = robot.bodies()
        assert "HN0001 待审核" in json.dumps(body, ensure_ascii=False)
        assert robot.requests[0].method == "POST"


async def test_files_and_edits_are_not_for_robots() -> None:
    robot = Robot({"errcode": 0})
    s, _ = sender(WECOM, robot)
    assert (await s.send(Edit("1", "x", chat_id="robot")))["skipped"] == "Edit"
    from conversations.events import AlbumItem, FileOut

    album = SendAlbum(
        (AlbumItem("photo", FileOut("a.jpg", data=b"1")), AlbumItem("photo", FileOut("b.jpg", data=b"2")))
    )
    assert (await s.send(album))["skipped"] == "SendAlbum"
    assert robot.requests == []


async def test_server_errors_are_retried_with_growing_waits() -> None:
    robot = Robot(httpx.Response(502), httpx.ConnectError("down"), {"errcode": 0})
    s, slept = sender(DINGTALK, robot, attempts=3, backoff=1.0)
    await s.send(Reply("x", chat_id="robot"))
    assert len(robot.requests) == 3 and len(slept) == 2
    assert 0.8 <= slept[0] <= 1.2 and 1.6 <= slept[1] <= 2.4  # doubling, with jitter


async def test_failures_say_what_kind_without_the_token() -> None:
    robot = Robot(httpx.ConnectError(f"cannot reach {WECOM.url}"))
    s, _ = sender(WECOM, robot, attempts=2)
    with pytest.raises(Transient) as caught:
        await s.send(Reply("x", chat_id="robot"))
    assert "WECOM-KEY" not in str(caught.value) and "ConnectError" in str(caught.value)
    for config, answer, kind in (
        (WECOM, {"errcode": 45009, "errmsg": "api freq out of limit"}, RetryAfter),
        (DINGTALK, {"errcode": 130101, "errmsg": "send too fast"}, RetryAfter),
        (FEISHU, {"code": 9499, "msg": "too many request"}, RetryAfter),
        (
            FEISHU,
            {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"},
            Rejected,
        ),
        (DINGTALK, {"errcode": 310000, "errmsg": "sign not match"}, Rejected),
        (WECOM, {"errcode": 93000, "errmsg": "invalid webhook url"}, Rejected),
        (WECOM, httpx.Response(429, headers={"Retry-After": "7"}), RetryAfter),
        (FEISHU, httpx.Response(404), Rejected),
    ):
        s, _ = sender(config, Robot(answer))
        with pytest.raises(kind) as err:
            await s.send(Reply("x", chat_id="robot"))
        assert "KEY" not in str(err.value) and "TOKEN" not in str(err.value) and "HOOK" not in str(err.value)
        if isinstance(answer, httpx.Response) and answer.status_code == 429:
            assert isinstance(err.value, RetryAfter) and err.value.seconds == 7
    wait = sender(WECOM, Robot({"errcode": 45009}))[0]
    with pytest.raises(RetryAfter) as too_often:
        await wait.send(Reply("x", chat_id="robot"))
    assert too_often.value.seconds == 60  # WeCom's window is a minute


async def test_each_platform_keeps_to_its_rate() -> None:
    for config, rate in ((WECOM, (20, 60)), (DINGTALK, (20, 60)), (FEISHU, (5, 1))):
        s, _ = sender(config, Robot({"errcode": 0, "code": 0}))
        assert (s.limiter.max_rate, s.limiter.time_period) == rate
    # The limiter holds back what goes over: 6 Feishu messages at 5/s take a fifth of a second at least.
    s, _ = sender(FEISHU, Robot({"code": 0}), limiter=AsyncLimiter(5, 1))
    started = time.monotonic()
    await asyncio.gather(*(s.send(Reply(f"m{i}", chat_id="robot")) for i in range(6)))
    assert time.monotonic() - started >= 0.15


# -- from a submission to the robots ------------------------------------------------------------------------
async def test_a_submission_queues_one_alert_per_robot_and_a_failing_robot_never_touches_the_chat(
    app: App, transcript: Transcript, admin: Person, caplog: pytest.LogCaptureFixture
) -> None:
    app.services.group_robots = frozenset({"wecom", "dingtalk", "feishu"})
    person = Person(transcript, "c1", name="王检验")
    await bind(app, person, await make_lab(app))
    await submit(person)
    assert "新的申报待审核" in transcript.chats["review-chat"][-1].text  # the chat is served as ever
    async with app.db.reading() as s:
        rows = list(await s.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == "robot")))
    assert sorted(r.dedupe_key or "" for r in rows) == [f"robot:{p}:e1.1" for p in ("dingtalk", "feishu", "wecom")]
    assert all("郑州市第一人民医院检验科（HN0001）第 1 次提交" in r.payload["text"] for r in rows)

    wecom = Robot({"errcode": 0, "errmsg": "ok"})
    dingtalk = Robot(httpx.Response(503))
    feishu = Robot({"code": 19021, "msg": "sign match fail"})
    caplog.set_level(logging.WARNING)
    for config, robot in ((WECOM, wecom), (DINGTALK, dingtalk), (FEISHU, feishu)):
        s, _ = sender(config, robot, attempts=2)
        await RobotWorker(app.db, s).drain()
    async with app.db.reading() as s:
        state = {r.platform: r for r in await s.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == "robot"))}
    assert state["wecom"].status == "sent"
    assert state["dingtalk"].status == "pending" and state["dingtalk"].attempts == 1  # to be tried again later
    assert state["dingtalk"].next_attempt_at > state["dingtalk"].created_at
    assert state["feishu"].status == "failed" and "19021" in (state["feishu"].last_error or "")
    assert len(dingtalk.requests) == 2 and len(feishu.requests) == 1
    logged = caplog.text
    assert "group robot dingtalk" in logged and "group robot feishu refused" in logged
    assert "FS-HOOK" not in logged and "DT-TOKEN" not in logged and "feishu-secret" not in logged
    for row in state.values():
        assert "TOKEN" not in (row.last_error or "") and "HOOK" not in (row.last_error or "")
    # The Telegram side never sees a robot's row.
    assert "robot" not in transcript.chats


async def test_a_robot_gives_up_after_its_attempts(app: App, transcript: Transcript, admin: Person) -> None:
    app.services.group_robots = frozenset({"wecom"})
    person = Person(transcript, "c1")
    await bind(app, person, await make_lab(app))
    await submit(person)
    robot = Robot(httpx.ConnectError("down"))
    s, _ = sender(WECOM, robot, attempts=1)
    worker = RobotWorker(app.db, s, max_attempts=3, backoff_base=0.0)
    for _ in range(3):
        await worker.drain()
    async with app.db.reading() as session:
        row = await session.scalar(select(OutboxMessage).where(OutboxMessage.platform == "wecom"))
    assert row is not None and row.status == "failed" and row.attempts == 3 and worker.failed == 1


async def test_no_robot_configured_queues_nothing(app: App, transcript: Transcript, admin: Person) -> None:
    person = Person(transcript, "c1")
    await bind(app, person, await make_lab(app))
    await submit(person)
    async with app.db.reading() as s:
        assert await s.scalar(select(OutboxMessage).where(OutboxMessage.chat_id == "robot")) is None


async def test_the_background_job_delivers_for_each_configured_robot(
    app: App, transcript: Transcript, admin: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pydantic import SecretStr

    from bot import group_robots
    from bot.delivery import robots

    await robots.background(app, None)  # nothing configured: returns at once
    robot = Robot({"errcode": 0, "errmsg": "ok"})
    real_client = httpx.AsyncClient
    monkeypatch.setattr(
        group_robots.httpx, "AsyncClient", lambda **kw: real_client(transport=httpx.MockTransport(robot))
    )
    app.settings.wecom_webhook_url = SecretStr(WECOM.url)
    app.services.group_robots = app.settings.group_robots()
    person = Person(transcript, "c1")
    await bind(app, person, await make_lab(app))
    job = asyncio.create_task(robots.background(app, None))
    try:
        await submit(person)
        for _ in range(200):
            async with app.db.reading() as s:
                row = await s.scalar(select(OutboxMessage).where(OutboxMessage.platform == "wecom"))
            if row is not None and row.status == "sent":
                break
            await asyncio.sleep(0.05)
        assert row is not None and row.status == "sent"
        assert len(robot.requests) == 1 and "HN0001" in robot.bodies()[0]["text"]["content"]
    finally:
        job.cancel()
        await asyncio.gather(job, return_exceptions=True)
