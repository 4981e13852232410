from __future__ import annotations

import io
import time
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFilter
from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject, NumberObject
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from storage.images import ADVICE, MESSAGES, Precheck, PrecheckConfig, oriented_jpeg, precheck
from tests.image_samples import document, jpeg, photograph, png, png_declaring

CONFIG = PrecheckConfig()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def page() -> Image.Image:
    return document(red_letterhead=True)


@pytest.fixture(scope="module")
def sharp_photo(page: Image.Image) -> bytes:
    return jpeg(photograph(page, (2400, 1800)))


@pytest.fixture(scope="module")
def blurred_photo(page: Image.Image) -> bytes:
    return jpeg(photograph(page, (2400, 1800)).filter(ImageFilter.GaussianBlur(4)))


@pytest.fixture(scope="module")
def letterhead_only_photo() -> bytes:
    return jpeg(photograph(document(seal=False, red_letterhead=True), (2400, 1800)))


def scanned_pdf(image_bytes: bytes, *, rotate: int = 0) -> bytes:
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4)
    c.drawImage(ImageReader(io.BytesIO(image_bytes)), 0, 0, *A4)
    c.showPage()
    c.save()
    if not rotate:
        return out.getvalue()
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(out.getvalue())))
    writer.pages[0].rotate(rotate)
    rotated = io.BytesIO()
    writer.write(rotated)
    return rotated.getvalue()


def text_pdf() -> bytes:
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4)
    c.drawString(72, 720, "Practice licence, electronic copy")
    c.showPage()
    c.save()
    return out.getvalue()


def encrypted(pdf: bytes, *, user_password: str, owner_password: str = "owner") -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("word/document.xml", '<?xml version="1.0"?><w:document/>')
    return out.getvalue()


def assert_consistent(result: Precheck) -> None:
    for issue in result.issues:
        assert issue in MESSAGES
    needed = set().union(*(MESSAGES[i] for i in result.issues)) if result.issues else set()
    assert needed <= set(result.args)
    if not result.accepted:
        assert len(result.issues) == 1 and result.issues[0] not in ADVICE
        assert not result.looks_fine


# --------------------------------------------------------------------------- accepted files


def test_sharp_stamped_photo_looks_fine(sharp_photo: bytes) -> None:
    result = precheck(sharp_photo, purpose="agreement")
    assert result.accepted and result.looks_fine, result
    assert result.kind == "jpeg" and result.mime == "image/jpeg"
    assert (result.width, result.height) == (2400, 1800)
    assert result.pages is None
    assert result.issues == ()
    assert result.blur_score is not None and result.blur_score > 3 * CONFIG.blur_threshold
    assert result.seal_score is not None and result.seal_score > 5 * CONFIG.seal_min_fraction
    assert result.size == len(sharp_photo)
    assert len(result.sha256) == 64
    assert_consistent(result)


def test_blurred_photo_is_accepted_with_advice(blurred_photo: bytes) -> None:
    result = precheck(blurred_photo, purpose="agreement")
    assert result.accepted and not result.looks_fine
    assert "pre-blurry" in result.issues
    assert result.advice == ("pre-blurry",)
    assert result.blur_score is not None and result.blur_score < CONFIG.blur_threshold / 2
    assert_consistent(result)


def test_red_letterhead_is_not_a_seal(letterhead_only_photo: bytes) -> None:
    result = precheck(letterhead_only_photo, purpose="agreement")
    assert result.accepted
    assert result.issues == ("pre-no-seal",)
    assert result.seal_score == 0
    assert_consistent(result)


def test_seal_is_only_checked_on_agreements(letterhead_only_photo: bytes) -> None:
    result = precheck(letterhead_only_photo, purpose="licence")
    assert result.looks_fine
    assert result.seal_score is None


def test_unstamped_scan_without_letterhead() -> None:
    result = precheck(png(document(seal=False)), purpose="agreement")
    assert result.kind == "png"
    assert result.issues == ("pre-no-seal",)


def test_small_photo_gets_low_resolution_advice() -> None:
    small = photograph(document(), (200, 200), fill=0.9)
    result = precheck(jpeg(small), purpose="licence")
    assert result.accepted
    assert "pre-low-resolution" in result.issues
    assert result.args == {"width": 200, "height": 200}
    assert_consistent(result)


def test_sideways_photo_is_turned_upright_by_exif() -> None:
    upright = photograph(document(), (1800, 2400), fill=0.9)
    stored = upright.rotate(90, expand=True)  # what the sensor wrote; EXIF 6 says "turn right"
    result = precheck(jpeg(stored, exif_orientation=6), purpose="agreement")
    assert (result.width, result.height) == (1800, 2400)
    assert result.accepted and result.looks_fine, result
    assert "pre-rotated" in result.issues  # informational only
    assert_consistent(result)

    # The same pixels without the tag are a landscape picture with the page on its side.
    untagged = precheck(jpeg(stored), purpose="agreement")
    assert (untagged.width, untagged.height) == (2400, 1800)
    assert "pre-rotated" not in untagged.issues


def test_transparent_png_is_read_on_white() -> None:
    doc = document().convert("RGBA")
    doc.putalpha(255)
    result = precheck(png(doc), purpose="agreement")
    assert result.accepted and result.looks_fine


# --------------------------------------------------------------------------- refused files


def test_gif_is_refused_with_hint() -> None:
    out = io.BytesIO()
    document().convert("P").save(out, "GIF")
    result = precheck(out.getvalue(), purpose="agreement")
    assert not result.accepted
    assert (result.kind, result.issues) == ("gif", ("pre-gif",))
    assert result.mime == "image/gif"
    assert_consistent(result)


def test_docx_is_refused() -> None:
    result = precheck(docx_bytes(), purpose="agreement")
    assert not result.accepted
    assert (result.kind, result.issues) == ("docx", ("pre-office-document",))


def test_text_named_jpg_is_refused() -> None:
    # Only the bytes count; "scan.jpg" is what the user called it.
    result = precheck("这是协议.jpg 其实是文本\n".encode(), purpose="agreement")
    assert not result.accepted
    assert (result.kind, result.issues) == ("text", ("pre-unknown-format",))


def test_plain_zip_and_random_bytes_are_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("scan.jpg", b"\xff\xd8\xff")
    assert precheck(out.getvalue(), purpose="licence").issues == ("pre-unknown-format",)
    assert precheck(bytes(range(256)) * 4, purpose="licence").issues == ("pre-unknown-format",)


def test_heic_is_refused_with_hint() -> None:
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(200)
    result = precheck(heic, purpose="licence")
    assert (result.accepted, result.kind, result.issues) == (False, "heic", ("pre-heic",))


def test_webp_is_refused_naming_the_format() -> None:
    out = io.BytesIO()
    document().save(out, "WEBP")
    result = precheck(out.getvalue(), purpose="licence")
    assert (result.accepted, result.issues) == (False, ("pre-unsupported-image",))
    assert result.args == {"kind": "WEBP"}
    assert_consistent(result)


@pytest.mark.parametrize("size", [(30000, 30000), (9000, 9000)])
def test_decompression_bomb_is_refused(size: tuple[int, int]) -> None:
    # 900 MP trips Pillow's own guard; 81 MP is under Pillow's but over our 80 MP limit.
    started = time.perf_counter()
    result = precheck(png_declaring(*size), purpose="licence")
    assert (result.accepted, result.kind, result.issues) == (False, "png", ("pre-bomb",))
    assert time.perf_counter() - started < 1.0


def test_truncated_jpeg_is_refused(sharp_photo: bytes) -> None:
    result = precheck(sharp_photo[: len(sharp_photo) // 2], purpose="agreement")
    assert (result.accepted, result.issues) == (False, ("pre-corrupt",))


def test_size_limit_and_empty() -> None:
    result = precheck(b"x" * 2048, purpose="licence", config=PrecheckConfig(max_bytes=1024))
    assert (result.accepted, result.issues) == (False, ("pre-too-big",))
    assert result.args == {"max_mb": 0.0}
    assert precheck(b"x" * 10, purpose="licence", config=PrecheckConfig(max_bytes=5 * 2**20)).issues == (
        "pre-unknown-format",
    )
    big = precheck(bytes(21 * 2**20), purpose="licence")
    assert big.issues == ("pre-too-big",) and big.args == {"max_mb": 20}
    assert precheck(b"", purpose="licence").issues == ("pre-empty",)


@pytest.fixture(scope="module")
def small_files() -> list[bytes]:
    small = jpeg(document(300))
    return [small, scanned_pdf(small), png(document(300))]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_files_never_raise(data: st.DataObject, small_files: list[bytes]) -> None:
    base = data.draw(st.sampled_from(small_files))
    pos = data.draw(st.integers(0, len(base) - 1))
    junk = data.draw(st.binary(min_size=1, max_size=64))
    result = precheck(base[:pos] + junk + base[pos + len(junk) :], purpose="agreement")
    assert isinstance(result, Precheck)
    assert_consistent(result)


# --------------------------------------------------------------------------- PDF


def test_scanned_pdf_is_checked_on_its_image(page: Image.Image) -> None:
    scan = jpeg(page, quality=85)
    result = precheck(scanned_pdf(scan), purpose="agreement")
    assert result.accepted and result.looks_fine, result
    assert (result.kind, result.mime, result.pages) == ("pdf", "application/pdf", 1)
    assert (result.width, result.height) == page.size
    assert result.seal_score is not None and result.seal_score > 5 * CONFIG.seal_min_fraction


def test_blurred_scan_pdf_gets_advice(page: Image.Image) -> None:
    scan = jpeg(page.filter(ImageFilter.GaussianBlur(3)))
    result = precheck(scanned_pdf(scan), purpose="agreement")
    assert result.accepted
    assert result.issues == ("pre-blurry",)


def test_pdf_with_flate_image_and_no_seal() -> None:
    # A PNG goes into the PDF Flate-compressed, so pypdf decodes it for us.
    result = precheck(scanned_pdf(png(document(seal=False))), purpose="agreement")
    assert result.accepted
    assert result.issues == ("pre-no-seal",)


def test_rotated_pdf_page_is_turned_upright(page: Image.Image) -> None:
    sideways = page.rotate(90, expand=True)
    result = precheck(scanned_pdf(jpeg(sideways), rotate=270), purpose="agreement")
    assert (result.width, result.height) == page.size
    assert result.looks_fine, result


def test_pdf_without_images_gets_no_image_advice() -> None:
    result = precheck(text_pdf(), purpose="agreement")
    assert result.accepted and result.looks_fine
    assert (result.pages, result.blur_score, result.seal_score, result.width) == (1, None, None, None)


def test_encrypted_pdf_is_refused() -> None:
    result = precheck(encrypted(text_pdf(), user_password="secret"), purpose="licence")
    assert (result.accepted, result.kind, result.issues) == (False, "pdf", ("pre-pdf-encrypted",))


def test_pdf_with_only_an_owner_password_opens(page: Image.Image) -> None:
    # Printing restrictions only: every viewer opens it without asking, so it is usable.
    data = encrypted(scanned_pdf(jpeg(page)), user_password="")
    assert PdfReader(io.BytesIO(data)).is_encrypted
    result = precheck(data, purpose="agreement")
    assert result.accepted and result.looks_fine, result


def test_corrupt_pdf_is_refused() -> None:
    assert precheck(b"%PDF-1.7\n1 0 obj <<>> garbage", purpose="licence").issues == ("pre-pdf-corrupt",)
    assert precheck(text_pdf()[:200], purpose="licence").issues == ("pre-pdf-corrupt",)


def test_pdf_image_bomb_is_refused_without_decoding() -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(scanned_pdf(jpeg(document(400))))))
    for ref in writer.pages[0]["/Resources"]["/XObject"].values():
        # Claim absurd dimensions: the check must read them, not decode the stream.
        ref.get_object()[NameObject("/Width")] = NumberObject(90000)
        ref.get_object()[NameObject("/Height")] = NumberObject(90000)
    out = io.BytesIO()
    writer.write(out)
    started = time.perf_counter()
    result = precheck(out.getvalue(), purpose="licence")
    assert (result.accepted, result.issues) == (False, ("pre-bomb",))
    assert time.perf_counter() - started < 1.0


# --------------------------------------------------------------------------- speed


def test_twelve_megapixel_photo_is_fast() -> None:
    data = jpeg(photograph(document(), (4000, 3000)))
    precheck(data, purpose="agreement")  # warm up imports and caches
    started = time.perf_counter()
    result = precheck(data, purpose="agreement")
    elapsed = time.perf_counter() - started
    assert result.looks_fine, result
    assert elapsed < 1.0, f"{elapsed:.2f} s"


# --------------------------------------------------------------------------- oriented_jpeg


def test_oriented_jpeg_applies_exif_and_limits_size() -> None:
    upright = photograph(document(), (1800, 2400), fill=0.9)
    stored = jpeg(upright.rotate(90, expand=True), exif_orientation=6)
    out = oriented_jpeg(stored, max_side=1200)
    im = Image.open(io.BytesIO(out))
    assert im.format == "JPEG" and im.mode == "RGB"
    assert im.size == (900, 1200)
    assert im.getexif().get(0x0112) in (None, 1)
    # Upright: close to the original upright picture, pixel for pixel at thumbnail size.
    reference = upright.resize(im.size)
    diff = sum(
        abs(a - b)
        for a, b in zip(
            im.convert("L").resize((45, 60)).tobytes(), reference.convert("L").resize((45, 60)).tobytes(), strict=True
        )
    )
    assert diff / (45 * 60) < 12


def test_oriented_jpeg_flattens_transparency_on_white() -> None:
    rgba = Image.new("RGBA", (100, 100), (255, 0, 0, 0))
    im = Image.open(io.BytesIO(oriented_jpeg(png(rgba))))
    assert im.getpixel((50, 50)) == pytest.approx((255, 255, 255), abs=3)


def test_oriented_jpeg_refuses_pdf_and_junk() -> None:
    with pytest.raises(ValueError):
        oriented_jpeg(text_pdf())
    with pytest.raises(ValueError):
        oriented_jpeg(b"not an image")
    with pytest.raises(ValueError):
        oriented_jpeg(png_declaring(30000, 30000))


@pytest.mark.parametrize("mode", ["L", "CMYK", "P", "I;16", "LA"])
def test_unusual_image_modes_are_read(mode: str) -> None:
    page = document(900, seal=False)
    if mode == "I;16":
        image = page.convert("L").point(lambda v: v * 256, mode="I").convert("I;16")
    else:
        image = page.convert(mode)
    out = io.BytesIO()
    image.save(out, "JPEG" if mode in ("L", "CMYK") else "PNG")
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).mode == mode
    result = precheck(data, purpose="licence")
    assert result.accepted and result.looks_fine, result
    assert (result.width, result.height) == page.size
    assert Image.open(io.BytesIO(oriented_jpeg(data))).mode == "RGB"
