"""What a PNG shows, for tests that look at pictures: its size in pixels and how many pixels have
each exact colour (matplotlib draws solid fills in exactly the colour it is given)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from PIL import Image


def png_facts(path: Path) -> tuple[tuple[int, int], Counter]:
    with Image.open(path) as image:
        assert image.format == "PNG", path
        rgb = image.convert("RGB")
        return rgb.size, Counter(zip(*(iter(rgb.tobytes()),) * 3, strict=True))


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
