"""Crash safety, proven: `eqa-bot run` is killed with SIGKILL at random points of lab contacts' journeys —
while an update is fetched, handled, committed, its replies sent, or the bot is still starting — at least
20 times, and started again each time. The fake Bot API runs in this process (a thread); the bot is a
real child process on a SQLite file.

Afterwards: every journey completed, every update the people sent was handled exactly once, every stored
value is what they typed or sent (documents byte for byte), no record is duplicated, no reply is left
undelivered, no chat received anything twice (counted at the fake Bot API: each outbox row reached its
chat at most once — replies, edits, the reviewers' alert cards and documents alike), and no handler
crashed. A reply that was on the wire when the bot was killed and never arrived is the price of that: the
bot reports it (`unconfirmed`) and never resends it by itself; the person, hearing nothing, calls the
centre, whose operator resends it (`eqa-bot unconfirmed --resend`) — the test does exactly that, and only
for what the chat never received. The random seed is printed on failure (`EQA_CRASH_SEED` replays it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.telegram.inbound import PLATFORM
from conversations.i18n import catalog
from storage.db import Database
from storage.files import DocumentStore
from storage.models import AuditLog, Contact, Document, Enrollment, Lab, OutboxMessage, ProcessedUpdate, utcnow
from storage.repos import outbox as outbox_repo
from tests.fake_telegram import FakeTelegram
from tests.test_crash_support import MOBILE, Act, Walker, images, journey, run_env, seed

MIN_KILLS = 20
JOURNEYS = 2  # two contacts of two labs walking at the same time
# Now and then a second kill soon after a restart, in start-up: migrations check, the outbox left from before.
STARTUP_KILL_CHANCE = 0.2

pytestmark = [pytest.mark.timeout(150)]

# A fresh interpreter spends ~2 s importing before `eqa-bot run` does anything; twenty-odd restarts would
# be mostly that. So a parent process imports once and forks each incarnation, which then runs exactly
# `eqa-bot run` (`bot.cli.main(["run"])`) and is killed like any process. (`eqa-bot run` from a fresh
# interpreter is exercised by tests/test_privacy.py and tests/e2e/test_run.py.)
ZYGOTE = """
import os, sys
import bot.cli, bot.serve, bot.telegram.ptb_transport  # what `eqa-bot run` loads, loaded once
for line in sys.stdin:
    cmd, _, arg = line.strip().partition(" ")
    if cmd == "spawn":
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                devnull = os.open(os.devnull, os.O_RDONLY)
                out = os.open(arg, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(devnull, 0)
                os.dup2(out, 1)
                os.dup2(out, 2)
                code = bot.cli.main(["run"])
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        print(pid, flush=True)
    elif cmd == "wait":
        _, status = os.waitpid(int(arg), 0)
        print(os.waitstatus_to_exitcode(status), flush=True)
"""


@dataclass
class Bot:
    """The `eqa-bot run` process, killed and restarted on demand (one at a time)."""

    env: dict[str, str]
    cwd: Path
    rng: random.Random
    zygote: asyncio.subprocess.Process | None = None
    pid: int | None = None
    kills: int = 0
    startup_kills: int = 0
    starts: int = 0
    started_at: float = 0.0
    started_wall: float = 0.0
    log: list[str] = field(default_factory=list)
    # Where the kills landed: before the act's answer reached the person; with replies committed but
    # not yet sent.
    unanswered: int = 0
    with_undelivered: int = 0
    resent: int = 0  # unconfirmed replies the operator resent because the person never got them
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def _ask(self, line: str) -> int:
        assert self.zygote is not None and self.zygote.stdin is not None and self.zygote.stdout is not None
        self.zygote.stdin.write(f"{line}\n".encode())
        await self.zygote.stdin.drain()
        answer = await asyncio.wait_for(self.zygote.stdout.readline(), 60)
        if not answer:
            raise AssertionError(f"the parent process died: see {self.cwd / 'zygote.log'}")
        return int(answer)

    async def start(self) -> None:
        if self.zygote is None:
            with open(self.cwd / "zygote.log", "wb") as err:
                self.zygote = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-c",
                    ZYGOTE,
                    cwd=self.cwd,
                    env=self.env,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=err,
                )
        self.starts += 1
        self.pid = await self._ask(f"spawn {self.cwd / f'run-{self.starts}.log'}")
        self.started_at, self.started_wall = time.monotonic(), time.time()

    async def serving(self, tg: FakeTelegram) -> None:
        """Until this incarnation asks for updates (it is past start-up)."""
        while not (tg.long_poll_active or any(c.time >= self.started_wall for c in tg.calls("getUpdates"))):
            await asyncio.sleep(0.02)

    async def kill_and_restart(
        self, tg: FakeTelegram, url: str, *, startup: bool = False, answered: asyncio.Event | None = None
    ) -> None:
        async with self._lock:
            if not startup:
                await self.serving(tg)
                # An update takes some 15-40 ms from fetch to delivered reply here: half the kills aim there,
                # the rest later (between the reply and its bookkeeping, or while the person reads).
                roll = self.rng.random()
                await asyncio.sleep(self.rng.uniform(0.0, 0.03) if roll < 0.5 else self.rng.uniform(0.03, 0.5))
            assert self.pid is not None
            os.kill(self.pid, signal.SIGKILL)
            code = await self._ask(f"wait {self.pid}")
            if code != -signal.SIGKILL:
                raise AssertionError(f"the bot exited by itself ({code}): see run-{self.starts}.log")
            self.unanswered += answered is not None and not answered.is_set()
            self.with_undelivered += bool(await _unsent(url))
            self.kills += 1
            self.startup_kills += startup
            self.log.append(f"kill {self.kills} at {time.monotonic() - self.started_at:.2f}s of run {self.starts}")
            await self.start()

    async def stop(self) -> int:
        """SIGTERM: the bot finishes what it holds and exits 0."""
        assert self.pid is not None
        os.kill(self.pid, signal.SIGTERM)
        return await self._ask(f"wait {self.pid}")

    async def close(self) -> None:
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        if self.zygote is not None and self.zygote.returncode is None:
            self.zygote.kill()
            await self.zygote.wait()


async def _answered(walker: Walker, act: int, answered: asyncio.Event) -> None:
    while walker.done <= act:
        await asyncio.sleep(0.01)
    answered.set()


async def _statuses(url: str) -> dict[str, int]:
    db = Database(url)
    try:
        async with db.reading() as s:
            rows = await s.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
            return {status: n for status, n in rows.all()}
    finally:
        await db.dispose()


stamps: dict[str, list[str]] = {}  # when each received message arrived (for a failure's explanation)

# Bot API methods that put something in a chat (answerCallbackQuery, getUpdates and the like do not).
DELIVERING = re.compile(r"^(send(?!ChatAction)|edit|copy|forward)", re.IGNORECASE)


def _received(tg: FakeTelegram) -> dict[str, list[str]]:
    """What each chat received, as the fake Bot API saw it: every request that delivered something, or an
    edit refused as "not modified" (the screen showed it already: a duplicate all the same)."""
    got: dict[str, list[str]] = {}
    for call in tg.calls():
        if not DELIVERING.match(call.method) or call.chat_id is None:
            continue
        if call.ok or "not modified" in (call.error or ""):
            what = call.params.get("text") or call.params.get("caption") or call.method
            got.setdefault(str(call.chat_id), []).append(f"{call.method}({call.params.get('message_id', '')}): {what}")
            stamps.setdefault(got[str(call.chat_id)][-1], []).append(f"{call.time:.3f} {call.status}")
    return got


async def _rows_by_chat(url: str) -> dict[str, dict[str, int]]:
    db = Database(url)
    try:
        async with db.reading() as s:
            rows = await s.execute(
                select(OutboxMessage.chat_id, OutboxMessage.status, func.count())
                .where(OutboxMessage.platform == PLATFORM)
                .group_by(OutboxMessage.chat_id, OutboxMessage.status)
            )
            found: dict[str, dict[str, int]] = {}
            for chat, status, n in rows.all():
                found.setdefault(chat, {})[status] = n
            return found
    finally:
        await db.dispose()


async def _resend_lost(url: str, tg: FakeTelegram, chat: str, since: float) -> list[int]:
    """Unconfirmed rows to `chat` written since `since` whose text the chat never received after the row was
    written: queued again, as `eqa-bot unconfirmed --resend` does."""
    calls = [(c.time, json.dumps(c.params, ensure_ascii=False)) for c in tg.calls(chat_id=chat)]
    db = Database(url)
    try:
        async with db.transaction() as s:
            lost = []
            for r in await outbox_repo.unconfirmed(s):
                written = r.created_at.replace(tzinfo=r.created_at.tzinfo or UTC).timestamp()
                text = r.payload.get("text") or r.payload.get("caption")
                if r.chat_id != chat or written < since or not text:
                    continue
                if not any(
                    json.dumps(text, ensure_ascii=False)[1:-1] in params for at, params in calls if at >= written
                ):
                    lost.append(r.id)
            return await outbox_repo.resend(s, lost, utcnow())
    finally:
        await db.dispose()


async def _unsent(url: str) -> list[OutboxMessage]:
    db = Database(url)
    try:
        async with db.reading() as s:
            return list(await s.scalars(select(OutboxMessage).where(OutboxMessage.status.in_(LIVE))))
    finally:
        await db.dispose()


# The outbox's lease: a row claimed by a process that died is taken over by a live one after this long.
LEASE = timedelta(seconds=60)
LIVE = ("pending", "claimed", "sending")


async def _settled(url: str, live_pid: int, timeout: float = 40) -> list[OutboxMessage]:
    """Wait until no reply waits in the outbox: the last incarnation delivers what the others left. Rows a
    killed incarnation had claimed wait out the outbox lease before a live worker takes them over; rather
    than wait a minute, their lease is made to have run out (the clock moved on, for those rows only)."""
    mine = re.compile(rf"(^|:){live_pid}(:|$)")
    db = Database(url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            async with db.transaction() as s:
                rows = list(await s.scalars(select(OutboxMessage).where(OutboxMessage.status.in_(LIVE))))
                for row in rows:
                    stamp = row.claimed_at
                    if row.claimed_by and not mine.search(row.claimed_by) and stamp and stamp > utcnow() - LEASE:
                        row.claimed_at = stamp - LEASE - timedelta(seconds=1)
            if not rows or time.monotonic() > deadline:
                return rows
            await asyncio.sleep(0.2)
    finally:
        await db.dispose()


async def test_the_journey_survives_sigkill_at_random_points(tmp_path: Path) -> None:
    seed_value = int(os.environ.get("EQA_CRASH_SEED") or random.SystemRandom().randrange(10**9))
    rng = random.Random(seed_value)
    url = f"sqlite+aiosqlite:///{tmp_path / 'eqa.sqlite3'}"
    labs = [f"HN000{i + 1}" for i in range(JOURNEYS)]
    codes = [await seed(url, lab, name=f"第{i + 1}人民医院检验科") for i, lab in enumerate(labs)]
    files = images()
    plans = [journey(lab, code, files) for lab, code in zip(labs, codes, strict=True)]
    # Which acts get a kill: MIN_KILLS of them, spread over all journeys.
    slots = [(j, i) for j, plan in enumerate(plans) for i in range(len(plan))]
    doomed = set(rng.sample(slots, MIN_KILLS))

    tg = FakeTelegram.start_in_thread()
    bot = Bot(run_env(tg, tmp_path), tmp_path, rng)
    pending: set[asyncio.Task[None]] = set()
    context = f"seed {seed_value} (EQA_CRASH_SEED={seed_value} replays it)"
    # Names the typed-name checks accept: the mailing recipient is prefilled from them.
    users = [tg.user(6001 + j, f"联系人{'甲乙'[j]}", language_code="zh-hans") for j in range(JOURNEYS)]
    try:
        await bot.start()

        async def kill_soon(answered: asyncio.Event | None, startup: bool = False) -> None:
            # Soon after the act went out, once the bot serves: the update is being fetched, handled,
            # committed or its replies delivered — wherever it is. Or, now and then, during a start-up.
            if startup:
                await asyncio.sleep(rng.uniform(0.05, 0.6))
            await bot.kill_and_restart(tg, url, startup=startup, answered=answered)
            if not startup and rng.random() < STARTUP_KILL_CHANCE:
                await kill_soon(None, startup=True)

        async def walk(j: int) -> None:
            walker = Walker(users[j], timeout=45)
            kill: asyncio.Task[None] | None = None
            act_at: dict[int, float] = {}

            async def on_silence(i: int, act: Act) -> bool:
                # The answer was on the wire when the bot was killed and never arrived: the bot reports it
                # (unconfirmed) and does not resend it. The person calls the centre; the operator, seeing
                # it in `eqa-bot unconfirmed`, resends it — only what the chat never received.
                resent = await _resend_lost(url, tg, str(users[j].chat_id), act_at.get(i, act_at.get(i + 1, 0.0)))
                bot.resent += len(resent)
                return bool(resent)

            async def on_act(i: int) -> None:
                nonlocal kill
                act_at[i] = time.time()
                if kill is not None:  # one kill at a time per person, aimed at the act it was meant for
                    await kill
                    kill = None
                if (j, i) in doomed:
                    answered = asyncio.Event()
                    watch = asyncio.create_task(_answered(walker, i, answered))
                    kill = asyncio.create_task(kill_soon(answered))
                    for t in (watch, kill):
                        pending.add(t)
                        t.add_done_callback(pending.discard)

            await walker.walk(plans[j], on_act, on_silence)

        try:
            await asyncio.gather(*(walk(j) for j in range(JOURNEYS)))
        except AssertionError as exc:
            raise AssertionError(f"{context}; {bot.log[-5:]}: {exc}") from None
        while pending:
            await asyncio.gather(*list(pending))
        assert bot.pid is not None
        left = await _settled(url, bot.pid)
        assert left == [], f"{context}: replies never delivered: {[(r.id, r.status, r.claimed_by) for r in left]}"
        assert await bot.stop() == 0, context
        statuses = await _statuses(url)
        # Sent; or "unconfirmed": on the wire when its sender died, never sent twice (the outbox's rule).
        assert set(statuses) <= {"sent", "unconfirmed"}, f"{context}: {statuses}"
        # Nothing twice, counted where it lands: each chat received one request per sent row, and at most
        # one more per row that was on the wire when the bot was killed.
        received = _received(tg)
        rows = await _rows_by_chat(url)
        for chat in sorted(set(received) | set(rows)):
            got, sent, unconfirmed = received.get(chat, []), rows.get(chat, {}).get("sent", 0), rows.get(chat, {})
            unconfirmed = unconfirmed.get("unconfirmed", 0)
            repeated = sorted({f"{m} at {stamps.get(m)}" for m in got if got.count(m) > 1})
            assert sent <= len(got) <= sent + unconfirmed, (
                f"{context}: chat {chat} received {len(got)} messages for {sent} sent rows "
                f"(+{unconfirmed} unconfirmed); repeated: {repeated}"
            )
    finally:
        for task in pending:
            task.cancel()
        await bot.close()
        tg.stop()

    assert bot.kills >= MIN_KILLS, context
    assert bot.unanswered >= 3, f"{context}: the kills missed the acts they aimed at"
    sent_updates = sum(len(plan) for plan in plans)
    db = Database(url)
    try:
        async with db.reading() as s:
            # Every update handled once: none lost (all recorded), none twice (a primary key).
            handled = await s.scalar(
                select(func.count()).select_from(ProcessedUpdate).where(ProcessedUpdate.platform == PLATFORM)
            )
            assert handled == sent_updates, context
            for j, lab_code in enumerate(labs):
                lab = await s.scalar(select(Lab).where(Lab.code == lab_code))
                assert lab is not None
                contacts = list(await s.scalars(select(Contact).where(Contact.lab_id == lab.id)))
                assert [(c.user_id, c.active) for c in contacts] == [(str(6001 + j), True)], context
                enrollments = list(await s.scalars(select(Enrollment).where(Enrollment.lab_id == lab.id)))
                assert len(enrollments) == 1, context
                enr = enrollments[0]
                assert (enr.status, enr.revision) == ("submitted", 1), context
                assert enr.last_year_tests == [
                    "CHEM.K",
                    "CHEM.Na",
                    "CHEM.ALT",
                    *(f"CBC.{t}" for t in ["WBC", "RBC", "Hb", "Hct", "MCV", "MCH", "MCHC", "PLT"]),
                ], context
                assert enr.lab_info["phone"] == "0371-67966305" and enr.lab_info["head"] == "张伟", context
                assert enr.invoice["title"] == "郑州市第一人民医院", context
                assert enr.mailing["phone"] == MOBILE and enr.mailing["postcode"] == "450052", context
                assert enr.specialties == ["CHEM", "CBC", "COAG"], context
                docs = list(await s.scalars(select(Document).where(Document.lab_id == lab.id).order_by(Document.id)))
                assert [(d.kind, d.status) for d in docs] == [("agreement", "active"), ("licence", "active")], context
                store = DocumentStore(tmp_path / "data")
                assert store.get(docs[0].storage_key) == files["agreement"], context
                assert store.get(docs[1].storage_key) == files["licence"], context
                uploads = await s.scalar(
                    select(func.count())
                    .select_from(AuditLog)
                    .where(AuditLog.lab_id == lab.id, AuditLog.action == "document_uploaded")
                )
                assert uploads == 2, context
    finally:
        await db.dispose()
    # No handler crashed (the core would have apologised), in any incarnation.
    apologies = {catalog().t(lang, "error-internal") for lang in ("zh", "en")}
    for user in users:
        assert not [m for m in user.messages if m.content in apologies], context
    print(
        f"{context}: {bot.kills} kills ({bot.startup_kills} in start-up, {bot.unanswered} before the act's "
        f"answer arrived, {bot.with_undelivered} with replies undelivered), {bot.starts} starts, {bot.resent} lost replies resent by "
        f"hand; outbox {statuses}; "
        f"received {dict((chat, len(got)) for chat, got in received.items())}"
    )
