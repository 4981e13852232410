"""A generated test set for reading documents: licence photos rendered with real Chinese text and
agreement photos made from our own PDFs, each degraded as phone cameras do.

Each sample carries the truth it was made from. The tests use a handful (OCR takes about a second a
photo); `python -m bench reading` uses the whole set (`licence_set`, `agreement_set`).

Licences come in four layouts: the landscape 正本 (labels left, values right, the issuer's red seal over
its name), the portrait 副本 ("label：value" in one line), a ruled table, and the blood-station and
plasma-station licences (their own titles and labels). Degradations: a small tilt (±10°), a quarter turn
(90/180/270, stored turned with an EXIF orientation or without one), perspective, blur, JPEG quality
40–90, uneven light, glare, a thumb over a corner.
"""

from __future__ import annotations

import io
import math
import random
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from tests.image_samples import draw_seal

FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"

CITIES = (
    "郑州市",
    "洛阳市",
    "开封市",
    "新乡市",
    "南阳市",
    "安阳市",
    "商丘市",
    "信阳市",
    "周口市",
    "驻马店市",
    "平顶山市",
    "焦作市",
    "许昌市",
    "漯河市",
    "三门峡市",
    "鹤壁市",
    "濮阳市",
    "济源市",
)
COUNTIES = (
    "中牟县",
    "巩义市",
    "登封市",
    "新密市",
    "偃师区",
    "孟津区",
    "兰考县",
    "尉氏县",
    "长垣市",
    "林州市",
    "永城市",
    "固始县",
    "项城市",
    "汝州市",
    "禹州市",
    "舞阳县",
    "灵宝市",
    "淇县",
    "范县",
    "邓州市",
)
ORDINALS = "一二三四五六七八九"


def available() -> bool:
    return Path(FONT).exists()


@cache
def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONT, size)


# --------------------------------------------------------------------------- licences


@dataclass(frozen=True)
class LicenceTruth:
    licence_type: str
    name: str
    number: str
    valid_from: str
    valid_to: str
    authority: str
    layout: str


@dataclass
class Sample:
    data: bytes
    truth: Any
    degradation: dict[str, Any] = field(default_factory=dict)


def _institution(rnd: random.Random, kind: str) -> str:
    city = rnd.choice(CITIES)
    if kind == "blood":
        return rnd.choice((f"{city}中心血站", "河南省红十字血液中心", f"{city}血站"))
    if kind == "plasma":
        return f"{rnd.choice(COUNTIES).rstrip('市县区')}{rnd.choice(('', '华兰', '莱士', '天坛'))}单采血浆站有限公司"
    forms = (
        f"{city}第{rnd.choice(ORDINALS)}人民医院",
        f"{city}中心医院",
        f"{city}中医院",
        f"{rnd.choice(COUNTIES)}人民医院",
        f"{city}妇幼保健院",
        f"河南{rnd.choice(('金域', '迪安', '艾迪康', '华银', '凯普'))}医学检验实验室有限公司",
        f"{city}{rnd.choice(('骨科', '肿瘤', '传染病', '儿童', '眼科'))}医院",
        f"{rnd.choice(CITIES).removesuffix('市')}大学第{rnd.choice('一二三')}附属医院",
    )
    return rnd.choice(forms)


def _number(rnd: random.Random, kind: str) -> str:
    alnum = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    if kind == "medical":
        org = "".join(rnd.choice(alnum) for _ in range(8)) + rnd.choice("0123456789X")
        area = "41" + f"{rnd.randrange(1, 18):02d}" + f"{rnd.randrange(1, 30):02d}"
        return (
            f"{org}{area}{rnd.choice(('11', '12', '21', '22', '33'))}{rnd.choice('ABCD')}{rnd.randrange(1000, 10000)}"
        )
    prefix = "XZ" if kind == "blood" else "DC"
    return prefix + "41" + "".join(rnd.choice("0123456789") for _ in range(14))


def _validity(rnd: random.Random) -> tuple[date, date]:
    start = date(2015, 1, 1) + timedelta(days=rnd.randrange(0, 365 * 10))
    years = rnd.choice((5, 5, 5, 15)) if start.year < 2021 else 5
    end = date(start.year + years, start.month, min(start.day, 28)) - timedelta(days=1)
    return start, end


def _fmt(d: date, rnd: random.Random) -> str:
    return rnd.choice((f"{d.year}年{d.month:02d}月{d.day:02d}日", f"{d.year}年{d.month}月{d.day}日"))


def licence_page(
    seed: int, layout: str | None = None, *, name: str | None = None, validity: tuple[date, date] | None = None
) -> tuple[Image.Image, LicenceTruth]:
    """A clean licence page and its truth (the institution's name and the validity may be given)."""
    rnd = random.Random(seed)
    layout = layout or rnd.choice(("landscape", "landscape", "portrait", "table", "blood", "plasma"))
    kind = {"blood": "blood", "plasma": "plasma"}.get(layout, "medical")
    title = {"blood": "血站执业许可证", "plasma": "单采血浆许可证"}.get(layout, "医疗机构执业许可证")
    name = name or _institution(rnd, kind)
    number = _number(rnd, kind)
    start, end = validity or _validity(rnd)
    city = name[:3] if name[:3] in CITIES else rnd.choice(CITIES)
    authority = "河南省卫生健康委员会" if kind != "medical" or rnd.random() < 0.3 else f"{city}卫生健康委员会"
    name_label = {"blood": "血站名称", "plasma": "单位名称"}.get(layout, "机构名称")
    number_label = {"blood": "许可证号", "plasma": "许可证号"}.get(layout, "登记号")
    validity = f"自{_fmt(start, rnd)}至{_fmt(end, rnd)}"
    others = [
        ("地址", f"{city}{rnd.choice(('人民路', '建设路', '解放大道', '中原路', '文化路'))}{rnd.randrange(1, 300)}号"),
        ("法定代表人", rnd.choice(("王建国", "李红", "张伟", "刘洋", "陈静", "杨帆"))),
    ]
    if kind == "medical":
        others.append(
            (
                "诊疗科目",
                rnd.choice(
                    ("内科；外科；妇产科；儿科；医学检验科", "医学检验科；病理科", "内科；外科；医学检验科；医学影像科")
                ),
            )
        )
    elif kind == "blood":
        others.append(("业务范围", "采集、制备、储存、供应血液"))
    else:
        others.append(("采浆区域", f"{rnd.choice(COUNTIES)}"))
    fields = [(name_label, name), *others[:1], (number_label, number), *others[1:], ("有效期限", validity)]
    ink = (rnd.randrange(10, 40),) * 3
    if layout in ("portrait",):
        w, h = 1240, 1754
    else:
        w, h = 1754, 1240
    paper = (rnd.randrange(238, 252), rnd.randrange(234, 248), rnd.randrange(220, 240))
    page = Image.new("RGB", (w, h), paper)
    d = ImageDraw.Draw(page)
    # A decorative border, as printed licences have.
    d.rectangle((30, 30, w - 30, h - 30), outline=(170, 130, 60), width=10)
    d.rectangle((52, 52, w - 52, h - 52), outline=(170, 130, 60), width=3)
    spaced = rnd.random() < 0.5
    d.text((w // 2, 150), " ".join(title) if spaced else title, font=font(70), fill=ink, anchor="mm")
    d.text((w // 2, 235), rnd.choice(("（正本）", "（副本）")), font=font(34), fill=ink, anchor="mm")
    size = 34 if layout != "portrait" else 32
    y = 320
    if layout == "table":
        x0, x1, x2 = 150, 430, w - 150
        row_h = 86
        for i, (label, value) in enumerate(fields):
            top = y + i * row_h
            d.rectangle((x0, top, x2, top + row_h), outline=(60, 60, 60), width=2)
            d.line((x1, top, x1, top + row_h), fill=(60, 60, 60), width=2)
            d.text((x0 + 20, top + row_h / 2), label, font=font(size), fill=ink, anchor="lm")
            d.text((x1 + 20, top + row_h / 2), value, font=font(size), fill=ink, anchor="lm")
        y += len(fields) * row_h + 60
    elif layout == "portrait":
        for label, value in fields:
            d.text((130, y), f"{label}：{value}", font=font(size), fill=ink)
            y += 92
        y += 40
    else:
        for label, value in fields:
            d.text((170, y), label, font=font(size), fill=ink)
            d.text((470, y), value, font=font(size), fill=ink)
            y += 90
    ax = w - 720 if layout != "portrait" else 560
    ay = max(y, h - 300)
    d.text((ax, ay), f"发证机关：{authority}", font=font(size), fill=ink)
    d.text((ax + 120, ay + 70), _fmt(start, rnd), font=font(size), fill=ink)
    if rnd.random() < 0.6:
        # The issuer's seal, its lower part over the date (not over the issuer's name, as on most licences).
        draw_seal(page, (ax + 420, ay + 150), 230, fade=rnd.uniform(0.2, 0.5))
    truth = LicenceTruth(title, name, number, start.isoformat(), end.isoformat(), authority, layout)
    return page, truth


# --------------------------------------------------------------------------- phone degradations


def _perspective_coeffs(src: list[tuple[float, float]], dst: list[tuple[float, float]]) -> list[float]:
    """Coefficients for Image.transform(PERSPECTIVE): output pixel (dst) -> input pixel (src)."""
    import numpy as np

    rows = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    b = [c for pair in src for c in pair]
    return [float(v) for v in np.linalg.solve(np.array(rows, dtype=float), np.array(b, dtype=float))]


def photograph(
    page: Image.Image, rnd: random.Random, *, size: tuple[int, int] = (3264, 2448), harsh: bool = True
) -> tuple[Image.Image, dict[str, Any]]:
    """The page as a phone shoots it; returns the photo (upright, before any quarter turn) and what was done."""
    spec: dict[str, Any] = {}
    w, h = size if (page.width >= page.height) == (size[0] >= size[1]) else (size[1], size[0])
    fill = rnd.uniform(0.72, 0.9)
    scale = fill * min(w / page.width, h / page.height)
    shot = page.resize((round(page.width * scale), round(page.height * scale)), Image.Resampling.LANCZOS)
    angle = rnd.uniform(-10, 10)
    spec["tilt"] = round(angle, 1)
    shot = shot.convert("RGBA").rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    desk = Image.new("RGB", (w, h), (rnd.randrange(80, 140), rnd.randrange(70, 120), rnd.randrange(60, 100)))
    desk.paste(shot, ((w - shot.width) // 2, (h - shot.height) // 2), shot)
    if rnd.random() < 0.6:
        k = rnd.uniform(0.02, 0.06) * w
        spec["perspective"] = round(k / w, 3)
        corners = [(0, 0), (w, 0), (w, h), (0, h)]
        moved = [(x + rnd.uniform(-k, k), y + rnd.uniform(-k, k)) for x, y in corners]
        desk = desk.transform(
            (w, h),
            Image.Transform.PERSPECTIVE,
            _perspective_coeffs(moved, corners),
            Image.Resampling.BILINEAR,
            fillcolor=(90, 80, 70),
        )
    # Uneven light: darker towards a random side.
    gradient = Image.linear_gradient("L").rotate(rnd.choice((0, 90, 180, 270))).resize((w, h))
    depth = rnd.uniform(0.15, 0.45)
    spec["shade"] = round(depth, 2)
    light = gradient.point(lambda v: int(255 - v * depth))
    desk = ImageChops.multiply(desk, Image.merge("RGB", (light, light, light)))
    if harsh and rnd.random() < 0.3:
        # Glare: a soft bright spot.
        spot = Image.new("L", (w, h), 0)
        r = rnd.uniform(0.05, 0.1) * w
        cx, cy = rnd.uniform(0.2, 0.8) * w, rnd.uniform(0.2, 0.8) * h
        ImageDraw.Draw(spot).ellipse((cx - r, cy - r, cx + r, cy + r), fill=rnd.randrange(90, 150))
        spot = spot.filter(ImageFilter.GaussianBlur(r / 2))
        desk = ImageChops.screen(desk, Image.merge("RGB", (spot, spot, spot)))
        spec["glare"] = True
    if harsh and rnd.random() < 0.25:
        # A thumb over a corner.
        corner = rnd.choice(((0, 0), (w, 0), (w, h), (0, h)))
        tw, th = rnd.uniform(0.07, 0.11) * w, rnd.uniform(0.12, 0.18) * h
        thumb = Image.new("L", (w, h), 0)
        ImageDraw.Draw(thumb).ellipse((corner[0] - tw, corner[1] - th, corner[0] + tw, corner[1] + th), fill=255)
        skin = Image.new("RGB", (w, h), (rnd.randrange(190, 225), rnd.randrange(140, 170), rnd.randrange(115, 140)))
        desk = Image.composite(skin, desk, thumb.filter(ImageFilter.GaussianBlur(12)))
        spec["thumb"] = corner
    blur = rnd.choice((0, 0, 0.6, 1.0, 1.4))
    if blur:
        desk = desk.filter(ImageFilter.GaussianBlur(blur))
        spec["blur"] = blur
    desk = ImageChops.add(desk, _grain((w, h), rnd.uniform(3, 8), rnd.randrange(1 << 30)), offset=-128)
    return desk, spec


def _grain(size: tuple[int, int], sigma: float, seed: int) -> Image.Image:
    """Sensor noise around 128, seeded (Image.effect_noise is not)."""
    import numpy as np

    noise = np.random.default_rng(seed).normal(128, sigma, (size[1], size[0])).clip(0, 255).astype("uint8")
    grain = Image.fromarray(noise, "L")
    return Image.merge("RGB", (grain, grain, grain))


# EXIF orientation that tells a viewer to undo a turn of the stored pixels by Image.rotate(angle).
_EXIF_FOR = {90: 8, 180: 3, 270: 6}


def encode(
    photo: Image.Image,
    rnd: random.Random,
    spec: dict[str, Any],
    *,
    quarter: int | None = None,
    exif: bool | None = None,
    quality: int | None = None,
) -> bytes:
    """JPEG bytes of the photo, maybe stored turned a quarter (with or without an EXIF orientation)."""
    quarter = rnd.choice((0, 0, 0, 90, 180, 270)) if quarter is None else quarter
    exif = rnd.random() < 0.5 if exif is None else exif
    quality = rnd.randrange(40, 91) if quality is None else quality
    stored = photo.rotate(quarter, expand=True) if quarter else photo
    tags = Image.Exif()
    if quarter and exif:
        tags[0x0112] = _EXIF_FOR[quarter]
    spec.update(quarter=quarter, exif=bool(quarter and exif), quality=quality)
    out = io.BytesIO()
    stored.save(out, "JPEG", quality=quality, exif=tags.tobytes())
    return out.getvalue()


def licence_sample(seed: int, layout: str | None = None, *, size: tuple[int, int] | None = None,
                   name: str | None = None, validity: tuple[date, date] | None = None,
                   **encoding: Any) -> Sample:  # fmt: skip
    page, truth = licence_page(seed, layout, name=name, validity=validity)
    rnd = random.Random(seed * 7919 + 1)
    # Phone photos sent as files (8 MP, 4.5 MP) and a Telegram-compressed photo (1280 px).
    choice = rnd.choice(((3264, 2448), (2448, 1836), (1280, 960)))
    size = size or choice
    photo, spec = photograph(page, rnd, size=size)
    spec["size"] = size
    data = encode(photo, rnd, spec, **encoding)
    return Sample(data, truth, spec)


def licence_set(count: int = 60, start: int = 1000) -> list[Sample]:
    """``count`` licences; every sixth layout in turn, so each layout is represented."""
    layouts = ("landscape", "portrait", "table", "blood", "plasma", "landscape")
    return [licence_sample(start + i, layouts[i % len(layouts)]) for i in range(count)]


# --------------------------------------------------------------------------- agreements


@dataclass(frozen=True)
class AgreementTruth:
    document_id: str
    year: int
    lab_code: str
    signed: bool
    sealed: bool
    variant: str


def poppler() -> bool:
    return shutil.which("pdftoppm") is not None


@cache
def agreement_pdf(year: int, lab_code: str, lab_name: str) -> bytes:
    from conversations.flows.journey import PDF_PLACEHOLDERS
    from conversations.i18n import catalog
    from storage.pdf import AgreementData, render_agreement

    labels = catalog().templates("zh", "pdf-", PDF_PLACEHOLDERS)
    data = AgreementData(
        centre="河南省临床检验中心",
        title=f"{year}年度室间质量评价活动质评费用缓交协议",
        year=year,
        lab_code=lab_code,
        lab_name=lab_name,
        institution="综合医院",
        specialties=["临床常规化学", "全血细胞计数", "临床免疫学", "凝血实验", "血型"],
        body=[
            f"为落实“先参评、后付费”的工作安排，经甲乙双方协商，就{year}年度室间质量评价活动质评费用缓交事宜达成如下协议：",
            "一、甲方向乙方提供所选专业的质控品、统计分析及结果反馈服务。",
            "二、乙方本年度质评费用暂缓交纳；收费标准批准后，甲方另行通知，乙方应在规定期限内补交。",
            "三、本协议经乙方科室负责人签字并加盖单位公章后生效。",
        ],
        generated_on=date(year, 2, 10),
        document_id=f"henan-{year}-{lab_code}",
        labels=labels,
    )
    return render_agreement(data)


def pdf_page(pdf: bytes, dpi: int = 200) -> Image.Image:
    done = subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-f", "1", "-l", "1", "-"],
                          input=pdf, capture_output=True, check=True)  # fmt: skip
    return Image.open(io.BytesIO(done.stdout)).convert("RGB")


@cache
def _agreement_page(year: int, lab_code: str, lab_name: str) -> Image.Image:
    return pdf_page(agreement_pdf(year, lab_code, lab_name))


def signed_photo(pdf: bytes, seed: int, *, size: tuple[int, int] = (3264, 2448), quality: int = 85) -> bytes:
    """Our agreement PDF printed, signed, stamped and photographed (upright, no thumb or glare)."""
    page = pdf_page(pdf)
    rnd = random.Random(seed)
    _sign(page, rnd)
    px = page.width / 210
    draw_seal(page, (round(146 * px), round(235 * px)), round(42 * px))
    photo, spec = photograph(page, rnd, size=size, harsh=False)
    return encode(photo, rnd, spec, quarter=0, quality=quality)


def _sign(page: Image.Image, rnd: random.Random) -> None:
    """A handwritten signature inside the signature box (30–90 mm across, 222–236 mm down)."""
    px = page.width / 210
    d = ImageDraw.Draw(page)
    colour = rnd.choice(((20, 30, 110), (15, 15, 20), (30, 30, 60)))
    x, y = rnd.uniform(45, 55) * px, rnd.uniform(226, 232) * px
    for _stroke in range(rnd.randrange(2, 4)):
        pts = []
        for k in range(rnd.randrange(10, 18)):
            pts.append((x + k * rnd.uniform(1.2, 2.2) * px, y + rnd.uniform(-3, 3) * px * math.sin(k * 1.1)))
        d.line(pts, fill=colour, width=max(3, round(0.5 * px)), joint="curve")
        x = pts[-1][0] + rnd.uniform(2, 5) * px


def agreement_sample(
    seed: int,
    *,
    lab_code: str = "HN0371-0007",
    year: int = 2025,
    variant: str | None = None,
    size: tuple[int, int] = (3264, 2448),
    **encoding: Any,
) -> Sample:
    rnd = random.Random(seed)
    variant = variant or rnd.choice(("good",) * 14 + ("unsigned", "unsealed", "other-year", "other-lab"))
    code = lab_code
    doc_year = year - 1 if variant == "other-year" else year
    if variant == "other-lab":
        code = f"HN0{rnd.randrange(371, 399)}-{rnd.randrange(1, 9999):04d}"
    page = _agreement_page(doc_year, code, "郑州市第七人民医院检验科").copy()
    signed = variant != "unsigned"
    sealed = variant != "unsealed"
    if signed:
        _sign(page, rnd)
    if sealed:
        px = page.width / 210
        centre = (round((146 + rnd.uniform(-10, 10)) * px), round((235 + rnd.uniform(-8, 8)) * px))
        draw_seal(page, centre, round(42 * px), fade=rnd.uniform(0.0, 0.4))
    photo, spec = photograph(page, random.Random(seed * 31 + 7), size=size)
    data = encode(photo, random.Random(seed * 17 + 3), spec, **encoding)
    truth = AgreementTruth(f"henan-{doc_year}-{code}", doc_year, code, signed, sealed, variant)
    return Sample(data, truth, spec)


def agreement_set(count: int = 40, start: int = 5000) -> list[Sample]:
    return [agreement_sample(start + i) for i in range(count)]
