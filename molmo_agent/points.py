"""Reading points out of model text, and mapping them onto the viewport.

Formats (see DESIGN.md):
- Molmo v1: ``<point x="61.5" y="40.6" alt="..">label</point>`` and
  ``<points x1=".." y1=".." x2=".." y2=".." alt="..">label</points>``, percent of the image.
- Molmo2: ``<points coords="1 1 900 400 2 911 800">label</points>``: an image index, then
  ``id x y`` triplets in thousandths. Groups for several images are separated by ``;``.
- MolmoWeb: JSON ``{"thought": .., "action": {"name": "click", "x": 61.5, "y": 40.6}}`` or a bare action
  (its grounding mode), percent; its whole protocol is in `protocols/molmoweb.py`.
- Older UI actions: ``Click(61.5, 40.6)``, percent.

Every function here takes arbitrary text and either returns a value or raises `PointParseError`.
"""

from __future__ import annotations

import json
import math
import re
from enum import Enum

from pydantic import BaseModel

from .errors import PointParseError


class Space(str, Enum):
    """The coordinate system a point is expressed in."""

    PERCENT = "percent"  # 0-100 of the image (Molmo v1, MolmoWeb)
    PERMILLE = "permille"  # 0-1000 of the image (Molmo2)
    IMAGE = "image"  # pixels of the image that was looked at
    CSS = "css"  # CSS pixels of the viewport

    @property
    def full_scale(self) -> float | None:
        return {Space.PERCENT: 100.0, Space.PERMILLE: 1000.0}.get(self)


class Point(BaseModel):
    x: float
    y: float
    space: Space
    label: str | None = None
    image_index: int | None = None


_ATTR = re.compile(r'([A-Za-z_][\w-]*)\s*=\s*"([^"]*)"')
_POINT_TAG = re.compile(r"<point\b([^>]*)>(.*?)</point>", re.S | re.I)
_POINTS_TAG = re.compile(r"<points\b([^>]*)>(.*?)</points>", re.S | re.I)
_CLICK = re.compile(r"\b(?:click|Click|CLICK)\s*\(\s*([-+\d.eE]+)\s*,\s*([-+\d.eE]+)\s*\)")


def _number(raw: str, what: str, text: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise PointParseError(f"{what} is not a number: {raw[:40]!r}", text) from None
    if not math.isfinite(value):
        raise PointParseError(f"{what} is not finite: {raw[:40]!r}", text)
    return value


def _checked(x: float, y: float, space: Space, text: str, **extra) -> Point:
    top = space.full_scale
    if top is not None and not (0 <= x <= top and 0 <= y <= top):
        raise PointParseError(f"point ({x}, {y}) is outside 0-{top:g} for {space.value}", text)
    return Point(x=x, y=y, space=space, **extra)


def _molmo_v1(attrs: dict[str, str], label: str, text: str) -> list[Point]:
    alt = attrs.get("alt") or label.strip() or None
    if "x" in attrs and "y" in attrs:
        pairs = [(attrs["x"], attrs["y"])]
    else:
        indices = sorted({k[1:] for k in attrs if re.fullmatch(r"x\d+", k)}, key=int)
        pairs = [(attrs[f"x{i}"], attrs[f"y{i}"]) for i in indices if f"y{i}" in attrs]
    return [
        _checked(_number(x, "x", text), _number(y, "y", text), Space.PERCENT, text, label=alt)
        for x, y in pairs
    ]


def _molmo2(coords: str, label: str | None, text: str) -> list[Point]:
    points = []
    for group in re.split(r"[;,]", coords):
        numbers = group.split()
        if not numbers:
            continue
        if (len(numbers) - 1) % 3 or len(numbers) < 4:
            raise PointParseError(
                f"coords group {group.strip()[:60]!r} is not 'image id x y [id x y ...]'", text
            )
        image = int(_number(numbers[0], "image index", text))
        for i in range(1, len(numbers), 3):
            x = _number(numbers[i + 1], "x", text)
            y = _number(numbers[i + 2], "y", text)
            points.append(_checked(x, y, Space.PERMILLE, text, label=label, image_index=image))
    return points


def parse_points(text: str) -> list[Point]:
    """All points in `text`, in order. Raises `PointParseError` when there are none."""
    if not isinstance(text, str):
        raise PointParseError(f"expected model text, got {type(text).__name__}", "")
    points: list[Point] = []
    for tag in (_POINT_TAG, _POINTS_TAG):
        for match in tag.finditer(text):
            attrs = dict(_ATTR.findall(match.group(1)))
            label = match.group(2).strip()
            if "coords" in attrs:
                points += _molmo2(attrs["coords"], attrs.get("alt") or label or None, text)
            else:
                points += _molmo_v1(attrs, label, text)
    if not points:
        for match in _CLICK.finditer(text):
            x, y = (_number(v, c, text) for v, c in zip(match.groups(), "xy"))
            points.append(_checked(x, y, Space.PERCENT, text))
    if not points:
        action = _json_action(text)
        if action is not None and "x" in action and "y" in action:
            x, y = (_number(str(action[c]), c, text) for c in "xy")
            points.append(_checked(x, y, Space.PERCENT, text))
    if not points:
        raise PointParseError(f"no point in model text: {_preview(text)}", text)
    return points


def json_object(text: str) -> dict | None:
    """The first JSON object in `text`; whatever follows it (a model rambling on) is ignored."""
    start = text.find("{")
    while start != -1:
        try:
            data, _ = json.JSONDecoder().raw_decode(text, start)
        except (ValueError, RecursionError):
            start = text.find("{", start + 1)
            continue
        return data if isinstance(data, dict) else None
    return None


def _json_action(text: str) -> dict | None:
    data = json_object(text)
    action = data.get("action", data) if data is not None else None
    return action if isinstance(action, dict) else None


def _preview(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return repr(flat[:limit] + ("..." if len(flat) > limit else ""))


def to_css(
    point: Point,
    *,
    image_size: tuple[int, int],
    viewport: tuple[int, int],
) -> tuple[float, float]:
    """Map a point to CSS pixels of the viewport, clamped inside it.

    The image is the viewport screenshot as it was sent to the model, possibly resized and taken
    at any device scale factor; the point is placed by its fraction of that image, so neither the
    scale factor nor a resize can shift it.
    """
    vw, vh = viewport
    if point.space is Space.CSS:
        x, y = point.x, point.y
    else:
        if point.space is Space.IMAGE:
            fx, fy = point.x / image_size[0], point.y / image_size[1]
        else:
            fx, fy = point.x / point.space.full_scale, point.y / point.space.full_scale
        x, y = fx * vw, fy * vh
    return min(max(x, 0.0), vw - 1.0), min(max(y, 0.0), vh - 1.0)
