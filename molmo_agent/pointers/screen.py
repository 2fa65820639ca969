"""Screen parsing from pixels: the controls a screenshot shows, found with OpenCV.

Borders are found at any thickness and contrast as the morphological gradient (the largest step within
a pixel's 3x3 neighbourhood), closed outlines become rectangles, and each rectangle is read by its size,
shape and what is inside it: a text field, a text area, a button (a filled box), a checkbox (a small
square) or a radio button (a small circle); a long line with room above it and nothing on it is a field
drawn as an underline. Boxes drawn edge to edge on one row are an input group (a field with add-ons: "@",
"$", a URL prefix, a unit, a button): the member filled like the page around it is the field, a member
filled otherwise that reads as a field is an add-on, and the field carries the group's box. Coordinates
are the image's pixels.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

Kind = Literal["field", "area", "button", "checkbox", "radio", "addon"]
Box = tuple[float, float, float, float]  # x0, y0, x1, y1

GRADIENT = 16  # the smallest step between neighbouring pixels that counts as a border (0-255)


@dataclass(frozen=True)
class Control:
    kind: Kind
    box: Box
    group: Box | None = None  # a field's input group with its add-ons: where its label stands is measured from it

    @property
    def center(self) -> tuple[float, float]:
        return (self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2

    @property
    def extent(self) -> Box:
        return self.group or self.box


@dataclass(frozen=True)
class TextLine:
    box: Box
    text: str
    confidence: float = 1.0
    inside: Control | None = None  # the field it is written in (a placeholder or typed text), if any


def kind_counts(controls: list[Control]) -> str:
    """"3 fields, 1 button": what a screen holds, for messages."""
    counts = Counter(c.kind for c in controls)
    return ", ".join(f"{n} {kind}{'s' if n > 1 else ''}" for kind, n in counts.items()) or "no controls"


def reading_order(box: Box) -> tuple[float, float]:
    return round(box[1] / 12), box[0]


def _border_mask(grey: np.ndarray) -> np.ndarray:
    kernel = np.ones((3, 3), np.uint8)
    gradient = cv2.morphologyEx(grey, cv2.MORPH_GRADIENT, kernel)
    return (gradient >= GRADIENT).astype(np.uint8)


def _sides(mask: np.ndarray, x: int, y: int, w: int, h: int) -> float:
    """How much of the weakest of a box's four sides is border: a drawn box scores near 1, a blob of text less."""
    band = 3
    top = mask[y:y + band, x + 3:x + w - 3].max(axis=0).mean()
    bottom = mask[y + h - band:y + h, x + 3:x + w - 3].max(axis=0).mean()
    left = mask[y + 3:y + h - 3, x:x + band].max(axis=1).mean()
    right = mask[y + 3:y + h - 3, x + w - band:x + w].max(axis=1).mean()
    return float(min(top, bottom, left, right))


def _run(column: np.ndarray) -> int:
    """How many pixels from the start of `column` are border, without a break."""
    off = np.flatnonzero(column == 0)
    return int(off[0]) if off.size else len(column)


def _round(mask: np.ndarray, x: int, y: int, w: int, h: int) -> bool:
    """A small circle's outline: border all round, and none in the box's corners."""
    cx, cy, rx, ry = x + w / 2 - 0.5, y + h / 2 - 0.5, w / 2 - 1, h / 2 - 1
    angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    on = 0
    for a in angles:
        px, py = int(round(cx + rx * np.cos(a))), int(round(cy + ry * np.sin(a)))
        on += mask[max(py - 1, 0):py + 2, max(px - 1, 0):px + 2].any()
    corners = [mask[y + 1, x + 1], mask[y + 1, x + w - 2], mask[y + h - 2, x + 1], mask[y + h - 2, x + w - 2]]
    return on / len(angles) >= 0.9 and not any(corners)


def _kind(grey: np.ndarray, mask: np.ndarray, x: int, y: int, w: int, h: int) -> Kind | None:
    """What a closed outline of this size and shape is, or None for anything else (a glyph, a picture)."""
    if 13 <= w <= 34 and 13 <= h <= 34 and abs(w - h) <= 2:
        beside = np.concatenate([mask[y:y + h, max(x - 3, 0):x].ravel(), mask[y:y + h, x + w:x + w + 3].ravel()])
        if beside.size and beside.mean() > 0.3:
            return None  # a letter among letters: a control has a margin
        if _round(mask, x, y, w, h):
            return "radio"
        return "checkbox" if _sides(mask, x, y, w, h) >= 0.9 else None
    if w < 24 or h < 14 or h > 400 or (w < 1.6 * h and h > 60) or _sides(mask, x, y, w, h) < 0.9:
        return None
    top, bottom = _run(mask[y:y + h, x + w // 2]), _run(mask[y:y + h, x + w // 2][::-1])
    if top > 6 or bottom > 6:
        return None  # not a thin outline (a focus ring and a border together are at most 6 px)
    padding = np.concatenate([mask[y + top, x + 3:x + w - 3], mask[y + h - 1 - bottom, x + 3:x + w - 3]])
    if padding.mean() > 0.3:
        return None  # edges right inside the outline: a word or a picture, not a box with padding
    inner = grey[y + 3:y + h - 3, x + 3:x + w - 3]
    if inner.size == 0:
        return None
    ring = np.concatenate([grey[max(y - 3, 0), x:x + w], grey[min(y + h + 2, grey.shape[0] - 1), x:x + w]])
    filled = abs(float(np.median(inner)) - float(np.median(ring))) >= 8
    if h <= 60 and (filled or w < 1.6 * h):
        return "button"  # filled with a colour of its own, or too narrow for a field: refine() decides by text
    return "area" if h > 44 else "field"


def content_box(rgb: np.ndarray, pad: int = 12) -> Box:
    """The part of the screenshot that shows anything (edges), padded: where text can be."""
    mask = _border_mask(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    ys, xs = np.nonzero(mask)
    h, w = mask.shape
    if xs.size == 0:
        return 0.0, 0.0, float(w), float(h)
    return (float(max(xs.min() - pad, 0)), float(max(ys.min() - pad, 0)),
            float(min(xs.max() + pad + 1, w)), float(min(ys.max() + pad + 1, h)))


def find_controls(rgb: np.ndarray) -> list[Control]:
    """The controls drawn in an RGB screenshot, in reading order."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    mask = _border_mask(grey)
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    found: list[Control] = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if w < 10 or h < 10:
            continue
        kind = _kind(grey, mask, x, y, w, h)
        if kind is not None:
            found.append(Control(kind, (float(x), float(y), float(x + w), float(y + h))))
    found = _merge(found + _underlines(grey, mask, found))
    # A box around fields, or around several controls, is a group (a fieldset, a panel), not a control; a box
    # inside a field is part of it (a date field's calendar button).
    held = {id(c): [o for o in found if o is not c and _inside(o.box, c.box)] for c in found}
    found = [c for c in found if not (len(held[id(c)]) >= 2 or any(o.kind in ("field", "area") for o in held[id(c)]))]
    found = [c for c in found if not any(o.kind in ("field", "area") and _inside(c.box, o.box) for o in found if o is not c)]
    return sorted(found, key=lambda c: reading_order(c.box))


JOINED = 3  # px: boxes this close on a row, top and bottom level, are drawn as one input group
SHADED = 3  # grey levels: a group member filled this much further from the page than the field is an add-on


def _input_groups(controls: list[Control], grey: np.ndarray) -> list[Control]:
    """Fields and boxes joined edge to edge on a row, told apart: the page's own fill marks the field (an
    add-on is shaded: "@", "$", ".00", a URL prefix), and the field knows the whole group's box."""
    boxes = sorted((c for c in controls if c.kind in ("field", "button")), key=lambda c: c.box[0])
    groups: list[list[Control]] = []
    for control in boxes:
        for group in groups:
            last = group[-1].box
            if abs(control.box[0] - last[2]) <= JOINED and abs(control.box[1] - last[1]) <= JOINED \
                    and abs(control.box[3] - last[3]) <= JOINED:
                group.append(control)
                break
        else:
            groups.append([control])
    replaced: dict[int, Control] = {}
    for group in groups:
        if len(group) < 2 or not any(c.kind == "field" for c in group):
            continue
        x0, y0 = min(c.box[0] for c in group), min(c.box[1] for c in group)
        x1, y1 = max(c.box[2] for c in group), max(c.box[3] for c in group)
        page = float(np.median(np.concatenate([grey[max(int(y0) - 3, 0), int(x0):int(x1)],
                                               grey[min(int(y1) + 2, grey.shape[0] - 1), int(x0):int(x1)]])))
        # Shading can be faint (Bootstrap's add-on is 3% grey): the fields filled nearest the page are the field.
        shade = {id(c): abs(_fill(grey, c.box) - page) for c in group if c.kind == "field"}
        nearest = min(shade.values())
        for control in group:
            if control.kind == "field" and shade[id(control)] - nearest < SHADED:
                replaced[id(control)] = Control("field", control.box, (x0, y0, x1, y1))
            elif control.kind == "field":
                replaced[id(control)] = Control("addon", control.box)
    return [replaced.get(id(c), c) for c in controls]


def _fill(grey: np.ndarray, box: Box) -> float:
    x0, y0, x1, y1 = (int(v) for v in box)
    inner = grey[y0 + 3:y1 - 3, x0 + 3:x1 - 3]
    return float(np.median(inner)) if inner.size else 0.0


UNDERLINE = 80  # px: the shortest bottom line that is drawn as a field (a link's underline is shorter)
UNDERLINE_FIELD = 30  # px: the height taken above it, where its text is typed


def _underlines(grey: np.ndarray, mask: np.ndarray, boxes: list[Control]) -> list[Control]:
    """Fields drawn as a bottom line only: a long, thin horizontal line on one background (the edge of a
    coloured panel has another colour on each side), that is no box's bottom (no sides rise from its ends),
    with room above it (a link's or a heading's underline has its words right on it) and no control there."""
    lines = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((1, UNDERLINE), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(lines)
    found = []
    for x, y, w, h, _ in stats[1:count]:
        if h > 6 or y < UNDERLINE_FIELD + 2 or y + h + 4 > grey.shape[0]:
            continue
        if abs(float(np.median(grey[y - 3, x:x + w])) - float(np.median(grey[y + h + 3, x:x + w]))) >= 8:
            continue
        box = (float(x), float(y - UNDERLINE_FIELD), float(x + w), float(y + h))
        if any(overlaps(c.box, box) for c in boxes):
            continue
        sides = np.concatenate([mask[y - 12:y - 3, x:x + 6].ravel(), mask[y - 12:y - 3, x + w - 6:x + w].ravel()])
        above = mask[y - UNDERLINE_FIELD + 2:y - 2, x:x + w].max(axis=0)
        # A run inside a line of text (bold glyphs touch) has glyphs right above and below it; a rule has neither.
        near = np.concatenate([mask[y - 5:y - 1, x:x + w].max(axis=0), mask[y + h + 1:y + h + 5, x:x + w].max(axis=0)])
        if sides.mean() > 0.2 or above.mean() > 0.6 or near.mean() > 0.3:
            continue
        found.append(Control("field", box))
    return found


def _merge(controls: list[Control]) -> list[Control]:
    """One control per box: a border's inner and outer outlines (and a focus ring) are the same control."""
    kept: list[Control] = []
    for control in sorted(controls, key=lambda c: -(c.box[2] - c.box[0]) * (c.box[3] - c.box[1])):
        if any(_same(control.box, other.box) for other in kept):
            continue
        kept.append(control)
    return kept


def _inside(inner: Box, outer: Box) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


def _same(a: Box, b: Box, slack: float = 5) -> bool:
    return all(abs(p - q) <= slack for p, q in zip(a, b))


def overlaps(a: Box, b: Box) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def contains(outer: Box, x: float, y: float, slack: float = 0) -> bool:
    return outer[0] - slack <= x <= outer[2] + slack and outer[1] - slack <= y <= outer[3] + slack


def refine(controls: list[Control], lines: list[TextLine], grey: np.ndarray) -> list[Control]:
    """Fields and buttons told apart by their text: a button's label sits in its middle, a field's text
    (a placeholder, what was typed, a select's choice) starts at its left; a box with nothing in it is a
    field. Then the input groups among them."""
    out = []
    for control in controls:
        if control.kind in ("field", "button"):
            x0, y0, x1, y1 = control.box
            inside = [t for t in lines if contains(control.box, (t.box[0] + t.box[2]) / 2, (t.box[1] + t.box[3]) / 2)]
            left, right = min((t.box[0] for t in inside), default=x0), max((t.box[2] for t in inside), default=x0)
            centred = bool(inside) and abs((left - x0) - (x1 - right)) <= max(8.0, 0.2 * (x1 - x0))
            # A placeholder as wide as its field is centred too; a button's label has room around it, or the
            # button a colour of its own.
            centred = centred and (control.kind == "button" or left - x0 > 0.12 * (x1 - x0))
            if not centred and not inside and x1 - x0 < 1.6 * (y1 - y0):
                continue  # a small square box with no label in it: a frame, not a control
            control = Control("button" if centred else "field", control.box)
        out.append(control)
    return _input_groups(out, grey)


def split_at_controls(lines: list[TextLine], controls: list[Control], reread=None) -> list[TextLine]:
    """Text lines cut where a field's border crosses them, each piece marked with the field it is inside.

    OCR reads text typed into a field together with the label beside it as one line ("AdaLast name"); cut at
    the border, the label reads alone again. `reread(box)` reads a piece again; without it the cut assumes
    glyphs of even width."""
    fields = [c for c in controls if c.kind in ("field", "area", "button", "addon")]
    out: list[TextLine] = []
    for line in lines:
        pieces = [line]
        for field in fields:
            next_pieces = []
            for piece in pieces:
                next_pieces += _cut(piece, field, reread)
            pieces = next_pieces
        for piece in pieces:
            cx, cy = (piece.box[0] + piece.box[2]) / 2, (piece.box[1] + piece.box[3]) / 2
            inside = next((f for f in fields if contains(f.box, cx, cy)), None)
            out.append(TextLine(piece.box, piece.text, piece.confidence, inside))
    return out


MIN_PIECE = 8  # px: a line that crosses a border by less is the OCR box's slack, not text on both sides


def _cut(line: TextLine, field: Control, reread) -> list[TextLine]:
    x0, y0, x1, y1 = line.box
    fx0, fy0, fx1, fy1 = field.box
    if min(y1, fy1) - max(y0, fy0) < 0.5 * (y1 - y0) or len(line.text) < 2:
        return [line]
    for edge in (fx0, fx1):
        if x0 + MIN_PIECE < edge < x1 - MIN_PIECE:
            share = (edge - x0) / (x1 - x0)
            at = min(max(round(share * len(line.text)), 1), len(line.text) - 1)
            halves = [((x0, y0, edge, y1), line.text[:at]), ((edge, y0, x1, y1), line.text[at:])]
            pieces = []
            for box, text in halves:
                text = (reread(box) if reread else text).strip()
                if text:
                    pieces.append(TextLine(box, text, line.confidence))
            return pieces[:1] + [p for piece in pieces[1:] for p in _cut(piece, field, reread)]
    return [line]
