"""Tip-off evidence cleaned of metadata (handlers/evidence.py): real images built with Pillow,
cleaned, and reopened to see that nothing of the device or the reporter is left, that the
GPS block stays only when the reporter shared their location, and that the photo still shows
the right way up in its own format with its colour profile."""

from __future__ import annotations

import io
import warnings

import pytest
from PIL import ExifTags, Image, ImageCms, PngImagePlugin, features

from handlers.evidence import clean_image, is_image

MAKE, MODEL, SOFTWARE, SERIAL = "AcmePhone", "Acme X-1000", "AcmeOS 7.1", "SN-4455667788"
TAKEN_AT = "2026:03:14 07:30:00"
OWNER = "Nguyen Van A"
GPS = {
    ExifTags.GPS.GPSLatitudeRef: "N",
    ExifTags.GPS.GPSLatitude: (21.0, 1.0, 42.5),
    ExifTags.GPS.GPSLongitudeRef: "E",
    ExifTags.GPS.GPSLongitude: (105.0, 51.0, 3.25),
}
IDENTIFYING = [text.encode() for text in (MAKE, MODEL, SOFTWARE, SERIAL, TAKEN_AT, OWNER)]
ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
RED, BLUE = (255, 0, 0), (0, 0, 255)
WIDTH, HEIGHT = 64, 32


def phone_exif(orientation: int = 6) -> Image.Exif:
    """What a phone writes: device, owner, time, orientation and position."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = MAKE
    exif[ExifTags.Base.Model] = MODEL
    exif[ExifTags.Base.Software] = SOFTWARE
    exif[ExifTags.Base.Artist] = OWNER
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.Exif] = {ExifTags.Base.BodySerialNumber: SERIAL, ExifTags.Base.DateTimeOriginal: TAKEN_AT}
    exif[ExifTags.IFD.GPSInfo] = dict(GPS)
    return exif


def photo() -> Image.Image:
    """Blue, with a red block in the top-left corner as stored (to see where it turns)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BLUE)
    image.paste(RED, (0, 0, 16, 16))
    return image


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    output = io.BytesIO()
    image.save(output, fmt, **options)
    return output.getvalue()


def reopen(data: bytes | None) -> Image.Image:
    assert data is not None
    return Image.open(io.BytesIO(data))


def phone_jpeg(orientation: int = 6, **options) -> bytes:
    return encode(photo(), "JPEG", exif=phone_exif(orientation).tobytes(), icc_profile=ICC,
                  comment=f"shot by {OWNER}".encode(), xmp=f"<x:xmpmeta>{MODEL}</x:xmpmeta>".encode(),
                  quality=70, **options)


def assert_no_trace_of_the_phone(data: bytes) -> None:
    for text in IDENTIFYING:
        assert text not in data


def only_gps(image: Image.Image) -> dict:
    """The GPS IFD, after checking that nothing else of EXIF is there."""
    exif = image.getexif()
    assert set(exif) == {ExifTags.IFD.GPSInfo}
    assert exif.get_ifd(ExifTags.IFD.Exif) == {} and exif.get_ifd(ExifTags.IFD.IFD1) == {}
    return exif.get_ifd(ExifTags.IFD.GPSInfo)


# --- JPEG, the usual photo --------------------------------------------------------------------

@pytest.mark.parametrize("keep_location", [False, True])
def test_jpeg_loses_device_owner_and_time(keep_location):
    original = phone_jpeg()
    assert all(text in original for text in IDENTIFYING)
    assert reopen(original).getexif().get_ifd(ExifTags.IFD.GPSInfo) == GPS
    cleaned = clean_image(original, "image/jpeg", keep_location=keep_location)
    image = reopen(cleaned)
    assert image.format == "JPEG"
    assert_no_trace_of_the_phone(cleaned)
    for tag in (ExifTags.Base.Make, ExifTags.Base.Model, ExifTags.Base.Software, ExifTags.Base.Artist):
        assert tag not in image.getexif()
    assert "comment" not in image.info and "xmp" not in image.info


def test_jpeg_without_location_has_no_exif_at_all():
    image = reopen(clean_image(phone_jpeg(), "image/jpeg", keep_location=False))
    assert dict(image.getexif()) == {} and "exif" not in image.info


def test_jpeg_with_location_keeps_exactly_the_gps_block():
    image = reopen(clean_image(phone_jpeg(), "image/jpeg", keep_location=True))
    assert only_gps(image) == GPS


@pytest.mark.parametrize("keep_location", [False, True])
def test_jpeg_is_turned_upright_and_loses_its_orientation(keep_location):
    image = reopen(clean_image(phone_jpeg(orientation=6), "image/jpeg", keep_location=keep_location))
    assert image.size == (HEIGHT, WIDTH)  # orientation 6: turned a quarter clockwise
    assert ExifTags.Base.Orientation not in image.getexif()
    rgb = image.convert("RGB")
    assert close_to(rgb.getpixel((HEIGHT - 4, 4)), RED) and close_to(rgb.getpixel((4, 4)), BLUE)


def test_jpeg_keeps_its_colour_profile():
    assert reopen(clean_image(phone_jpeg(), "image/jpeg", keep_location=False)).info["icc_profile"] == ICC


def test_upright_jpeg_keeps_its_quantization_subsampling_and_progression():
    original = phone_jpeg(orientation=1, subsampling="4:2:2", progressive=True)
    cleaned = reopen(clean_image(original, "image/jpeg", keep_location=False))
    source = reopen(original)
    assert cleaned.size == source.size and cleaned.info.get("progressive") == 1
    assert cleaned.quantization == source.quantization
    assert cleaned.layer == source.layer  # the same sampling factors per component


def test_turned_jpeg_is_re_encoded_at_high_quality():
    cleaned = reopen(clean_image(phone_jpeg(orientation=6), "image/jpeg", keep_location=False))
    assert cleaned.quantization == reopen(encode(photo(), "JPEG", quality=95)).quantization


def test_multi_picture_jpeg_keeps_only_its_main_image():
    preview = Image.new("RGB", (8, 4), RED)
    original = encode(photo(), "MPO", save_all=True, append_images=[preview], exif=phone_exif(1).tobytes())
    assert reopen(original).format == "MPO"
    cleaned = clean_image(original, "image/jpeg", keep_location=False)
    image = reopen(cleaned)
    assert (image.format, getattr(image, "n_frames", 1), image.size) == ("JPEG", 1, (WIDTH, HEIGHT))
    assert_no_trace_of_the_phone(cleaned)


# --- PNG, WebP, GIF, TIFF -----------------------------------------------------------------------

def png_with_text() -> bytes:
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", OWNER)
    text.add_itxt("Description", f"{MODEL} ảnh", lang="vi")
    text.add_text("Software", SOFTWARE, zip=True)
    return encode(photo(), "PNG", pnginfo=text, icc_profile=ICC, exif=phone_exif(1).tobytes())


@pytest.mark.parametrize("keep_location", [False, True])
def test_png_loses_its_text_chunks_and_device_exif(keep_location):
    original = png_with_text()
    assert all(chunk in original for chunk in (b"tEXt", b"iTXt", b"zTXt", b"eXIf"))
    cleaned = clean_image(original, "image/png", keep_location=keep_location)
    image = reopen(cleaned)
    assert image.format == "PNG" and image.size == (WIDTH, HEIGHT)
    assert not any(chunk in cleaned for chunk in (b"tEXt", b"iTXt", b"zTXt"))
    assert getattr(image, "text", {}) == {}
    assert_no_trace_of_the_phone(cleaned)
    assert image.info["icc_profile"] == ICC
    if keep_location:
        assert only_gps(image) == GPS
    else:
        assert b"eXIf" not in cleaned and dict(image.getexif()) == {}


def test_palette_png_keeps_its_transparent_colour():
    palette_image = Image.new("P", (4, 4), 1)
    palette_image.putpalette([*RED, *BLUE])
    original = encode(palette_image, "PNG", transparency=1)
    assert reopen(original).convert("RGBA").getpixel((0, 0)) == (*BLUE, 0)
    image = reopen(clean_image(original, "image/png", keep_location=False))
    assert image.mode == "P" and image.convert("RGBA").getpixel((0, 0)) == (*BLUE, 0)


webp_exif = pytest.mark.skipif(not features.check("webp"), reason="Pillow built without WebP")


@webp_exif
@pytest.mark.parametrize("keep_location", [False, True])
def test_webp_loses_its_exif_and_xmp(keep_location):
    original = encode(photo(), "WEBP", exif=phone_exif(6).tobytes(), icc_profile=ICC, lossless=True,
                      xmp=f"<x:xmpmeta>{MODEL}</x:xmpmeta>".encode())
    assert MAKE.encode() in original and MODEL.encode() in original
    cleaned = clean_image(original, "image/webp", keep_location=keep_location)
    image = reopen(cleaned)
    assert image.format == "WEBP" and image.size == (HEIGHT, WIDTH)
    assert_no_trace_of_the_phone(cleaned)
    assert "xmp" not in image.info and image.info["icc_profile"] == ICC
    assert image.convert("RGB").getpixel((HEIGHT - 1, 0)) == RED  # lossless stays lossless
    if keep_location:
        assert only_gps(image) == GPS
    else:
        assert dict(image.getexif()) == {}


def test_animated_gif_loses_its_comment_and_keeps_its_frames():
    frames = [Image.new("RGB", (8, 8), colour) for colour in (RED, BLUE, (0, 255, 0))]
    original = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=[100, 200, 300],
                      loop=0, comment=f"{OWNER} {MODEL}".encode())
    cleaned = clean_image(original, "image/gif", keep_location=False)
    image = reopen(cleaned)
    assert image.format == "GIF" and "comment" not in image.info and image.info["loop"] == 0
    assert_no_trace_of_the_phone(cleaned)
    timings = []
    for index in range(image.n_frames):
        image.seek(index)
        timings.append((image.info["duration"], image.convert("RGB").getpixel((0, 0))))
    assert timings == [(100, RED), (200, BLUE), (300, (0, 255, 0))]


def test_multi_page_tiff_loses_its_tags_and_keeps_its_pages():
    pages = [photo(), Image.new("RGB", (10, 10), RED)]
    tags = {ExifTags.Base.Make: MAKE, ExifTags.Base.Model: MODEL, ExifTags.Base.Artist: OWNER}
    original = encode(pages[0], "TIFF", save_all=True, append_images=pages[1:], tiffinfo=tags,
                      software=SOFTWARE, compression="tiff_lzw", icc_profile=ICC)
    cleaned = clean_image(original, "image/tiff", keep_location=False)
    image = reopen(cleaned)
    assert (image.format, image.n_frames, image.info["compression"]) == ("TIFF", 2, "tiff_lzw")
    assert_no_trace_of_the_phone(cleaned)
    assert image.info["icc_profile"] == ICC
    image.seek(1)
    assert image.size == (10, 10)


# --- what is not a readable image ---------------------------------------------------------------

def test_a_pdf_is_not_an_image():
    pdf = encode(photo(), "PDF")
    assert pdf.startswith(b"%PDF") and clean_image(pdf, "application/pdf", keep_location=False) is None


def test_the_content_decides_not_the_claimed_type():
    assert reopen(clean_image(phone_jpeg(), "application/pdf", keep_location=False)).format == "JPEG"
    assert clean_image(b"%PDF-1.7 not a photo", "image/jpeg", keep_location=False) is None


@pytest.mark.parametrize("data", [
    pytest.param(phone_jpeg()[:600], id="truncated jpeg"),
    pytest.param(png_with_text()[:-40], id="truncated png"),
    pytest.param(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00 then garbage", id="corrupt jpeg"),
    pytest.param(b"", id="empty"),
])
def test_unreadable_bytes_give_none(data):
    assert clean_image(data, "image/jpeg", keep_location=False) is None


@pytest.mark.parametrize("limit", [WIDTH * HEIGHT - 1, WIDTH * HEIGHT // 3], ids=["warning", "error"])
def test_a_decompression_bomb_gives_none(monkeypatch, limit):
    """Pillow may warn on open (no process-wide filter is touched: cleaning runs in a worker
    thread); the pixel budget refuses the image either way."""
    original = phone_jpeg()
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        assert clean_image(original, "image/jpeg", keep_location=False) is None


@pytest.mark.parametrize("fmt", ["TGA", "ICO"])
def test_formats_outside_the_cleanable_list_are_not_decoded(fmt):
    original = encode(photo(), fmt)
    assert Image.open(io.BytesIO(original)).format == fmt  # Pillow itself would read it
    assert clean_image(original, "image/x-other", keep_location=False) is None


def test_frames_share_one_pixel_budget(monkeypatch):
    frames = [Image.new("RGB", (8, 8), colour) for colour in (RED, BLUE, RED)]
    original = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 8 * 8 * 2)  # two frames' worth, not three
    assert clean_image(original, "image/gif", keep_location=False) is None


def test_is_image():
    assert is_image(None, "photo") and is_image("image/jpeg", "photo")
    assert is_image("image/heic", "document") and is_image("IMAGE/PNG", "document")
    assert not is_image("application/pdf", "document") and not is_image(None, "document")


def close_to(pixel: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected))
