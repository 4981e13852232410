"""Hostile uploads: huge images decode within a fixed pixel budget; crafted PDFs get a verdict, never an
exception; PDFs that run code are flagged."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw

from storage.images import _png_reduced, _to_rgb, precheck
from tests.heavy_samples import flat_png, pdf_image_is_number, pdf_rotate_text, pdf_with_javascript, pdf_with_launch

ROOT = Path(__file__).resolve().parents[1]
BOMB_SIDE = 8_888  # 79 MP, just under the 80 MP limit


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P"])
def test_band_decoding_equals_a_whole_decode(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("storage.images._BAND_PIXELS", 20_000)  # many bands in a small image
    noise = Image.effect_noise((703, 517), 60).convert("L")
    base = Image.merge("RGB", (noise, noise.rotate(90), noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    ImageDraw.Draw(base).rectangle((100, 100, 400, 300), fill=(200, 10, 10))
    img = base.quantize(64) if mode == "P" else base.convert(mode)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    for k in (1, 2, 3):
        got = _png_reduced(buf.getvalue(), k)
        want = _to_rgb(Image.open(io.BytesIO(buf.getvalue()))).reduce(k)
        assert got.size == want.size and ImageChops.difference(got, want).getbbox() is None


def test_a_79_megapixel_png_is_checked_at_reduced_size() -> None:
    data = flat_png(BOMB_SIDE, BOMB_SIDE)
    assert len(data) < 1_000_000
    check = precheck(data, purpose="licence")
    assert check.accepted and (check.width, check.height) == (BOMB_SIDE, BOMB_SIDE)
    assert "pre-blurry" in check.issues  # a flat page has no text: judged, not refused


# The peak is the kernel's VmHWM, reset once the album is made: ru_maxrss would start from the forking
# parent's size (a pytest process hundreds of MB large after a long run), not from this process's own.
_ALBUM_SCRIPT = """
import asyncio, sys
sys.path.insert(0, {root!r})
from storage.heavy import run_heavy
from storage.images import precheck
from tests.heavy_samples import flat_png

def status_mb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024

async def main():
    album = [flat_png({side}, {side}, (250, 250, 240 + n)) for n in range(10)]
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak from here on
    base = status_mb("VmRSS")
    checks = await asyncio.gather(*(run_heavy(precheck, d, purpose="agreement") for d in album))
    assert all(c.accepted for c in checks), [c.issues for c in checks]
    print(base, status_mb("VmHWM"))

asyncio.run(main())
"""


def test_an_album_of_ten_79_megapixel_pngs_stays_under_300_mb() -> None:
    script = _ALBUM_SCRIPT.format(root=str(ROOT), side=BOMB_SIDE)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    idle_mb, peak_mb = map(int, done.stdout.split())
    assert peak_mb < 300, (idle_mb, peak_mb)  # it was 5.7 GB with every image decoded whole, at once


@pytest.mark.parametrize("crafted", [pdf_rotate_text, pdf_image_is_number], ids=["rotate-abc", "image-number"])
def test_crafted_pdfs_are_refused_with_a_reason(crafted) -> None:  # type: ignore[no-untyped-def]
    check = precheck(crafted(), purpose="agreement")
    assert not check.accepted
    assert check.issues == ("pre-pdf-unreadable",)
    assert str(check.args["reason"]).strip()


@pytest.mark.parametrize("active", [pdf_with_javascript, pdf_with_launch], ids=["javascript", "launch"])
def test_pdfs_that_run_code_are_flagged(active) -> None:  # type: ignore[no-untyped-def]
    check = precheck(active(), purpose="agreement")
    assert check.accepted and "pre-pdf-active" in check.issues
    assert "pre-pdf-active" not in precheck(pdf_rotate_text().replace(b"abc", b"90 "), purpose="agreement").issues


def test_deployments_set_a_memory_limit() -> None:
    unit = (ROOT / "deploy" / "systemd" / "eqa-bot@.service").read_text()
    assert "\nMemoryMax=512M\n" in unit
    assert "--memory=512m" in (ROOT / "deploy" / "Dockerfile").read_text()
