"""What reviewers are shown of an upload: a copy re-rendered by us, never the sender's file.

Photos and scans become an upright JPEG (EXIF applied, then dropped); a PDF becomes JPEG images of its
first pages, drawn by poppler's ``pdftoppm`` in a separate process with limits on memory and CPU time, so a
crafted PDF (JavaScript, /Launch, a parser exploit) never reaches a reviewer's viewer and cannot take this
process with it. CPU- and memory-heavy: call through ``storage.heavy.run_heavy``.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import tempfile
from pathlib import Path

from storage.images import oriented_jpeg
from storage.sniff import sniff

__all__ = ["MAX_PAGES", "RenderFailed", "review_copies"]

MAX_PAGES = 5  # agreements are one or two pages, licences one
_DPI = 110  # an A4 page ≈ 910 × 1290 px: readable on a desktop screen, a few hundred KB
_LIMITS = {resource.RLIMIT_AS: 1024 * 1024 * 1024, resource.RLIMIT_CPU: 30}


class RenderFailed(Exception):
    """No copy could be made; reviewers are told so rather than sent the original."""


def _limit() -> None:  # runs in the child before exec
    for kind, value in _LIMITS.items():
        resource.setrlimit(kind, (value, value))


def _pdf_pages(data: bytes, pages: int) -> list[bytes]:
    tool = shutil.which("pdftoppm")
    if tool is None:
        raise RenderFailed("pdftoppm is not installed (Debian: poppler-utils)")
    with tempfile.TemporaryDirectory(prefix="eqa-render-") as tmp:
        source = Path(tmp) / "in.pdf"
        source.write_bytes(data)
        args = [tool, "-jpeg", "-jpegopt", "quality=85", "-r", str(_DPI), "-f", "1", "-l", str(pages)]
        try:
            done = subprocess.run(
                [*args, str(source), str(Path(tmp) / "page")],
                capture_output=True,
                timeout=60,
                preexec_fn=_limit,  # only setrlimit, before exec
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise RenderFailed("pdftoppm took too long") from exc
        images = sorted(Path(tmp).glob("page-*.jpg"))
        if not images:
            raise RenderFailed(f"pdftoppm drew no page (exit {done.returncode})")
        return [p.read_bytes() for p in images]


def review_copies(data: bytes, *, max_pages: int = MAX_PAGES) -> list[bytes]:
    """JPEG images of what the upload shows: one for a photo or scan, one per page (up to max_pages) for a
    PDF. Raises RenderFailed when nothing can be drawn."""
    kind, _ = sniff(data)
    if kind == "pdf":
        return _pdf_pages(data, max_pages)
    try:
        return [oriented_jpeg(data)]
    except ValueError as exc:
        raise RenderFailed(str(exc)) from exc
