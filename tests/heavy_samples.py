"""Hostile-size samples made cheaply: huge flat PNGs written row by row (a few hundred KB on disk, any
number of megapixels in the header) and crafted PDFs."""

from __future__ import annotations

import io
import struct
import zlib

from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, NumberObject, TextStringObject


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def flat_png(width: int, height: int, rgb: tuple[int, int, int] = (250, 250, 245)) -> bytes:
    """An RGB PNG of one colour, compressed row by row: the bytes of a decompression bomb without
    ever holding the image in memory."""
    row = b"\x00" + bytes(rgb) * width
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _pdf(mutate) -> bytes:  # type: ignore[no-untyped-def]
    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    mutate(writer, page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_rotate_text() -> bytes:
    """A page whose /Rotate is a string: `/Rotate (abc)`."""
    return _pdf(lambda w, p: p.__setitem__(NameObject("/Rotate"), TextStringObject("abc")))


def pdf_image_is_number() -> bytes:
    """A page whose image XObject entry is a number instead of a stream."""

    def mutate(w, p):  # type: ignore[no-untyped-def]
        p[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/XObject"): DictionaryObject({NameObject("/Im0"): NumberObject(5)})}
        )

    return _pdf(mutate)


def pdf_with_javascript() -> bytes:
    """Opening it asks the viewer to run JavaScript."""

    def mutate(w, p):  # type: ignore[no-untyped-def]
        action = DictionaryObject(
            {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1)")}
        )
        w._root_object[NameObject("/OpenAction")] = w._add_object(action)

    return _pdf(mutate)


def pdf_with_launch() -> bytes:
    def mutate(w, p):  # type: ignore[no-untyped-def]
        action = DictionaryObject(
            {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("x.exe")}
        )
        w._root_object[NameObject("/OpenAction")] = w._add_object(action)

    return _pdf(mutate)
