"""Evidence photos cleaned of metadata, so a crime tip-off cannot give its reporter away.

A phone photo carries the phone's make, model and serial number, the owner's name, the time
it was taken, often where, and a thumbnail that can outlive edits; the law requires the
reporter's identity to be protected. So a photo is re-written from its pixels alone: nothing
of the original's EXIF, XMP, IPTC, comments or text chunks is carried over. Only the ICC
profile (colours, not identity) is kept, and the GPS position when the reporter chose to
share their location.

Pure: bytes in, bytes out; the caller decides what to keep and what to refuse.
"""

from __future__ import annotations

import io
from typing import Any

from PIL import ExifTags, Image, ImageOps
from PIL.JpegImagePlugin import JpegImageFile, get_sampling

# Formats Pillow both reads and writes without external programs (EPS would run Ghostscript).
# A phone's JPEG with extra preview images opens as JPEG too, in Pillow's format "MPO":
# only its main image is kept, which Pillow's MPO writer saves as a plain JPEG.
CLEANABLE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP")
# Decoded image state that is not metadata: without it transparent pixels would turn opaque.
PIXEL_INFO_KEYS = ("transparency",)
ANIMATED_FORMATS = ("GIF", "PNG", "WEBP")
REENCODE_QUALITY = 95  # when a lossy image must be re-encoded from changed pixels
ORIENTATION_UPRIGHT = 1


def is_image(mime_type: str | None, kind: str) -> bool:
    """Whether a file should be cleaned: photos always are; documents by their MIME type."""
    return kind == "photo" or (mime_type or "").lower().startswith("image/")


def clean_image(data: bytes, mime_type: str | None, *, keep_location: bool) -> bytes | None:
    """The image re-written in its own format without metadata, or None if it is not a
    readable image (a PDF, corrupt or truncated bytes, a decompression bomb).

    The content decides the format: `mime_type` is only what the sender claims, so it is
    not used to pick a decoder. With `keep_location` the EXIF GPS block stays, nothing else.
    """
    try:
        return _rewrite(data, keep_location)  # the pixel budget (_upright_frames) stops bombs
    except Exception:  # noqa: BLE001 - hostile bytes make Pillow raise all kinds of errors
        return None


def _rewrite(data: bytes, keep_location: bool) -> bytes:
    with Image.open(io.BytesIO(data), formats=CLEANABLE_FORMATS) as image:
        source_format = image.format or ""
        options = {**_kept_metadata(image, keep_location), **_format_options(image, data),
                   **_loop_option(image)}  # all read from the first frame, before seeking
        frames = _upright_frames(image, _frame_count(image))
    if len(frames) > 1:
        options.update(_sequence_options(source_format, frames))
    output = io.BytesIO()
    first, *others = [_without_metadata(frame) for frame in frames]
    if others:
        options.update(save_all=True, append_images=others)
    first.save(output, format=source_format, **options)
    return output.getvalue()


def _kept_metadata(image: Image.Image, keep_location: bool) -> dict[str, Any]:
    """The ICC profile, and the GPS block when the reporter shared their location."""
    kept: dict[str, Any] = {"icc_profile": image.info.get("icc_profile")}
    location = _location_exif(image) if keep_location else None
    if location is not None:
        kept["exif"] = location
    return kept


def _location_exif(image: Image.Image) -> bytes | None:
    """An EXIF block holding only the GPS IFD (0x8825), or None when the photo has none."""
    gps = image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    if not gps:
        return None
    exif = Image.Exif()
    exif[ExifTags.IFD.GPSInfo] = gps  # a dict: tobytes() writes it as the nested GPS IFD
    return exif.tobytes()


def _orientation(image: Image.Image) -> Any:
    return image.getexif().get(ExifTags.Base.Orientation, ORIENTATION_UPRIGHT)


def _frame_count(image: Image.Image) -> int:
    """All pages of a TIFF and frames of an animation; a phone JPEG's previews are dropped."""
    return 1 if image.format == "MPO" else getattr(image, "n_frames", 1)


def _upright_frames(image: Image.Image, count: int) -> list[Image.Image]:
    """Each frame as a new image, turned the way its EXIF orientation says.

    Pillow's bomb check covers only the first frame, so all frames share its pixel budget:
    many pages of a small file must not fill the memory either.
    """
    budget = Image.MAX_IMAGE_PIXELS
    frames = []
    for index in range(count):
        image.seek(index)
        if budget is not None:
            budget -= image.width * image.height
            if budget < 0:
                raise Image.DecompressionBombError("frames exceed the pixel limit")
        frames.append(ImageOps.exif_transpose(image))
    return frames


def _without_metadata(frame: Image.Image) -> Image.Image:
    """The frame with no info left for a saver to copy (some read comments or ICC from it)."""
    frame.info = {key: frame.info[key] for key in PIXEL_INFO_KEYS if key in frame.info}
    return frame


def _format_options(image: Image.Image, data: bytes) -> dict[str, Any]:
    """Encoder settings that keep the quality and size of the original."""
    if isinstance(image, JpegImageFile):  # MPO included
        return _jpeg_options(image, upright=_orientation(image) == ORIENTATION_UPRIGHT)
    if image.format == "WEBP":
        # "VP8L" names a lossless bitstream; finding it by chance in lossy data only costs size
        return {"lossless": True} if b"VP8L" in data else {"quality": REENCODE_QUALITY}
    if image.format == "TIFF" and isinstance(image.info.get("compression"), str):
        return {"compression": image.info["compression"]}
    return {}


def _jpeg_options(image: JpegImageFile, upright: bool) -> dict[str, Any]:
    """Unturned pixels keep the original's quantization and subsampling (what Pillow's
    `quality="keep"` does, which works only when saving the opened file itself, metadata
    and all); turned pixels are re-encoded at a high quality."""
    progressive = bool(image.info.get("progressive"))
    if not upright:
        return {"quality": REENCODE_QUALITY, "progressive": progressive}
    return {"qtables": image.quantization, "subsampling": get_sampling(image),
            "progressive": progressive}


def _loop_option(image: Image.Image) -> dict[str, Any]:
    """How often an animation repeats; absent from a GIF meant to play once."""
    loop = image.info.get("loop") if image.format in ANIMATED_FORMATS else None
    return {} if loop is None else {"loop": loop}


def _sequence_options(source_format: str, frames: list[Image.Image]) -> dict[str, Any]:
    """Each frame's display time, read before the frames' info is cleared."""
    if source_format not in ANIMATED_FORMATS:
        return {}
    return {"duration": [frame.info.get("duration", 0) for frame in frames]}
