"""Upload handling shared by every app: random storage names and strict image validation."""

import uuid
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from PIL import Image

ALLOWED_IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGE_PIXELS = 25_000_000


@deconstructible
class RandomName:
    """upload_to that stores files as <folder>/<yyyy>/<mm>/<uuid>.<ext>: nothing the uploader names survives."""

    def __init__(self, folder):
        self.folder = folder

    def __call__(self, instance, filename):
        from django.utils import timezone

        ext = PurePath(filename).suffix.lower().lstrip(".")[:8] or "bin"
        now = timezone.now()
        return f"{self.folder}/{now:%Y/%m}/{uuid.uuid4().hex}.{ext}"

    def __eq__(self, other):
        return isinstance(other, RandomName) and other.folder == self.folder


def check_declared_size(upload, *, max_bytes, message, code):
    """Refuse an upload whose declared size (if it has one) is over `max_bytes`, before reading it. `message` may
    name %(size)s and %(limit)s, both in MB."""
    size = getattr(upload, "size", None)
    if size is not None and size > max_bytes:
        raise ValidationError(
            message, code=code, params={"size": round(size / 1024 / 1024, 1), "limit": max_bytes // 1024 // 1024}
        )


def validate_image(upload, max_bytes=MAX_IMAGE_BYTES, max_pixels=MAX_IMAGE_PIXELS):
    """Refuse anything that is not a real, reasonably sized JPEG/PNG/WebP/GIF image.

    Decompression bombs are caught by checking the declared size before decoding, then decoding fully.
    """
    if upload is None:
        return
    check_declared_size(
        upload,
        max_bytes=max_bytes,
        message="The image is %(size)s MB; the limit is %(limit)s MB.",
        code="image_too_large",
    )
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            image_format = image.format
            width, height = image.size
            if width * height > max_pixels:
                raise ValidationError(
                    "The image is %(w)s×%(h)s pixels; at most %(limit)s million pixels are allowed.",
                    code="image_too_many_pixels",
                    params={"w": width, "h": height, "limit": max_pixels // 1_000_000},
                )
            image.load()
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValidationError("The image is too large to process.", code="image_bomb") from exc
    except Exception as exc:
        raise ValidationError("The file is not a valid image.", code="not_an_image") from exc
    finally:
        upload.seek(0)
    if image_format not in ALLOWED_IMAGE_FORMATS:
        raise ValidationError(
            "Images must be JPEG, PNG, WebP or GIF (this one is %(format)s).",
            code="image_format",
            params={"format": image_format or "unknown"},
        )
