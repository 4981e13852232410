"""The web desk in a real browser: Debian's Chromium driven by Selenium (chromedriver), one browser for the
module. The desk, the fake Bot API and the outbox worker run on one event loop in a background thread, so a
decision taken in the browser is seen arriving in the lab's Telegram chat.

Screenshots of the main pages are written to docs/screenshots/ (EQA_SCREENSHOTS sets another folder)."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from bot.app import App, build_app
from bot.delivery import Gate
from bot.delivery.worker import OutboxWorker, WorkerConfig
from bot.desk.demo import seed_labs
from bot.desk.server import make_desk
from bot.settings import Settings
from conversations.clock import FixedClock
from storage.models import Contact, Enrollment, Lab
from tests.conftest import DEMO_NOW, require_tool
from tests.factories import make_lab
from tests.fake_telegram import FakeTelegram
from tests.test_desk import PASSWORD, account
from tests.test_review_queue import submitted

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
T = TypeVar("T")
LAB_CHAT = 7001
REVIEW_CHAT = -1007001
SHOTS = Path(os.environ.get("EQA_SCREENSHOTS") or Path(__file__).resolve().parent.parent / "docs" / "screenshots")
WAIT = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Loop:
    """An event loop in a thread; the synchronous tests hand it coroutines."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@dataclass
class Env:
    loop: Loop
    app: App
    tg: FakeTelegram
    transport: Any
    url: str
    driver: Any
    downloads: Path

    def deliver(self) -> None:
        """The outbox worker delivers what the desk queued, as in `eqa-bot run` (where it waits a few seconds for
        rows no transport claimed; here at once)."""
        gate = Gate(per_second=300, per_chat_per_second=100, window=0.1)
        config = WorkerConfig(leftover_after=timedelta(0))
        self.loop.run(OutboxWorker(self.app.db, self.transport, gate, config=config).drain())

    def outbox(self) -> list[tuple[str, str, str, str | None]]:
        from storage.models import OutboxMessage

        async def q() -> list[tuple[str, str, str, str | None]]:
            async with self.app.db.reading() as s:
                rows = await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
                return [(r.platform, r.chat_id, r.status, r.last_error) for r in rows]

        return self.loop.run(q())

    def lab_id(self, code: str) -> int:
        async def q() -> int:
            async with self.app.db.reading() as s:
                return int(await s.scalar(select(Lab.id).where(Lab.code == code)))  # type: ignore[arg-type]

        return self.loop.run(q())

    def status(self, code: str) -> str:
        async def q() -> str:
            async with self.app.db.reading() as s:
                lab_id = await s.scalar(select(Lab.id).where(Lab.code == code))
                return str(await s.scalar(select(Enrollment.status).where(Enrollment.lab_id == lab_id)))

        return self.loop.run(q())


def _driver(downloads: Path) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1366,768",
        f"--user-data-dir={tempfile.mkdtemp(prefix='eqa-chromium-')}",
    ):
        options.add_argument(arg)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.set_page_load_timeout(30)
    return driver


async def _setup(tmp: Path) -> tuple[App, FakeTelegram, Any, Any, str]:
    from aiohttp import web

    from bot.telegram.ptb_transport import PTBTransport

    settings = Settings(
        EQA_DATABASE_URL=f"sqlite+aiosqlite:///{tmp / 'desk.sqlite3'}",
        EQA_DATA_DIR=str(tmp / "data"),
        EQA_REVIEW_CHAT_ID=str(REVIEW_CHAT),
        _env_file=None,
    )
    app = await build_app(settings, clock=FixedClock(DEMO_NOW))
    await seed_labs(app, 18)
    # Two labs whose contacts are on Telegram: their decisions are followed to the chat.
    for code, chat, hours in (("HN0001", LAB_CHAT, 1), ("HN0002", LAB_CHAT + 1, 2)):
        lab_id = await make_lab(app, code=code, name=f"郑州市第{hours}人民医院检验科")
        async with app.db.transaction() as s:
            s.add(Contact(lab_id=lab_id, platform="telegram", user_id=str(chat), chat_id=str(chat), name="王检验"))
        await submitted(app, lab_id, hours=hours - 48)
    await account(app, "rev", "reviewer")
    await account(app, "boss", "admin")
    tg = await FakeTelegram(auto_create_chats=True).start()
    tg.group("审核群", chat_id=REVIEW_CHAT)
    transport = PTBTransport(tg.token, tg.root)
    await transport.start()
    runner = web.AppRunner(make_desk(app, secret=b"browser-test"), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return app, tg, transport, runner, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    require_tool("chromium")
    require_tool("chromedriver")
    pytest.importorskip("selenium")
    tmp = tmp_path_factory.mktemp("desk-browser")
    downloads = tmp / "downloads"
    downloads.mkdir()
    loop = Loop()
    app, tg, transport, runner, url = loop.run(_setup(tmp))
    driver = _driver(downloads)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield Env(loop, app, tg, transport, url, driver, downloads)
    finally:
        driver.quit()

        async def down() -> None:
            await runner.cleanup()
            await transport.close()
            await tg.aclose()
            await app.close()

        loop.run(down())
        loop.close()


# -- helpers ----------------------------------------------------------------------------------------------------
def by_id(env: Env, ident: str) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(env.driver, WAIT).until(ec.presence_of_element_located((By.ID, ident)))


def css(env: Env, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(env.driver.find_elements(By.CSS_SELECTOR, selector))


def until(predicate: Any, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def shot(env: Env, name: str) -> None:
    env.driver.save_screenshot(str(SHOTS / f"{name}.png"))


def sign_in(env: Env, name: str) -> None:
    env.driver.delete_all_cookies()
    env.driver.get(env.url + "/login")
    by_id(env, "name").send_keys(name)
    by_id(env, "password").send_keys(PASSWORD)
    by_id(env, "login").click()
    by_id(env, "counts")


def go(env: Env, path: str) -> None:
    env.driver.get(env.url + path)


# -- the tests (in order: one browser walks through the desk) ------------------------------------------------
def test_a_logged_out_document_request_goes_to_the_login_page(env: Env) -> None:
    go(env, "/docs/1/view")
    assert "/login?next=/docs/1/view" in env.driver.current_url
    assert by_id(env, "login")
    shot(env, "login")


def test_sign_in_and_filter_the_queue(env: Env) -> None:
    sign_in(env, "rev")
    shot(env, "queue")
    from selenium.webdriver.support.ui import Select

    Select(by_id(env, "f-status")).select_by_value("submitted")
    by_id(env, "apply").click()
    until(lambda: css(env, "#f-status option[value=submitted][selected]"))
    badges = [b.text for b in css(env, "#queue tbody .badge")]
    assert badges and set(badges) == {"待审核"}
    # Search by code, posted (never in the URL).
    by_id(env, "q").send_keys("HN0001")
    by_id(env, "apply").click()
    until(lambda: len(css(env, "#queue tbody tr")) == 1)
    assert "HN0001" in by_id(env, "queue").text and "HN0001" not in env.driver.current_url


def test_a_reviewer_cannot_open_admin_pages(env: Env) -> None:
    assert not css(env, "#nav-admin")
    go(env, "/admin")
    assert by_id(env, "refused")


def test_open_a_lab_and_zoom_a_photo(env: Env) -> None:
    go(env, f"/labs/{env.lab_id('HN0001')}")
    by_id(env, "lab-title")
    img = until(
        lambda: [
            i for i in css(env, "img.zoomable") if env.driver.execute_script("return arguments[0].naturalWidth", i)
        ]
    )[0]
    figure = img.find_element("xpath", "./ancestor::figure")
    figure.find_element("css selector", ".zoom-in").click()
    assert img.get_attribute("data-scale") == "1.5"
    assert "scale(1.5)" in img.get_attribute("style")
    figure.find_element("css selector", ".zoom-reset").click()
    assert img.get_attribute("data-scale") == "1"
    shot(env, "lab")


def test_return_with_two_reasons_reaches_the_lab_in_telegram(env: Env) -> None:
    by_id(env, "reason-no_seal").click()
    by_id(env, "reason-licence_unreadable").click()
    by_id(env, "return").click()
    assert "已退回" in by_id(env, "flash").text
    assert env.status("HN0001") == "returned"
    env.deliver()
    texts = [m.get("text", "") for m in env.tg.chat_messages(LAB_CHAT)]
    assert any("缓交协议需要加盖单位公章" in t and "执业许可证照片看不清" in t for t in texts), env.outbox()
    assert any("rev" in m.get("text", "") for m in env.tg.chat_messages(REVIEW_CHAT))


def test_approve(env: Env) -> None:
    go(env, f"/labs/{env.lab_id('HN0002')}")
    by_id(env, "approve").click()
    assert "已通过" in by_id(env, "flash").text
    assert env.status("HN0002") == "approved"
    env.deliver()
    assert any("审核通过" in m.get("text", "") for m in env.tg.chat_messages(LAB_CHAT + 1))


def test_a_post_without_the_csrf_token_is_refused(env: Env) -> None:
    lab_id = env.lab_id("HN0002")
    status = env.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        f"fetch('/labs/{lab_id}/approve', {{method: 'POST', body: new URLSearchParams({{enrollment: '1', revision: '1'}})}})"
        ".then(r => done(r.status));"
    )
    assert status == 403


def test_bulk_approve(env: Env) -> None:
    go(env, "/queue?status=submitted&sort=code")
    boxes = css(env, "input.pick")[:2]
    assert len(boxes) == 2
    for box in boxes:
        box.click()
    by_id(env, "bulk").click()
    # The confirmation is a new page: wait for it, not for the queue still showing.
    assert len(until(lambda: css(env, "#bulk-list li"))) == 2
    by_id(env, "bulk-do").click()
    assert "已通过 2 家" in by_id(env, "bulk-result").text


def test_admin_downloads_the_export(env: Env) -> None:
    sign_in(env, "boss")
    go(env, "/admin")
    shot(env, "admin")
    by_id(env, "export").click()
    path = until(lambda: [p for p in env.downloads.glob("*.xlsx") if p.stat().st_size > 0], timeout=20)[0]
    assert path.name.startswith("eqa-2025-enrolments-")


def test_admin_imports_a_roster(env: Env, tmp_path: Path) -> None:
    book = Workbook()
    ws = book.active
    ws.append(["实验室编码", "单位名称", "机构类型", "等级", "地市", "联系人", "手机"])
    ws.append(["HN0900", "南阳市第一人民医院", "综合医院", "三级", "南阳市", "赵老师", "13900000001"])
    ws.append(["HN0901", "信阳市中心医院", "综合医院", "三级", "信阳市", "钱老师", "123"])
    roster = tmp_path / "名单.xlsx"
    book.save(roster)
    go(env, "/admin/import")
    by_id(env, "roster").send_keys(str(roster))
    by_id(env, "import").click()
    report = by_id(env, "import-report").text
    assert "roster-problems.xlsx" in report and "binding-codes" in report
    assert env.lab_id("HN0900")


def test_admin_starts_and_stops_a_broadcast(env: Env) -> None:
    from selenium.webdriver.support.ui import Select

    go(env, "/admin/broadcast")
    by_id(env, "bc-text").send_keys("请各单位在截止日前完成申报。")
    Select(by_id(env, "bc-audience")).select_by_value("all")
    by_id(env, "bc-preview").click()
    assert "位联系人" in by_id(env, "bc-count").text
    by_id(env, "bc-send").click()
    assert "发送中" in by_id(env, "bc-status").text
    shot(env, "broadcast")
    by_id(env, "bc-stop").click()
    until(lambda: "已停止" in by_id(env, "bc-status").text)


def test_the_dashboard_draws_its_charts(env: Env) -> None:
    go(env, "/dashboard")
    for chart in (
        "chart-registrations",
        "chart-steps",
        "chart-cities",
        "chart-types",
        "chart-specialties",
        "chart-throughput",
    ):
        assert by_id(env, chart).is_displayed(), chart
    assert css(env, "#chart-registrations polyline.actual")
    assert len(css(env, "#chart-steps rect.bar")) == 5
    shot(env, "dashboard")


def test_no_page_broke_the_content_security_policy(env: Env) -> None:
    """Everything the pages use is served by the desk itself and nothing is inline: the browser logged no CSP
    violation and no failed resource on the way through the desk."""
    problems = [e["message"] for e in env.driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not [p for p in problems if "Content Security Policy" in p or "static" in p], problems


def test_the_english_switch(env: Env) -> None:
    by_id(env, "lang-switch").click()
    assert "Submissions so far" in by_id(env, "chart-registrations").find_element("xpath", "..").text
    by_id(env, "lang-switch").click()
    assert by_id(env, "lang-switch").text == "English"
