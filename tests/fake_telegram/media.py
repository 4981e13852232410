"""Stored files: ids, paths, photo sizes and the Bot API objects that describe them."""

from __future__ import annotations

import io
import itertools
import mimetypes
import secrets
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from .spec import bad_request

try:
    from PIL import Image
except ImportError:  # Pillow is a project dependency; keep the fake usable without it anyway
    Image = None  # type: ignore[assignment]

MiB = 1024 * 1024
PHOTO_UPLOAD_LIMIT = 10 * MiB  # TDLib's limit for photos
UPLOAD_LIMIT = 50 * MiB  # api.telegram.org refuses larger multipart uploads with 413
DOWNLOAD_LIMIT = 20 * MiB  # getFile refuses larger files ("file is too big")
FALLBACK_SIZE = (1280, 960)  # dimensions reported for user "photos" that are not decodable images
_THUMB_SIDES = (90, 320)

_counter = itertools.count(1)


@dataclass
class StoredFile:
    """A file known to the fake server (uploaded by the bot or sent by a user)."""

    kind: str  # "photo" or "document"
    data: bytes
    file_name: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None
    file_id: str = ""
    file_unique_id: str = ""
    file_path: str = ""

    def __post_init__(self) -> None:
        n = next(_counter)
        prefix = "AgACAgIAAxkBAAI" if self.kind == "photo" else "BQACAgIAAxkBAAI"
        self.file_id = self.file_id or f"{prefix}{n:05d}{secrets.token_urlsafe(18)}"
        self.file_unique_id = self.file_unique_id or f"AQAD{n:04d}{secrets.token_urlsafe(6)}"
        if not self.file_path:
            if self.kind == "photo":
                self.file_path = f"photos/file_{n}.jpg"
            else:
                suffix = PurePosixPath(self.file_name or "").suffix[:10]
                self.file_path = f"documents/file_{n}{suffix}"

    @property
    def size(self) -> int:
        return len(self.data)

    def photo_size(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
            "width": self.width,
            "height": self.height,
        }

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.file_name:
            doc["file_name"] = self.file_name
        if self.mime_type:
            doc["mime_type"] = self.mime_type
        doc["file_size"] = self.size
        return doc

    def file_object(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
            "file_path": self.file_path,
        }


@dataclass
class Photo:
    """All sizes of one photo, smallest first; the largest keeps the original bytes."""

    sizes: list[StoredFile] = field(default_factory=list)

    @property
    def largest(self) -> StoredFile:
        return self.sizes[-1]

    def as_list(self) -> list[dict[str, Any]]:
        return [s.photo_size() for s in self.sizes]


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) if Pillow can read the image header, else None."""
    if Image is None:
        return None
    try:
        with Image.open(io.BytesIO(data)) as im:
            return int(im.width), int(im.height)
    except Exception:
        return None


def _thumbnail(data: bytes, side: int) -> tuple[bytes, int, int] | None:
    if Image is None:
        return None
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.thumbnail((side, side))
            buf = io.BytesIO()
            im.convert("RGB").save(buf, "JPEG", quality=80)
            return buf.getvalue(), im.width, im.height
    except Exception:
        return None


def make_photo(data: bytes, *, require_image: bool) -> Photo:
    """Build 2-3 PhotoSizes like Telegram does (90px, 320px thumbnails and the full image).

    Telegram re-encodes photos; the fake keeps the original bytes in the largest size so tests can
    compare what they downloaded with what they sent. Smaller sizes are real JPEG thumbnails when
    the bytes are an image. ``require_image`` is set for bot uploads, which Telegram rejects with
    IMAGE_PROCESS_FAILED when they are not images; user photos fall back to nominal dimensions.
    """
    dims = image_size(data)
    if dims is None:
        if require_image:
            raise bad_request("IMAGE_PROCESS_FAILED")
        w, h = FALLBACK_SIZE
    else:
        w, h = dims
        if require_image and (w + h > 10000 or max(w, h) > 20 * max(min(w, h), 1)):
            raise bad_request("PHOTO_INVALID_DIMENSIONS")
    photo = Photo()
    for side in _THUMB_SIDES:
        if max(w, h) <= side:
            break
        thumb = _thumbnail(data, side) if dims else None
        if thumb is not None:
            tdata, tw, th = thumb
        else:
            scale = side / max(w, h)
            tdata, tw, th = data, max(1, round(w * scale)), max(1, round(h * scale))
        photo.sizes.append(StoredFile("photo", tdata, mime_type="image/jpeg", width=tw, height=th))
    photo.sizes.append(StoredFile("photo", data, mime_type="image/jpeg", width=w, height=h))
    if len(photo.sizes) == 1:  # tiny image: Telegram still returns a thumbnail entry
        photo.sizes.insert(0, StoredFile("photo", data, mime_type="image/jpeg", width=w, height=h))
    return photo


def guess_mime(filename: str | None, declared: str | None) -> str:
    """Telegram derives a document's MIME type from its extension; fall back to the declared one."""
    guessed = mimetypes.guess_type(filename or "")[0]
    if guessed:
        return guessed
    if declared and declared not in ("application/octet-stream", ""):
        return declared.split(";")[0].strip()
    return "application/octet-stream"


def clean_filename(name: str | None, default: str) -> str:
    base = PurePosixPath((name or "").replace("\\", "/")).name.strip()
    return base or default
