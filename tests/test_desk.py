"""The web desk over HTTP (no browser): signing in, sessions and CSRF, roles on every page, documents only to
staff and audited, and decisions that are the chat desk's own (same rows, same audit, same push to the lab)."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pyotp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from bot.app import App
from bot.desk.security import hash_password
from bot.desk.server import make_desk
from conversations.events import from_payload
from storage.models import AuditLog, Broadcast, Contact, DeskAccount, Enrollment, Lab, OutboxMessage, Review
from tests.factories import make_lab
from tests.test_review_queue import submitted

PASSWORD = "correct horse battery"
SECRET = b"test-desk-secret"


@dataclass
class Desk:
    client: TestClient
    app: App

    async def login(self, name: str, password: str = PASSWORD, totp: str = "", next_: str = "/queue") -> int:
        page = await self.client.get("/login")
        token = csrf_of(await page.text())
        r = await self.client.post(
            "/login",
            data={"csrf": token, "name": name, "password": password, "totp": totp, "next": next_},
            allow_redirects=False,
        )
        return r.status

    async def page(self, path: str) -> tuple[int, str]:
        r = await self.client.get(path, allow_redirects=False)
        return r.status, await r.text()

    async def token(self, path: str = "/queue") -> str:
        return csrf_of((await self.page(path))[1])

    async def post(
        self, path: str, data: dict[str, object] | list[tuple[str, object]], *, csrf: bool = True
    ) -> tuple[int, str, str]:
        items = list(data.items()) if isinstance(data, dict) else list(data)
        if csrf:
            items.append(("csrf", await self.token()))
        r = await self.client.post(path, data=items, allow_redirects=False)
        return r.status, r.headers.get("Location", ""), await r.text()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


async def account(
    app: App, name: str, role: str, *, link: tuple[str, str] | None = None, totp: str | None = None
) -> None:
    async with app.db.transaction() as s:
        s.add(
            DeskAccount(
                name=name,
                role=role,
                password_hash=hash_password(PASSWORD),
                platform=link[0] if link else None,
                user_id=link[1] if link else None,
                totp_secret=totp,
                session_epoch=1,
            )
        )


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 at its lightest in tests (production keeps the library's defaults): the same code, less waiting."""
    from argon2 import PasswordHasher

    from bot.desk import security

    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
async def desk(app: App) -> AsyncIterator[Desk]:
    web_app = make_desk(app, secret=SECRET, review_platform="test")
    client = TestClient(TestServer(web_app))
    await client.start_server()
    await account(app, "rev", "reviewer")
    await account(app, "boss", "admin", link=("test", "admin-1"))
    yield Desk(client, app)
    await client.close()


async def lab_with_submission(app: App, code: str = "HN0001", hours: int = 1, **fields: object) -> tuple[int, int]:
    lab_id = await make_lab(app, code=code, **fields)
    async with app.db.transaction() as s:
        s.add(
            Contact(
                lab_id=lab_id,
                platform="test",
                user_id=f"c-{code}",
                chat_id=f"c-{code}",
                name="王检验",
                mobile="13800138000",
            )
        )
    return lab_id, await submitted(app, lab_id, hours=hours)


async def pushes(app: App, chat_id: str) -> list[str]:
    async with app.db.reading() as s:
        rows = await s.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == chat_id).order_by(OutboxMessage.id))
        return [from_payload(r.payload).text for r in rows]  # type: ignore[union-attr]


# -- signing in -----------------------------------------------------------------------------------------------
async def test_a_page_without_a_session_goes_to_the_login_and_back_after_it(desk: Desk) -> None:
    status, _ = await desk.page("/dashboard")
    assert status == 303
    r = await desk.client.get("/dashboard", allow_redirects=False)
    assert r.headers["Location"] == "/login?next=/dashboard"
    assert await desk.login("rev", next_="/dashboard") == 303
    status, html = await desk.page("/dashboard")
    assert status == 200 and "chart-registrations" in html


async def test_the_session_cookie_is_httponly_strict_and_signed(desk: Desk) -> None:
    page = await desk.client.get("/login")
    token = csrf_of(await page.text())
    r = await desk.client.post(
        "/login", data={"csrf": token, "name": "rev", "password": PASSWORD, "next": "/queue"}, allow_redirects=False
    )
    cookie = r.cookies["eqa_desk"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"]
    # A forged cookie (another account id, the signature kept) is no session.
    value = cookie.value
    body, mac = value.rsplit(".", 1)
    jar = desk.client.session.cookie_jar
    jar.clear()
    jar.update_cookies({"eqa_desk": body[:-2] + "xx." + mac})
    assert (await desk.page("/queue"))[0] == 303


async def test_secure_cookies_behind_https(app: App) -> None:
    client = TestClient(TestServer(make_desk(app, secret=SECRET, public_url="https://desk.example.org")))
    await client.start_server()
    try:
        await account(app, "rev", "reviewer")
        page = await client.get("/login")
        assert page.cookies["eqa_desk_pre"]["secure"]
    finally:
        await client.close()


async def test_five_failures_lock_the_account_for_15_minutes(desk: Desk, app: App) -> None:
    for _ in range(5):
        assert await desk.login("rev", "wrong password!") == 401
    # Even the right password is refused while locked.
    assert await desk.login("rev") == 401
    r = await desk.client.get("/login")
    async with app.db.transaction() as s:
        acc = await s.scalar(select(DeskAccount).where(DeskAccount.name == "rev"))
        assert acc is not None and acc.locked_until is not None
        assert timedelta(minutes=14) < acc.locked_until - acc.created_at < timedelta(minutes=16)
        acc.locked_until = acc.created_at - timedelta(seconds=1)  # the 15 minutes have passed
    assert r.status == 200
    assert await desk.login("rev") == 303


async def test_totp_for_an_admin(desk: Desk, app: App) -> None:
    secret = pyotp.random_base32()
    await account(app, "chief", "admin", totp=secret)
    assert await desk.login("chief") == 401
    assert await desk.login("chief", totp=pyotp.TOTP(secret).now()) == 303


async def test_a_disabled_account_or_a_new_password_ends_its_sessions(desk: Desk, app: App) -> None:
    assert await desk.login("rev") == 303
    assert (await desk.page("/queue"))[0] == 200
    async with app.db.transaction() as s:
        acc = await s.scalar(select(DeskAccount).where(DeskAccount.name == "rev"))
        assert acc is not None
        acc.session_epoch += 1  # what `staff passwd` and `staff disable` do
    assert (await desk.page("/queue"))[0] == 303


async def test_a_linked_account_revoked_in_chat_is_out_of_the_desk(desk: Desk, app: App) -> None:
    from storage.models import Staff

    await account(app, "linked", "reviewer", link=("test", "rev-7"))
    async with app.db.transaction() as s:
        s.add(Staff(platform="test", user_id="rev-7", role="reviewer", name="linked"))
    assert await desk.login("linked") == 303
    assert (await desk.page("/queue"))[0] == 200
    async with app.db.transaction() as s:
        staff = await s.scalar(select(Staff).where(Staff.user_id == "rev-7"))
        assert staff is not None
        staff.active = False  # what /revoke does
    assert (await desk.page("/queue"))[0] == 303


async def test_a_post_without_csrf_is_403_and_changes_nothing(desk: Desk, app: App) -> None:
    lab_id, enr_id = await lab_with_submission(app)
    assert await desk.login("rev") == 303
    status, _, body = await desk.post(f"/labs/{lab_id}/approve", {"enrollment": enr_id, "revision": 1}, csrf=False)
    assert status == 403 and "CSRF" in body
    status, _, _ = await desk.post(
        f"/labs/{lab_id}/approve", {"enrollment": enr_id, "revision": 1, "csrf": "forged"}, csrf=False
    )
    assert status == 403
    async with app.db.reading() as s:
        assert (await s.get(Enrollment, enr_id)).status == "submitted"  # type: ignore[union-attr]


async def test_a_reviewer_cannot_open_admin_pages(desk: Desk) -> None:
    assert await desk.login("rev") == 303
    for path in ("/admin", "/admin/import", "/admin/broadcast"):
        status, html = await desk.page(path)
        assert status == 403 and 'id="refused"' in html, path
    status, _, _ = await desk.post("/admin/export", {})
    assert status == 403
    assert "nav-admin" not in (await desk.page("/queue"))[1]


async def test_security_headers_on_every_page(desk: Desk) -> None:
    r = await desk.client.get("/login")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe" not in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["X-Frame-Options"] == "DENY"
    html = await r.text()
    assert "<script>" not in html and "style=" not in html  # nothing inline: the CSP would block it


# -- the queue ------------------------------------------------------------------------------------------------
async def test_the_queue_filters_searches_by_post_and_counts(desk: Desk, app: App) -> None:
    await lab_with_submission(app, "HN0001", hours=5)
    await lab_with_submission(
        app, "HN0002", hours=1, name="洛阳市中心医院", city="洛阳市", credit_code="12410300MB0000000X"
    )
    await make_lab(app, code="HN0003", name="开封市人民医院", city="开封市")
    assert await desk.login("rev") == 303
    status, html = await desk.page("/queue?status=submitted")
    assert status == 200
    assert re.search(r'id="count-submitted">[^<]*<b>2</b>', html) and re.search(r'id="count-none">[^<]*<b>1</b>', html)
    # Oldest submission first.
    assert html.index("HN0002") < html.index("HN0001") and "HN0003" not in html
    status, _, html = await desk.post("/queue", {"q": "12410300MB0000000X"})
    assert status == 200 and "洛阳市中心医院" in html and "HN0001" not in html
    status, _, html = await desk.post("/queue", {"q": "开封"})
    assert "HN0003" in html and "HN0002" not in html
    status, html = await desk.page("/queue?city=洛阳市")
    assert "HN0002" in html and "HN0001" not in html
    r = await desk.client.get("/next", allow_redirects=False)
    lab2 = await lab_id_of(app, "HN0002")
    assert r.headers["Location"] == f"/labs/{lab2}"


async def lab_id_of(app: App, code: str) -> int:
    async with app.db.reading() as s:
        return int(await s.scalar(select(Lab.id).where(Lab.code == code)))  # type: ignore[arg-type]


# -- decisions ------------------------------------------------------------------------------------------------
async def test_approval_on_the_desk_is_the_chat_desk_s_decision(desk: Desk, app: App) -> None:
    """The admin's desk account is linked to their chat identity: the review, the audit entry and the lab's
    push are what the chat desk writes (see test_review_desk's approval test)."""
    lab_id, enr_id = await lab_with_submission(app)
    assert await desk.login("boss") == 303
    status, where, _ = await desk.post(f"/labs/{lab_id}/approve", {"enrollment": enr_id, "revision": 1})
    assert status == 303 and where == f"/labs/{lab_id}?msg=approved"
    async with app.db.reading() as s:
        enr = await s.get(Enrollment, enr_id)
        [review] = list(await s.scalars(select(Review)))
        audit = await s.scalar(select(AuditLog).where(AuditLog.action == "review_approved"))
    assert enr is not None and enr.status == "approved"
    assert (review.decision, review.revision, review.reviewer) == ("approved", 1, "test:admin-1")
    assert audit is not None and audit.actor == "test:admin-1"
    assert audit.before == {"status": "submitted", "revision": 1, "returned_items": []}
    [text] = await pushes(app, "c-HN0001")
    assert "审核通过" in text and "先参评、后付费" in text
    [note] = await pushes(app, "review-chat")
    assert "boss" in note
    # The same form sent again (a double click, a second tab) changes nothing.
    status, where, _ = await desk.post(f"/labs/{lab_id}/approve", {"enrollment": enr_id, "revision": 1})
    assert where.endswith("msg=taken")
    async with app.db.reading() as s:
        assert len(list(await s.scalars(select(Review)))) == 1
    assert len(await pushes(app, "c-HN0001")) == 1
    status, html = await desk.page(where)
    assert "先做出的审核结论有效" in html


async def test_return_with_two_reasons_and_a_note(desk: Desk, app: App) -> None:
    lab_id, enr_id = await lab_with_submission(app)
    assert await desk.login("rev") == 303
    # No reason: refused beside the form.
    status, _, html = await desk.post(
        f"/labs/{lab_id}/return", [("enrollment", enr_id), ("revision", 1), ("item", "mailing")]
    )
    assert status == 422 and 'id="reason-error"' in html
    assert re.search(r'value="mailing" checked', html)  # what was ticked is kept
    form = [
        ("enrollment", enr_id),
        ("revision", 1),
        ("reason", "no_seal"),
        ("reason", "licence_expired"),
        ("reason", "not-a-reason"),
        ("note", "请用原件拍照"),
        ("item", "mailing"),
    ]
    status, where, _ = await desk.post(f"/labs/{lab_id}/return", form)
    assert where.endswith("msg=returned")
    async with app.db.reading() as s:
        enr = await s.get(Enrollment, enr_id)
        [review] = list(await s.scalars(select(Review)))
    assert enr is not None and enr.status == "returned"
    assert enr.returned_items == ["mailing", "agreement", "licence"]
    assert review.reasons == ["no_seal", "licence_expired", "other"] and review.note == "请用原件拍照"
    assert review.reviewer == "desk:rev"
    [text] = await pushes(app, "c-HN0001")
    assert "缓交协议需要加盖单位公章" in text and "执业许可证已过期" in text and "其他：请用原件拍照" in text
    # The lab corrects its invoice title: the desk marks what changed since the decision.
    async with app.db.transaction() as s:
        s.add(
            AuditLog(
                actor="test:c-HN0001",
                action="plan_changed",
                entity="enrollment",
                entity_id=str(enr_id),
                lab_id=lab_id,
                before={"title": "某医院"},
                after={"title": "郑州市第一人民医院"},
            )
        )
    _, html = await desk.page(f"/labs/{lab_id}")
    assert 'id="changed-note"' in html


async def test_bulk_approval_lists_then_approves(desk: Desk, app: App) -> None:
    a, _ = await lab_with_submission(app, "HN0001", hours=1)
    b, _ = await lab_with_submission(app, "HN0002", hours=2, name="洛阳市中心医院")
    assert await desk.login("rev") == 303
    status, _, html = await desk.post("/bulk", [("lab", a), ("lab", b)])
    assert status == 200 and "HN0001" in html and "HN0002" in html and "确认通过 2 家" in html
    sel = re.findall(r'name="sel" value="([^"]+)"', html)
    status, _, html = await desk.post("/bulk/approve", [("sel", v) for v in sel])
    assert "已通过 2 家，跳过 0 家" in html
    status, _, html = await desk.post("/bulk/approve", [("sel", v) for v in sel])
    assert "已通过 0 家，跳过 2 家" in html


async def test_a_new_lab_application_approved_on_the_desk(desk: Desk, app: App) -> None:
    from storage.models import Application

    async with app.db.transaction() as s:
        row = Application(
            platform="test",
            user_id="applicant-1",
            chat_id="applicant-1",
            year=2025,
            status="pending",
            data={
                "name": "新乡市新区医院",
                "institution_type": "general_hospital",
                "level": "L2",
                "city": "新乡市",
                "contact_name": "孙老师",
                "mobile": "13900000002",
            },
        )
        s.add(row)
        await s.flush()
        app_id = row.id
    assert await desk.login("rev") == 303
    _, html = await desk.page("/applications")
    assert "新乡市新区医院" in html
    _, html = await desk.page(f"/applications/{app_id}")
    assert 'id="app-card"' in html and "孙老师" in html
    status, where, _ = await desk.post(f"/applications/{app_id}/approve", {"revision": 1})
    assert status == 303 and where.endswith("msg=app-approved")
    async with app.db.reading() as s:
        lab = await s.scalar(select(Lab).where(Lab.name == "新乡市新区医院"))
    assert lab is not None and where.startswith(f"/labs/{lab.id}")
    [text] = await pushes(app, "applicant-1")
    assert lab.code in text
    status, where, _ = await desk.post(f"/applications/{app_id}/approve", {"revision": 1})
    assert where.endswith("msg=taken")


# -- documents ------------------------------------------------------------------------------------------------
async def test_documents_only_to_staff_inline_and_each_view_audited(desk: Desk, app: App) -> None:
    lab_id, _ = await lab_with_submission(app)
    status, html = await desk.page(f"/labs/{lab_id}")
    assert status == 303
    doc_ids = [int(x) for x in re.findall(r"/docs/(\d+)/view", html)] or [1, 2]
    r = await desk.client.get(f"/docs/{doc_ids[0]}/view", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"].startswith("/login")
    assert await desk.login("rev") == 303
    _, html = await desk.page(f"/labs/{lab_id}")
    doc_ids = [int(x) for x in re.findall(r"/docs/(\d+)/view", html)]
    assert len(doc_ids) == 2
    r = await desk.client.get(f"/docs/{doc_ids[0]}/view")
    assert r.status == 200 and r.content_type == "image/jpeg"
    assert r.headers["Content-Disposition"].startswith("inline;")
    assert r.headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in r.headers["Content-Security-Policy"]
    r = await desk.client.get(f"/docs/{doc_ids[1]}/file")
    assert r.headers["Content-Disposition"].startswith("attachment;")
    async with app.db.reading() as s:
        views = list(await s.scalars(select(AuditLog).where(AuditLog.action == "document_viewed")))
    assert [(v.actor, v.entity_id, v.after["how"]) for v in views] == [  # type: ignore[index]
        ("desk:rev", str(doc_ids[0]), "view"),
        ("desk:rev", str(doc_ids[1]), "download"),
    ]


async def test_a_pdf_is_shown_as_page_images(desk: Desk, app: App) -> None:
    from bot.desk.demo import pdf_scan

    lab_id, enr_id = await lab_with_submission(app)
    data = pdf_scan("许可证")
    async with app.db.transaction() as s:
        from storage.models import Document

        key = app.services.store.put(data)
        doc = Document(
            lab_id=lab_id,
            enrollment_id=enr_id,
            kind="licence",
            sha256=key,
            size=len(data),
            mime="application/pdf",
            storage_key=key,
            precheck={"pages": 2},
        )
        s.add(doc)
        await s.flush()
        doc_id = doc.id
    assert await desk.login("rev") == 303
    _, html = await desk.page(f"/labs/{lab_id}")
    assert f"/docs/{doc_id}/page/2" in html
    r = await desk.client.get(f"/docs/{doc_id}/page/2")
    assert r.status == 200 and r.content_type == "image/png" and (await r.read()).startswith(b"\x89PNG")
    assert (await desk.client.get(f"/docs/{doc_id}/page/3")).status == 404


# -- admin ----------------------------------------------------------------------------------------------------
async def test_export_import_codes_and_a_broadcast(desk: Desk, app: App) -> None:
    await lab_with_submission(app)
    assert await desk.login("boss") == 303
    r = await desk.client.post("/admin/export", data={"csrf": await desk.token("/admin")})
    assert r.status == 200 and "attachment" in r.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(await r.read()), read_only=True)
    assert any("HN0001" in str(row) for row in wb.active.iter_rows(values_only=True))
    # Roster import: one good row, one with a bad mobile.
    book = Workbook()
    ws = book.active
    ws.append(["实验室编码", "单位名称", "机构类型", "等级", "地市", "联系人", "手机"])
    ws.append(["HN0100", "南阳市第一人民医院", "综合医院", "三级", "南阳市", "赵老师", "13900000001"])
    ws.append(["HN0101", "信阳市中心医院", "综合医院", "三级", "信阳市", "钱老师", "123"])
    out = io.BytesIO()
    book.save(out)
    from aiohttp import FormData

    form = FormData()
    form.add_field("csrf", await desk.token("/admin/import"))
    form.add_field("roster", out.getvalue(), filename="名单.xlsx")
    r = await desk.client.post("/admin/import", data=form)
    html = await r.text()
    assert r.status == 200 and 'id="import-report"' in html
    assert "roster-problems.xlsx" in html and "binding-codes" in html
    assert await lab_id_of(app, "HN0100")
    # The codes sheet as PDF, for the labs still without a code.
    status, _, html = await desk.post("/admin/codes", {})
    assert status == 200
    # Broadcast: preview with the count, send, then stop.
    status, _, html = await desk.post("/admin/broadcast", {"text": "请尽快完成申报", "audience": "all"})
    assert 'id="bc-count"' in html and "请尽快完成申报" in html
    status, where, _ = await desk.post("/admin/broadcast", {"text": "请尽快完成申报", "audience": "all", "send": "1"})
    assert status == 303 and where.startswith("/admin/broadcast/")
    status, html = await desk.page(where)
    assert 'id="bc-stop"' in html and "发送中" in html
    status, where2, _ = await desk.post(where + "/stop", {})
    status, html = await desk.page(where2)
    assert "已停止" in html
    async with app.db.reading() as s:
        bc = await s.scalar(select(Broadcast))
    assert bc is not None and bc.status == "cancelled" and bc.created_by == "test:admin-1"


async def test_english_from_the_same_catalogues(desk: Desk) -> None:
    await desk.client.get("/lang/en", allow_redirects=False)
    _, html = await desk.page("/login")
    assert "Sign in to the desk" in html
    assert await desk.login("rev") == 303
    assert "Awaiting review" in (await desk.page("/queue"))[1]


# -- the command line -------------------------------------------------------------------------------------------
def test_staff_add_passwd_disable(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from bot.cli import main

    monkeypatch.setenv("EQA_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/cli.sqlite3")
    monkeypatch.setenv("EQA_DATA_DIR", f"{tmp_path}/data")
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main(["staff", "add", "李审核", "--role", "reviewer"]) == 1  # too short: refused
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["staff", "add", "李审核", "--role", "reviewer", "--link", "telegram:42"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("another long secret\n"))
    assert main(["staff", "passwd", "李审核"]) == 0
    assert main(["staff", "disable", "李审核"]) == 0
    capsys.readouterr()
    assert main(["staff", "list"]) == 0
    assert capsys.readouterr().out.strip() == "李审核\treviewer\tdisabled\ttelegram:42"


def test_the_demo_desk_starts_with_printed_passwords(tmp_path: object) -> None:
    """`eqa-bot desk --demo` on a fresh directory: a working desk and the passwords on screen."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("EQA_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "desk", "--demo", "--port", str(port)],
        cwd=str(tmp_path),
        env=env | {"PYTHONPATH": os.getcwd()},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(line.strip().startswith("admin:") for line in lines):
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if not line:
                break
            lines.append(line)
        assert any("reviewer: reviewer / " in line for line in lines), lines
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=10) as r:
            assert r.status == 200 and "工作台登录" in r.read().decode()
    finally:
        proc.terminate()
        proc.wait(10)


async def test_the_lab_page_lists_the_tests_typed_outside_the_list(desk: Desk, app: App) -> None:
    lab_id, enr_id = await lab_with_submission(app)
    async with app.db.transaction() as s:
        enr = await s.get(Enrollment, enr_id)
        assert enr is not None
        enr.extra_tests = ["降钙素原", "白细胞介素-6"]
    assert await desk.login("rev") == 303
    _, html = await desk.page(f"/labs/{lab_id}")
    assert "<b>列表外项目</b>：降钙素原、白细胞介素-6" in html


async def test_the_lab_page_shows_what_was_read_and_last_year_s_licence_beside_this_year_s(
    desk: Desk, app: App
) -> None:
    from storage.models import Document

    lab_id, _ = await lab_with_submission(app)
    async with app.db.transaction() as s:
        licence = await s.scalar(select(Document).where(Document.kind == "licence"))
        assert licence is not None
        licence.reading = {
            "kind": "licence",
            "status": "read",
            "licence": {
                "text_found": True,
                "name": {"value": "郑州市第一人民医院", "confidence": 0.93},
                "valid_from": {"value": "2020-03-02", "confidence": 0.9},
                "valid_to": {"value": "2025-03-01", "confidence": 0.9},
            },
            "findings": [{"code": "read-licence-expired", "severity": "warn", "args": {}}],
        }
        old = Enrollment(lab_id=lab_id, year=2024, status="approved", revision=1)
        s.add(old)
        await s.flush()
        s.add(
            Document(
                lab_id=lab_id, enrollment_id=old.id, kind="licence", sha256="e" * 64, size=3, mime="image/jpeg",
                storage_key=app.services.store.put(b"old"), precheck={"advice": []},
            )
        )  # fmt: skip
    assert await desk.login("rev") == 303
    _, html = await desk.page(f"/labs/{lab_id}")
    assert html[html.index('id="licences"') :].count('<figure class="doc') == 2  # side by side, in one row
    assert "往年提交" in html[html.index('id="licences"') :]
    reading = html[html.index(f'id="reading-{licence.id}"') :]
    assert "许可证识别（1）：" in reading and "⚠️ 有效期：2020-03-02 至 2025-03-01（90%）" in reading
    assert "✅ 名称：郑州市第一人民医院（93%）" in reading
