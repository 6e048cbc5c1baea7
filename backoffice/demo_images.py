"""Demo pictures drawn with Pillow: app icons, and proof screenshots that look like a phone showing the named app.

Nothing here is loaded from disk or the network (Pillow's bundled font), so `make run` works offline.
"""

import io
import random

from django.core.files.base import ContentFile
from PIL import Image, ImageDraw, ImageFont

SCREEN = (360, 740)  # a phone screen at 1x, small enough to draw hundreds quickly
STATUS_BAR = 28
APP_BAR = 64
TAB_BAR = 56

# What each kind of app lists on its main screen: (title, detail) pairs, picked per screenshot.
CONTENT = {
    "games": [
        ("Level 12", "3 stars · best 14,200"),
        ("Daily challenge", "Ends in 6 h"),
        ("Level 13", "Locked · 2 stars needed"),
        ("Tournament", "You are #48 of 1,204"),
        ("Treasure chest", "Open in 42 min"),
        ("Level 11", "3 stars · best 12,950"),
    ],
    "finance": [
        ("Groceries", "-42.10 · Today"),
        ("Salary", "+2,350.00 · Mon"),
        ("Rent", "-950.00 · 1 Nov"),
        ("Coffee", "-3.80 · Yesterday"),
        ("Savings goal", "68 % of 1,500"),
        ("Phone bill", "-19.99 · 28 Oct"),
    ],
    "shopping": [
        ("Oat milk, 1 l", "1.89 · in basket"),
        ("Linen shirt", "29.00 · sizes S-XL"),
        ("Free delivery", "on orders over 40"),
        ("Order #48213", "Arrives tomorrow"),
        ("Sourdough loaf", "3.20 · bakery"),
        ("Sneakers", "-20 % this week"),
    ],
    "health": [
        ("Steps today", "8,412 of 10,000"),
        ("Morning run", "5.2 km · 27 min"),
        ("Sleep", "7 h 24 min · good"),
        ("Water", "6 of 8 glasses"),
        ("Yoga flow", "20 min · beginner"),
        ("Heart rate", "62 bpm resting"),
    ],
}


def _font(size):
    return ImageFont.load_default(size=size)


def _png(image, name):
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return ContentFile(buffer.getvalue(), name=name)


def _lighter(color, amount):
    return tuple(int(c + (255 - c) * amount) for c in color)


def _initials(name):
    words = name.split()
    return (words[0][0] + (words[1][0] if len(words) > 1 else words[0][1])).upper()


def _draw_icon(draw, box, name, color, radius):
    draw.rounded_rectangle(box, radius=radius, fill=color)
    x0, y0, x1, y1 = box
    size = y1 - y0
    draw.text(((x0 + x1) / 2, (y0 + y1) / 2), _initials(name), fill="white", anchor="mm", font=_font(int(size * 0.42)))


def app_icon(name, color, size=256):
    """A rounded-square launcher icon: the app's colour and initials."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    _draw_icon(ImageDraw.Draw(image), (0, 0, size - 1, size - 1), name, color, radius=size // 5)
    return _png(image, "icon.png")


def phone_screenshot(app_name, color, kind, seed=0, name="screenshot.png"):
    """A phone screenshot of `app_name`: status bar, the app's header with its icon and name, a list of what such
    an app shows (`kind`: games, finance, shopping, health), a tab bar, and rounded corners."""
    rng = random.Random(seed)
    width, height = SCREEN
    image = Image.new("RGBA", SCREEN, (255, 255, 255, 255))
    draw = ImageDraw.Draw(image)
    dark = tuple(int(c * 0.8) for c in color)

    # Status bar: time, signal bars, battery.
    draw.rectangle((0, 0, width, STATUS_BAR), fill=dark)
    draw.text(
        (16, STATUS_BAR / 2),
        f"{rng.randint(8, 22)}:{rng.randint(0, 59):02d}",
        fill="white",
        anchor="lm",
        font=_font(13),
    )
    for i in range(4):
        bar_height = 4 + 2 * i
        draw.rectangle((width - 76 + 6 * i, 19 - bar_height, width - 72 + 6 * i, 19), fill="white")
    draw.rounded_rectangle((width - 42, 9, width - 16, 20), radius=3, outline="white", width=2)
    draw.rectangle((width - 40, 11, width - 40 + rng.randint(8, 22), 18), fill="white")

    # App bar: icon and name.
    top = STATUS_BAR
    draw.rectangle((0, top, width, top + APP_BAR), fill=color)
    _draw_icon(draw, (14, top + 12, 54, top + 52), app_name, _lighter(color, 0.35), radius=10)
    draw.text((66, top + APP_BAR / 2), app_name, fill="white", anchor="lm", font=_font(22))

    # The list.
    rows = CONTENT.get(kind, CONTENT["games"])[:]
    rng.shuffle(rows)
    y = top + APP_BAR + 12
    tint = _lighter(color, 0.8)
    for title, detail in rows:
        if y + 84 > height - TAB_BAR:
            break
        draw.rounded_rectangle((12, y, width - 12, y + 76), radius=12, fill=(246, 247, 249), outline=(228, 231, 235))
        draw.rounded_rectangle((24, y + 14, 72, y + 62), radius=10, fill=tint)
        draw.ellipse((38, y + 28, 58, y + 48), fill=color)
        draw.text((86, y + 26), title, fill=(27, 31, 36), anchor="lm", font=_font(17))
        draw.text((86, y + 52), detail, fill=(91, 101, 112), anchor="lm", font=_font(14))
        y += 86

    # Tab bar.
    draw.rectangle((0, height - TAB_BAR, width, height), fill=(250, 250, 252))
    draw.line((0, height - TAB_BAR, width, height - TAB_BAR), fill=(228, 231, 235))
    for i in range(4):
        cx = width * (2 * i + 1) / 8
        fill = color if i == 0 else (170, 176, 184)
        draw.rounded_rectangle((cx - 11, height - 42, cx + 11, height - 22), radius=5, fill=fill)
    draw.rounded_rectangle((width / 2 - 60, height - 8, width / 2 + 60, height - 4), radius=2, fill=(27, 31, 36))

    # Rounded screen corners.
    mask = Image.new("L", SCREEN, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, width - 1, height - 1), radius=36, fill=255)
    image.putalpha(mask)
    return _png(image, name)
