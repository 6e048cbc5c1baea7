"""Generated placeholder images (demo data, tests), drawn with Pillow."""

import io

from django.core.files.base import ContentFile
from PIL import Image, ImageDraw


def placeholder_png(text="", size=(256, 256), color=(11, 107, 203), name="image.png"):
    image = Image.new("RGB", size, color)
    draw = ImageDraw.Draw(image)
    if text:
        draw.text(
            (size[0] // 2, size[1] // 2), text[:3].upper(), fill=(255, 255, 255), anchor="mm", font_size=size[1] // 3
        )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return ContentFile(buffer.getvalue(), name=name)
