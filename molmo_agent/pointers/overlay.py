"""A pixel pointer's reading of a screenshot drawn on it: what `molmo-agent inspect` writes."""

from __future__ import annotations

from PIL import Image, ImageDraw

from ..observation import Seen
from .screen import TextLine

COLOURS = {"field": (229, 83, 75), "area": (229, 83, 75), "button": (49, 109, 202), "checkbox": (45, 164, 78),
           "radio": (45, 164, 78), "addon": (140, 90, 200), "label": (191, 135, 0), "chosen": (255, 0, 128)}


def draw(image: Image.Image, scale: float, seen: list[Seen], lines: list[TextLine],
         links: list[tuple[tuple[float, float], tuple[float, float]]], points: list[tuple[float, float]]) -> Image.Image:
    """`image` (device pixels, `scale` per CSS pixel) with the controls (by kind), the text lines (grey),
    label -> field links and the points (all given in CSS pixels) drawn on it."""
    out = image.convert("RGB")
    pen = ImageDraw.Draw(out)

    def px(box):
        return [box[0] * scale, box[1] * scale, box[2] * scale, box[3] * scale]

    for line in lines:
        pen.rectangle(px(line.box), outline=(140, 140, 140), width=1)
    for item in seen:
        box = (item.box.x, item.box.y, item.box.x + item.box.width, item.box.y + item.box.height)
        pen.rectangle(px(box), outline=COLOURS.get(item.kind, (0, 0, 0)), width=3 if item.kind == "chosen" else 2)
    for (ax, ay), (bx, by) in links:
        pen.line([ax * scale, ay * scale, bx * scale, by * scale], fill=COLOURS["chosen"], width=2)
    for x, y in points:
        r = 8 * scale
        pen.ellipse([x * scale - r, y * scale - r, x * scale + r, y * scale + r], outline=COLOURS["chosen"], width=3)
    return out
