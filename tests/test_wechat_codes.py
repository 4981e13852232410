"""Binding codes with WeChat configured: the printable sheet (the desk's "binding codes" page) carries each
lab's parametric QR (scan = follow the account + bind), made through the QR-code API of the fake after the
codes' transaction, and drawn as a QR code that decodes to what WeChat returned."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from PIL import Image

from bot.desk.server import make_desk
from conversations.clock import FixedClock
from storage.reading.engine import decode_qr
from tests.conftest import require_tool
from tests.factories import make_lab
from tests.fake_wechat.running import ADMIN_OPENID, running_wechat
from tests.test_desk import SECRET, Desk, account


async def test_the_printed_code_sheet_carries_each_lab_s_wechat_qr(
    database_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    require_tool("pdftoppm")
    async with running_wechat(database_url, tmp_path / "data", clock, safe=False) as wx:
        await make_lab(wx.app)
        await make_lab(wx.app, code="HN0002", name="开封市中心医院")
        client = TestClient(TestServer(make_desk(wx.app, secret=SECRET, review_platform="wechat")))
        await client.start_server()
        try:
            await account(wx.app, "boss", "admin", link=("wechat", ADMIN_OPENID))
            desk = Desk(client, wx.app)
            assert await desk.login("boss") == 303
            status, _, html = await desk.post("/admin/codes", {})
            assert status == 200, html
            [link] = re.findall(r'href="(/files/[^"]+)"[^>]*>[^<]*\.pdf', html)
            pdf = await (await client.get(link)).read()
        finally:
            await client.close()
        scenes = sorted(wx.fake.qrcodes.values())
        made = {ticket[-12:] for ticket in wx.fake.qrcodes}
    assert [s.split("_")[0] for s in scenes] == ["HN0001", "HN0002"]
    assert pdf[:4] == b"%PDF"
    with tempfile.TemporaryDirectory() as out_dir:
        subprocess.run(["pdftoppm", "-r", "200", "-png", "-", f"{out_dir}/p"], input=pdf, check=True)
        [page] = sorted(Path(out_dir).glob("p*.png"))
        found = {text for text, _ in decode_qr(Image.open(page).convert("RGB"))}
    assert {url.rsplit("/", 1)[-1] for url in found} == made, found
