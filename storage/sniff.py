"""What a file is, from its content alone (never its name or the sender's MIME type): the one sniffer, used
by the document pre-checks, the copies drawn for reviewers and the roster import."""

from __future__ import annotations

import filetype

__all__ = ["sniff"]


def sniff(data: bytes) -> tuple[str, str]:
    """(kind, mime) from the content alone."""
    # PDF allows junk before the header; filetype only looks at offset 0.
    if b"%PDF-" in data[:1024]:
        return "pdf", "application/pdf"
    guess = filetype.guess(data[:8192])
    if guess is None:
        if _looks_like_text(data[:4096]):
            return "text", "text/plain"
        return "unknown", "application/octet-stream"
    ext = guess.extension
    kind = {"jpg": "jpeg", "apng": "png", "tif": "tiff"}.get(ext, ext)
    if kind == "avif":
        kind = "heic" if _is_heic_brand(data) else "avif"
    return kind, guess.mime


def _is_heic_brand(data: bytes) -> bool:
    return data[8:12] in (b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1")


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    for encoding in ("utf-8", "gb18030"):
        try:
            head.decode(encoding)
        except UnicodeDecodeError:
            continue
        return True
    return False
