"""Screenshot proofs as stored: metadata stripped, format-true extension, and a perceptual hash to compare them."""

import io
from dataclasses import dataclass

import imagehash
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageOps

# Formats kept as they are; anything else (GIF) is stored as PNG (its first frame).
KEPT_FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "WEBP": ("webp", "image/webp")}


@dataclass(frozen=True)
class CleanProof:
    file: SimpleUploadedFile
    phash: str  # 16 hex digits (64 bits)


def clean_proof_image(upload):
    """Re-encode an already validated image: orientation applied, EXIF/GPS/XMP and text chunks dropped, the file
    named with the extension of its real format, and its perceptual hash (pHash)."""
    upload.seek(0)
    with Image.open(upload) as source:
        image_format = source.format
        image = ImageOps.exif_transpose(source)
        image.load()
    image.info = {}  # nothing of the original metadata goes back out
    extension, content_type = KEPT_FORMATS.get(image_format, KEPT_FORMATS["PNG"])
    save_format = image_format if image_format in KEPT_FORMATS else "PNG"
    if save_format == "JPEG" and image.mode not in ("RGB", "L", "CMYK"):
        image = image.convert("RGB")
    buffer = io.BytesIO()
    options = {"quality": 92} if save_format in ("JPEG", "WEBP") else {}
    image.save(buffer, format=save_format, **options)
    phash = str(imagehash.phash(image))
    return CleanProof(SimpleUploadedFile(f"proof.{extension}", buffer.getvalue(), content_type=content_type), phash)


def hash_distance(first, second):
    """Hamming distance between two hex pHashes."""
    return bin(int(first, 16) ^ int(second, 16)).count("1")
