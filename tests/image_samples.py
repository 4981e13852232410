"""Realistic document pictures generated in code, for the pre-check tests and their calibration.

A sample is an A4 page (off-white paper, a title, lines of body text, a table, a signature and
optionally a red circular seal with text), optionally photographed: put on a desk, slightly
rotated, unevenly lit, with sensor noise and JPEG compression, at phone resolution.
"""

from __future__ import annotations

import math
import random
import zlib
from functools import cache
from io import BytesIO
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
BODY = (
    "甲方为乙方提供本年度室间质量评价活动的质控品、统计分析和结果反馈，乙方按要求参加并回报结果。"
    "鉴于新的收费标准尚未批准，双方同意本年度质评费用暂缓交纳，待收费标准批准后由甲方通知乙方补交。"
)
SEAL_RED = (205, 32, 42)


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONT_PATHS:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def _text(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, size: int, fill: object) -> None:
    font = _font(size)
    if isinstance(font, ImageFont.FreeTypeFont) and font.path and "wqy" in str(font.path):
        draw.text(xy, text, font=font, fill=fill)
    else:  # no CJK font here: keep the layout with Latin stand-ins
        draw.text(xy, text.encode("ascii", "replace").decode(), font=font, fill=fill)


def draw_seal(page: Image.Image, centre: tuple[int, int], diameter: int, *, fade: float = 0.0) -> None:
    """A round official seal: ring, star, institution name around the arc, ink texture."""
    size = diameter + 8
    ink = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(ink)
    ring = max(3, diameter // 28)
    d.ellipse((4, 4, 4 + diameter, 4 + diameter), outline=255, width=ring)
    c = size / 2
    star_r = diameter * 0.16
    pts = [
        (
            c + star_r * (1 if k % 2 == 0 else 0.4) * math.sin(math.pi * k / 5),
            c - star_r * (1 if k % 2 == 0 else 0.4) * math.cos(math.pi * k / 5),
        )
        for k in range(10)
    ]
    d.polygon(pts, fill=255)
    name = "河南省某某人民医院检验科专用章"
    glyph = max(10, int(diameter * 0.12))
    for i, ch in enumerate(name):
        angle = math.radians(-150 + 300 * i / (len(name) - 1))
        r = diameter / 2 - ring - glyph * 0.75
        x, y = c + r * math.sin(angle), c - r * math.cos(angle)
        char = Image.new("L", (glyph * 2, glyph * 2), 0)
        _text(ImageDraw.Draw(char), (glyph / 2, glyph / 3), ch, glyph, 255)
        char = char.rotate(-math.degrees(angle), resample=Image.Resampling.BICUBIC)
        ink.paste(255, (int(x - glyph), int(y - glyph)), char)
    _text(d, (c - glyph * 2, c + star_r * 1.3), "公章专用", int(glyph * 0.8), 255)
    # Real stamps are patchy: knock out random specks of ink.
    rnd = random.Random(diameter)
    specks = Image.new("L", (size, size), 255)
    sd = ImageDraw.Draw(specks)
    for _ in range(size * size // 400):
        x, y = rnd.randrange(size), rnd.randrange(size)
        sd.point((x, y), fill=0)
    ink = ImageChops.multiply(ink, specks.filter(ImageFilter.MinFilter(3)))
    if fade:
        ink = ink.point(lambda v: int(v * (1 - fade)))
    colour = Image.new("RGB", (size, size), SEAL_RED)
    left, top = centre[0] - size // 2, centre[1] - size // 2
    region = page.crop((left, top, left + size, top + size))
    # Ink multiplies with what is under it, so text beneath the seal stays visible.
    stamped = ImageChops.multiply(region, colour)
    page.paste(Image.composite(stamped, region, ink), (left, top))


def document(
    width: int = 1240,
    *,
    seal: bool = True,
    red_letterhead: bool = False,
    seal_scale: float = 1.0,
    seal_fade: float = 0.0,
    seed: int = 1,
) -> Image.Image:
    """An A4 page at ``width`` pixels (1240 ≈ 150 dpi)."""
    height = round(width * 297 / 210)
    page = Image.new("RGB", (width, height), (246, 244, 238))
    d = ImageDraw.Draw(page)
    u = width / 1240  # layout unit: 1 px at 150 dpi
    rnd = random.Random(seed)
    if red_letterhead:
        # A red header (hospital name, emblem and rule), inside the top 15% of the page.
        d.ellipse((int(90 * u), int(40 * u), int(210 * u), int(160 * u)), fill=(200, 20, 30))
        _text(d, (240 * u, 60 * u), "河南省某某人民医院", int(64 * u), (200, 20, 30))
        d.rectangle((int(80 * u), int(190 * u), int(1160 * u), int(200 * u)), fill=(200, 20, 30))
    _text(d, (190 * u, 250 * u), "2025年度室间质量评价活动质评费用缓交协议", int(40 * u), (20, 20, 20))
    y = 340 * u
    line_h = 38 * u
    for i in range(18):
        start = rnd.randrange(len(BODY) - 40)
        indent = 48 * u if i % 6 == 0 else 0
        line = BODY[start : start + 40 - (2 if indent else 0)]
        _text(d, ((100 * u) + indent, y), line, int(24 * u), (30, 30, 30))
        y += line_h
    # The specialties table.
    top = y + 20 * u
    rule = max(1, int(2 * u))
    for r in range(6):
        d.line((100 * u, top + r * 40 * u, 1140 * u, top + r * 40 * u), fill=(40, 40, 40), width=rule)
    for x in (100, 300, 620, 820, 1140):
        d.line((x * u, top, x * u, top + 200 * u), fill=(40, 40, 40), width=rule)
    for r in range(5):
        _text(d, (120 * u, top + (r * 40 + 8) * u), str(r + 1), int(22 * u), (30, 30, 30))
        _text(d, (320 * u, top + (r * 40 + 8) * u), "临床常规化学", int(22 * u), (30, 30, 30))
    # Signature and date, bottom left; seal bottom right.
    base = height - 420 * u
    _text(d, (100 * u, base), "科室负责人签字：", int(26 * u), (20, 20, 20))
    pts = [(320 * u + k * 14 * u, base + 10 * u + 18 * u * math.sin(k * 1.3)) for k in range(16)]
    d.line(pts, fill=(25, 35, 110), width=max(2, int(4 * u)), joint="curve")
    _text(d, (100 * u, base + 80 * u), "日期：2025年2月18日", int(26 * u), (20, 20, 20))
    _text(d, (700 * u, base), "单位公章：", int(26 * u), (20, 20, 20))
    if seal:
        diameter = int(236 * u * seal_scale)
        draw_seal(page, (int(900 * u), int(base + 120 * u)), diameter, fade=seal_fade)
    return page


def photograph(
    page: Image.Image,
    size: tuple[int, int] = (4000, 3000),
    *,
    fill: float = 0.8,
    angle: float = 2.5,
    noise: float = 6.0,
    blur: float = 0.0,
    seed: int = 1,
) -> Image.Image:
    """The page as a phone camera sees it: on a grey-brown desk, tilted, unevenly lit, noisy.

    ``blur`` is a Gaussian radius in pixels of the final photo (camera shake or missed focus).
    """
    w, h = size
    scale = fill * h / page.height
    shot = page.resize((round(page.width * scale), round(page.height * scale)), Image.Resampling.LANCZOS)
    shot = shot.convert("RGBA").rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    desk = Image.new("RGB", size, (112, 104, 96))
    desk.paste(shot, ((w - shot.width) // 2, (h - shot.height) // 2), shot)
    # Light falls off towards one corner.
    light = Image.linear_gradient("L").resize(size).point(lambda v: 255 - v // 5)
    desk = ImageChops.multiply(desk, Image.merge("RGB", (light, light, light)))
    if blur:
        desk = desk.filter(ImageFilter.GaussianBlur(blur))
    if noise:
        random.seed(seed)
        grain = Image.effect_noise(size, noise)
        desk = ImageChops.add(desk, Image.merge("RGB", (grain, grain, grain)), offset=-128)
    return desk


def jpeg(image: Image.Image, *, quality: int = 88, exif_orientation: int | None = None) -> bytes:
    out = BytesIO()
    exif = Image.Exif()
    if exif_orientation is not None:
        exif[0x0112] = exif_orientation
    image.convert("RGB").save(out, "JPEG", quality=quality, exif=exif.tobytes())
    return out.getvalue()


def png(image: Image.Image) -> bytes:
    out = BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` × ``height`` (a decompression bomb's calling card)."""
    data = bytearray(png(Image.new("1", (8, 8))))
    assert data[12:16] == b"IHDR"
    data[16:20] = width.to_bytes(4, "big")
    data[20:24] = height.to_bytes(4, "big")
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    return bytes(data)
