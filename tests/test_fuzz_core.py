"""Property-based fuzzing of the core (hypothesis): random sequences of Inbound events — texts (empty, huge,
emoji, control characters), buttons (ones the bot showed, stale ones, forged reviewer/admin data, garbage),
files (images, random bytes, albums), commands (every known one with odd arguments, unknown ones), the clock
jumping past the deadline — from a lab contact, an admin in the reviewers' chat, a stranger, and a stranger
who got into the reviewers' chat.

After every event: no handler crashed (no "error-internal" apology, nothing logged at ERROR), every stored
state is legal (flows and steps exist, enrollments keep their shapes and statuses), and nothing meant for
reviewers reached anyone else (no reviewer or admin buttons, no other lab's data, no other lab's files in
a non-staff chat; no non-staff person inside a staff flow). Bounded: a few dozen sequences (EQA_FUZZ_EXAMPLES).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import shutil
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import event as hyp_event
from hypothesis import strategies as st
from sqlalchemy import select

from bot.app import App, build_app
from bot.settings import Settings
from conversations import flow as flows
from conversations.clock import FixedClock
from conversations.events import (
    Edit,
    FileRef,
    Inbound,
    Outbound,
    Reply,
    SendAlbum,
    SendDocument,
    SendPhoto,
    Toast,
)
from conversations.i18n import catalog
from handlers.routing import ACTIONS, COMMANDS
from storage.models import (
    Application,
    Contact,
    ConversationState,
    Document,
    Enrollment,
    Lab,
    Review,
    Staff,
)
from tests import image_samples as samples
from tests.conftest import DEMO_NOW
from tests.factories import bind, make_lab
from tests.harness import Person, Transcript
from tests.test_crash_support import MOBILE_TYPED, images, journey

EXAMPLES = int(os.environ.get("EQA_FUZZ_EXAMPLES", "30"))
STEPS = 25

CONTACT, ADMIN, STRANGER, INTRUDER = "contact-a", "admin-1", "stranger", "intruder"
REVIEW_CHAT = "review-chat"
# Who sends from where: (user, chat, chat type).
ACTORS = {
    CONTACT: (CONTACT, CONTACT, "private"),
    ADMIN: (ADMIN, REVIEW_CHAT, "supergroup"),
    STRANGER: (STRANGER, STRANGER, "private"),
    INTRUDER: (INTRUDER, REVIEW_CHAT, "supergroup"),
}
NON_STAFF_CHATS = (CONTACT, STRANGER)
LAB_B = {
    "code": "HN0777",
    "name": "商丘市第九人民医院检验科",
    "credit_code": "12410000415800281H",
    "mobile": "13600136000",
}
LAB_A = {"code": "HN0358", "name": "郑州市金水区人民医院检验科", "credit_code": "91410100MA44KX7R17"}
STAFF_ONLY_ACTIONS = {name for name, a in ACTIONS.items() if a.role in ("staff", "admin")} | {"rv", "adm", "bc"}
STAFF_FLOWS = {"rv_return", "rv_bulk", "adm_import", "broadcast"}
ENROLLMENT_STATUSES = {"draft", "submitted", "returned", "approved"}
DOCUMENT_STATUSES = {"active", "superseded", "refused", "purged"}  # refused: returned by the centre
RETURN_ITEMS = {"checklist", "lab_info", "invoice", "mailing", "specialties", "agreement", "licence", "documents"}

JPEG = samples.jpeg(samples.document(seal=True, width=900))
SMALL_JPEG = samples.jpeg(samples.document(width=200, seed=4))
PNG = samples.png(samples.document(width=600, seed=5))
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

TEXTS = [
    "0371-67966305",
    "张伟",
    "郑州市第一人民医院",
    "13912345678",
    "139 1234 5678",
    "450052",
    "４５００５２",
    "2027-04-30",
    "2030年4月30日",
    "12410000415800281H",
    "1241000O415800281H",
    "HN0777 ABCD2345",
    "什么时候截止？",
    "费用怎么交",
    "我要修改开票信息",
    "",
    "   ",
    "\u200b",
    "🙂🙂🙂",
    "\x00\x07\x1b[31m",
    "A" * 2001,
    "长" * 5000,
    '=HYPERLINK("http://x")',
    "<b>bold</b> *md* _x_ [l](http://x)",
    "\u202eevil",
]
COMMAND_ARGS = [
    "",
    "en",
    "zh",
    "xx",
    "HN0777",
    "HN0358",
    "HN0777_ABCD2345",
    "HN0001_ZZZZZZZZ",
    "../../etc/passwd",
    "1 2 3",
    "🙂",
    "x" * 300,
]
GARBAGE_BUTTONS = [
    "",
    "g",
    "g:",
    "g::",
    "g:nope:",
    "1:ok:",
    "999999:ok:",
    "-1:ok:",
    "x:y:z",
    "g:go:../../",
    "g:faq:zzz",
    "g:vote:faq.x.1",
    "g:lang:klingon",
    "0:" + "9" * 60,
]


# -- what the people saw -------------------------------------------------------------------------------------
@dataclass
class Chat:
    messages: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # id -> (text, button data)
    texts: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # stored document keys sent here


@dataclass
class World:
    app: App
    clock: FixedClock
    chats: dict[str, Chat] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    # Far from the ids the prepared worlds used (a reused update id would be a duplicate, and change nothing).
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(10**7))
    lab_b_keys: set[str] = field(default_factory=set)
    seen_buttons: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # chat -> (message id, data)

    async def fetch(self, ref: FileRef) -> bytes:
        return self.files[ref.file_id]

    def deliver(self, deliveries: list[tuple[int, Outbound]]) -> None:
        for _, action in deliveries:
            chat = self.chats.setdefault(str(getattr(action, "chat_id", "")), Chat())
            seen = self.seen_buttons.setdefault(str(getattr(action, "chat_id", "")), [])
            text = ""
            buttons: list[str] = []
            if isinstance(action, Reply | Edit):
                text = action.text
            elif isinstance(action, SendDocument | SendPhoto):
                text = action.caption
                if action.file.stored:
                    chat.files.append(action.file.stored)
            elif isinstance(action, SendAlbum):
                text = " ".join(i.caption for i in action.items)
                chat.files += [i.file.stored for i in action.items if i.file.stored]
            if not isinstance(action, SendAlbum):
                buttons = [b.data for row in action.buttons for b in row if b.data]
            message_id = action.message_id if isinstance(action, Edit) else str(next(self.ids))
            chat.messages.pop(message_id, None)  # the most recently changed message last: the current screen
            chat.messages[message_id] = (text, buttons)
            chat.texts.append(text)
            seen += [(message_id, data) for data in buttons]


class Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


# -- prepared worlds: lab A (our contact's) at several points of its journey, lab B submitted --------------
SNAPSHOTS = ("start", "plan", "documents", "ready", "submitted")


@dataclass
class Snapshot:
    db: Path
    buttons: dict[str, list[tuple[str, str]]]  # chat -> (message id, data) of what was shown there


def _shown(transcript: Transcript) -> dict[str, list[tuple[str, str]]]:
    return {
        chat: [(m.message_id, b.data) for m in messages for row in m.buttons for b in row if b.data]
        for chat, messages in transcript.chats.items()
    }


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Snapshot]]:
    """Lab B submitted (its alert in the reviewers' chat), and contact A's journey saved at each stage, so
    a random sequence can start deep in the journey instead of spending its events getting there."""
    root = tmp_path_factory.mktemp("fuzz-template")
    snapshots: dict[str, Snapshot] = {}

    async def build() -> None:
        app = await build_app(_settings(root, root / "work.sqlite3"), clock=FixedClock(DEMO_NOW))
        transcript = Transcript(app.core)
        app.services.fetch_file = transcript.fetch
        files = images()

        async def snap(name: str) -> None:
            path = root / f"{name}.sqlite3"
            async with app.db.engine.connect() as conn:  # a consistent copy (VACUUM cannot run in a transaction)
                raw = await conn.get_raw_connection()
                await raw.driver_connection.execute(f"VACUUM INTO '{path}'")  # type: ignore[union-attr]
            snapshots[name] = Snapshot(path, _shown(transcript))

        async def walk(person: Person, lab: str, until: str | None = None, after: str | None = None) -> None:
            acts = journey(lab, "", files)[1:]  # bound already: no binding code
            if person is other:  # a mobile on file: the mailing step does not ask for one
                acts = [replace(a, expect="邮政编码") if a.expect == "收件人电话" else a for a in acts]
                acts = [a for a in acts if a.arg != MOBILE_TYPED]
            names = [a.arg for a in acts]
            acts = acts[names.index(after) + 1 if after else 0 : names.index(until) + 1 if until else None]
            for act in acts:
                if act.kind == "send":
                    await person.send(act.arg)
                elif act.kind == "press":
                    await person.press(act.arg)
                else:
                    await person.send_file(act.data, name=act.arg or "licence.jpg", kind=act.kind)
                shown = person.last.text + " ".join(person.last.labels)
                assert act.expect in shown or any(act.expect in m.text for m in person.messages[-3:]), (act, shown)

        try:
            lab_a = await make_lab(app, code=LAB_A["code"], name=LAB_A["name"], credit_code=LAB_A["credit_code"])
            lab_b = await make_lab(app, code=LAB_B["code"], name=LAB_B["name"], credit_code=LAB_B["credit_code"])
            contact = Person(transcript, CONTACT)
            await bind(app, contact, lab_a, mobile=None)  # type: ignore[arg-type] - none on file: asked for
            other = Person(transcript, "contact-b", name="赵检验")
            await bind(app, other, lab_b, mobile=LAB_B["mobile"])
            await other.send("/start")
            await walk(other, LAB_B["code"])
            await contact.send("/start")
            await snap("start")
            await walk(contact, LAB_A["code"], until="确认提交")
            await snap("plan")
            await walk(contact, LAB_A["code"], after="确认提交", until="确认申购")
            await snap("documents")
            await walk(contact, LAB_A["code"], after="确认申购", until="没有变化")
            await snap("ready")
            await walk(contact, LAB_A["code"], after="没有变化")
            await snap("submitted")
        finally:
            await app.close()

    asyncio.run(build())
    return root, snapshots


def _settings(root: Path, db: Path) -> Settings:
    return Settings(
        EQA_DATABASE_URL=f"sqlite+aiosqlite:///{db}",
        EQA_DATA_DIR=str(root / "data"),
        EQA_ADMIN_IDS=ADMIN,
        EQA_REVIEW_CHAT_ID=REVIEW_CHAT,
        _env_file=None,
    )


# -- events --------------------------------------------------------------------------------------------------
def _event(world: World, actor: str, kind: str, **kw: Any) -> Inbound:
    user, chat, chat_type = ACTORS[actor]
    return Inbound(
        platform="test",
        update_id=str(next(world.ids)),
        chat_id=chat,
        user_id=user,
        kind=kind,  # type: ignore[arg-type]
        language=kw.pop("language", "zh-hans"),
        user_name=actor,
        chat_type=chat_type,
        **kw,
    )


def _last_message(world: World, chat: str) -> str:
    messages = world.chats.get(chat, Chat()).messages
    return next(reversed(messages), "1")


def draw_event(data: st.DataObject, world: World) -> Inbound | str:
    actor = data.draw(st.sampled_from([CONTACT, CONTACT, CONTACT, ADMIN, ADMIN, STRANGER, INTRUDER]), "actor")
    chat = ACTORS[actor][1]
    kind = data.draw(
        st.sampled_from(["button"] * 6 + ["text"] * 3 + ["command"] * 2 + ["file", "forged", "garbage", "special"]),
        "kind",
    )
    if kind == "button":
        shown = world.seen_buttons.get(chat, [])
        screens = [(m, b) for m, (_, b) in world.chats.get(chat, Chat()).messages.items() if b]
        if shown:
            # Mostly what the current screen offers (the person going on); sometimes anything shown before.
            current = [(screens[-1][0], d) for d in screens[-1][1]] if screens else shown
            pool = current if data.draw(st.integers(0, 9), "fresh") < 7 else shown
            message_id, button = data.draw(st.sampled_from(pool), "shown")
            return _event(world, actor, "button", button=button, message_id=message_id, callback_id="cb")
        kind = "command"
    if kind == "forged":
        # Reviewer/admin data seen anywhere (the reviewers' chat included) pressed from any chat.
        every = [d for seen in world.seen_buttons.values() for _, d in seen]
        forged = [d for d in every if d.split(":")[1:2] and d.split(":")[1] in STAFF_ONLY_ACTIONS]
        made = ["g:rv:queue", "g:rv:stats", "g:rv:bulk", "g:adm:export", "g:rv:o.e.1", "g:rv:lab.2", "g:rv:docs.1"]
        button = data.draw(st.sampled_from(forged + made), "forged")
        return _event(world, actor, "button", button=button, message_id=_last_message(world, chat), callback_id="cb")
    if kind == "garbage":
        button = data.draw(st.sampled_from(GARBAGE_BUTTONS) | st.text(max_size=30), "garbage")
        return _event(world, actor, "button", button=button, message_id=_last_message(world, chat), callback_id="cb")
    if kind == "text":
        text = data.draw(st.sampled_from(TEXTS) | st.text(max_size=60), "text")
        return _event(world, actor, "text", text=text)
    if kind == "command":
        name = data.draw(st.sampled_from(sorted(COMMANDS)) | st.sampled_from(["nope", "START", "x" * 40, ""]), "cmd")
        args = data.draw(st.sampled_from(COMMAND_ARGS) | st.text(max_size=20), "args")
        return _event(world, actor, "command", text=f"/{name} {args}".strip(), command=name.lower(), args=args)
    if kind == "file":
        blob = data.draw(
            st.sampled_from([JPEG, SMALL_JPEG, PNG, PDF, b"", b"GIF89a" + b"\0" * 50]) | st.binary(max_size=512), "file"
        )
        file_id = f"f{next(world.ids)}"
        world.files[file_id] = blob
        size = data.draw(st.sampled_from([len(blob), len(blob), 30 * 1024 * 1024]), "size")
        ref = FileRef(file_id, size=size, mime=data.draw(st.sampled_from(["image/jpeg", "application/pdf", None])))
        group = data.draw(st.sampled_from([None, None, None, "album-1", "album-2"]), "group")
        return _event(world, actor, data.draw(st.sampled_from(["photo", "document"])), file=ref, media_group_id=group)
    return data.draw(st.sampled_from(["flush-albums", "past-deadline", "next-day", "duplicate"]), "special")


# -- the invariants ------------------------------------------------------------------------------------------
APOLOGIES = {catalog().t(lang, "error-internal") for lang in ("zh", "en")}


def check_messages(world: World) -> None:
    for chat_id, chat in world.chats.items():
        assert not [t for t in chat.texts if t in APOLOGIES], f"a handler crashed (apology in {chat_id})"
    for chat_id in NON_STAFF_CHATS:
        chat = world.chats.get(chat_id, Chat())
        for text, buttons in chat.messages.values():
            staff = [b for b in buttons if b.startswith("g:") and b.split(":")[1] in STAFF_ONLY_ACTIONS]
            assert not staff, f"reviewer buttons {staff} reached {chat_id}: {text[:200]!r}"
        everything = "\n".join(chat.texts)
        secrets = [LAB_B["code"], LAB_B["name"], LAB_B["credit_code"], LAB_B["mobile"]]
        if chat_id == STRANGER:
            secrets += list(LAB_A.values())
        leaked = [s for s in secrets if s in everything]
        assert not leaked, f"{leaked} reached {chat_id}"
        assert not set(chat.files) & world.lab_b_keys, f"lab B's documents reached {chat_id}"


async def check_state(world: World) -> None:
    campaign = world.app.campaign
    tests = campaign.test_index
    specialties = campaign.specialty_by_code
    async with world.app.db.reading() as s:
        for row in await s.scalars(select(ConversationState)):
            where = f"state of {row.user_id} in {row.chat_id}: {row.flow}/{row.step}"
            if row.flow is not None:
                hyp_event(f"{row.user_id} reached {row.flow}/{row.step}")  # --hypothesis-show-statistics
                flow = flows.REGISTRY.get(row.flow)
                assert flow is not None, where
                assert row.step is None or row.step in flow.steps, where
                if row.user_id in (CONTACT, STRANGER, INTRUDER):
                    assert row.flow not in STAFF_FLOWS, where
            else:
                assert row.step is None or row.step in {"", None}, where
            assert isinstance(row.data, dict) and isinstance(row.nonce, int) and row.nonce >= 1, where
        for enr in await s.scalars(select(Enrollment)):
            where = f"enrollment {enr.id}"
            assert enr.status in ENROLLMENT_STATUSES, where
            assert isinstance(enr.revision, int) and enr.revision >= 0, where
            assert all(isinstance(t, str) and t in tests for t in enr.last_year_tests), where
            assert all(t in tests for t in enr.checklist_draft or []), where
            assert len(set(enr.specialties)) == len(enr.specialties), where
            assert set(enr.specialties) <= specialties.keys() and set(enr.mandatory_declined) <= specialties.keys()
            for part in (enr.lab_info, enr.invoice, enr.mailing):
                assert isinstance(part, dict) and all(isinstance(v, str | None) for v in part.values()), where
            assert set(enr.returned_items or []) <= RETURN_ITEMS, where
            if enr.status in ("submitted", "approved"):
                assert enr.revision >= 1 and enr.submitted_at is not None, where
        for doc in await s.scalars(select(Document)):
            assert doc.status in DOCUMENT_STATUSES and doc.kind in ("agreement", "licence"), doc.id
        for review in await s.scalars(select(Review)):
            assert review.decision in ("approved", "returned", "rejected"), review.id
        for application in await s.scalars(select(Application)):
            assert application.status in ("draft", "pending", "approved", "rejected"), application.id
        # Nobody became staff or joined a lab by fuzzing.
        assert list(await s.scalars(select(Staff))) == []
        intruders = await s.scalars(select(Contact).where(Contact.user_id.in_([STRANGER, INTRUDER, ADMIN])))
        assert list(intruders) == []


# -- the property --------------------------------------------------------------------------------------------
@pytest.mark.timeout(300)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # no "explain": minutes on a failure
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_random_event_sequences_keep_the_core_sound(
    template: tuple[Path, dict[str, Snapshot]], data: st.DataObject, tmp_path: Path
) -> None:
    root, snapshots = template
    snapshot = snapshots[data.draw(st.sampled_from(SNAPSHOTS), "snapshot")]
    db = tmp_path / f"fuzz-{os.urandom(4).hex()}.sqlite3"
    shutil.copyfile(snapshot.db, db)
    errors = Errors()
    logging.getLogger().addHandler(errors)
    try:
        asyncio.run(_run(data, root, snapshot, db, errors))
    finally:
        logging.getLogger().removeHandler(errors)
        db.unlink(missing_ok=True)


async def _run(data: st.DataObject, root: Path, snapshot: Snapshot, db: Path, errors: Errors) -> None:
    clock = FixedClock(DEMO_NOW)
    app = await build_app(_settings(root, db), clock=clock, migrate=False)
    world = World(app, clock)
    world.seen_buttons = {chat: list(shown) for chat, shown in snapshot.buttons.items()}
    for chat, shown in snapshot.buttons.items():
        for message_id, data_ in shown:
            world.chats.setdefault(chat, Chat()).messages.setdefault(message_id, ("", []))[1].append(data_)
    app.services.fetch_file = world.fetch
    try:
        async with app.db.reading() as s:
            lab_b = select(Lab.id).where(Lab.code == LAB_B["code"]).scalar_subquery()
            world.lab_b_keys = set(await s.scalars(select(Document.storage_key).where(Document.lab_id == lab_b)))
        assert world.lab_b_keys
        last: Inbound | None = None
        for _ in range(data.draw(st.integers(5, STEPS), "steps")):
            event = draw_event(data, world)
            if event == "flush-albums":
                for outcome in await app.core.flush_albums(force=True):
                    world.deliver(outcome.deliveries)
            elif event == "past-deadline":
                clock.set(datetime.fromisoformat("2025-02-26T00:00:01+08:00"))
            elif event == "next-day":
                clock.set(clock.now() + timedelta(days=1))
            elif event == "duplicate":
                if last is not None:
                    outcome = await app.core.handle(last)
                    assert outcome.duplicate and not outcome.deliveries
            else:
                assert isinstance(event, Inbound)
                outcome = await app.core.handle(event)
                assert all(isinstance(t, Toast) for t in outcome.toasts)
                world.deliver(outcome.deliveries)
                await app.core.mark_sent([i for i, _ in outcome.deliveries])
                last = event
            check_messages(world)
            await check_state(world)
            assert not errors.records, [r.getMessage() for r in errors.records]
    finally:
        await app.close()
