"""Uploaded images for 网络红页: the bytes must really be a JPEG or PNG, and only their pixels are kept.

A file is accepted when its first bytes are a JPEG or PNG signature, Pillow decodes it completely as
that format, and it is within the byte and pixel limits. It is then drawn again as a fresh JPEG:
metadata (EXIF, comments), anything appended after the image data and any other payload are gone.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from app.services.errors import ServiceRefusal

MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # per file, as sent (DOMAIN.md §7.4: JPG/PNG ≤ 5–10 MB)
MAX_PIXELS = 25_000_000  # pixels decoded at most (about 100 MB): refuses decompression bombs before decoding
MAX_SIDE = 1920  # stored images are scaled down to fit 1920 × 1920: a page never needs more
JPEG_QUALITY = 85
SIGNATURES = {b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG"}
NOT_AN_IMAGE = "上传的文件不是有效的 JPG 或 PNG 图片，请选择图片文件后重新上传"


@dataclass(frozen=True)
class CleanImage:
    data: bytes  # a JPEG drawn from the decoded pixels only
    width: int
    height: int


def clean_image(upload: bytes) -> CleanImage:
    """The upload re-encoded as a clean JPEG, or ServiceRefusal saying why not."""
    if not upload:
        raise ServiceRefusal("请选择要上传的图片", field="image")
    if len(upload) > MAX_UPLOAD_BYTES:
        raise ServiceRefusal(f"图片不能超过 {MAX_UPLOAD_BYTES // (1024 * 1024)} MB，请压缩后重新上传", field="image")
    expected = next((kind for magic, kind in SIGNATURES.items() if upload.startswith(magic)), None)
    if expected is None:
        raise ServiceRefusal(NOT_AN_IMAGE, field="image")
    pixels = _decode(upload, expected)
    return _redraw(pixels)


def _decode(upload: bytes, expected: str) -> Image.Image:
    try:
        with warnings.catch_warnings():  # Pillow's own, higher bomb limit: ours below is stricter
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(upload), formats=[expected])
        if expected == "JPEG":  # a big photo is decoded at 1/2, 1/4 or 1/8 scale: never more than we keep
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise ServiceRefusal("图片像素过多，请缩小尺寸后重新上传", field="image")
        image.load()  # decodes every pixel: a truncated or forged body fails here
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise ServiceRefusal(NOT_AN_IMAGE, field="image") from error
    return image


def _redraw(image: Image.Image) -> CleanImage:
    upright = ImageOps.exif_transpose(image)  # apply the camera's rotation before its EXIF is dropped
    if upright.mode in ("RGBA", "LA", "P"):
        upright = upright.convert("RGBA")
        canvas = Image.new("RGB", upright.size, "white")
        canvas.paste(upright, mask=upright.getchannel("A"))
        upright = canvas
    rgb = upright.convert("RGB")
    rgb.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    rgb.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return CleanImage(out.getvalue(), rgb.width, rgb.height)
