"""`ocr` pointer, the embedded default: pixels only.

Parses the screenshot into controls (OpenCV, `screen.py`) and text lines (rapidocr's bundled models), then
matches the target to the text. A role phrase ("the 2nd text field") picks among the controls; a field's
label leads to its field by layout (`layout.py`); a button's text to the button. Small text is read again
at a higher resolution: the device's pixels on a HiDPI screenshot, else an enlarged copy. A screenshot that
differs from the last one read in a few places has only those places read again.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import statistics
from collections.abc import Callable
from dataclasses import dataclass, replace
from difflib import SequenceMatcher

import cv2
import numpy as np
from PIL import Image

from ..errors import PointerError
from ..observation import Box as BoxModel
from ..observation import Observation, Seen
from ..points import Point, Space
from .base import PointerAnswer
from .layout import by_role, field_for
from .matching import match_score, normalize, role_target
from .screen import (Box, Control, TextLine, content_box, find_controls, kind_counts, overlaps, refine,
                     split_at_controls)

MIN_SCORE = 0.55
EDGE = 24  # grey-level step that counts as a border (the fallback field finder)
READ_SCALE = 2.0  # image pixels per CSS pixel the text is read at, where the region is small enough
READ_BUDGET = 1.5e6  # image pixels the text detector is given at most on a first reading
SMALL_TEXT = 15  # CSS px: a region read smaller than READ_SCALE is read again if its median line is lower
CLOSE_READ = 4.0  # image pixels per CSS pixel for a short word that reads close to a target but not as it
SHORT = 12  # characters: a target this short is worth a closer reading of the words that nearly match it


@dataclass
class Screen:
    """One screenshot parsed: at CSS size, as the pointer saw it."""

    size: tuple[int, int]
    controls: list[Control]
    lines: list[TextLine]
    grey: np.ndarray
    reread: Callable[[Box, float], str] | None = None  # reads one box's text again at a given scale


@dataclass
class Grounding:
    """Where a target was found and how: what `inspect` draws and a step's record explains."""

    point: tuple[float, float]
    how: str
    text: str
    score: float
    label: Box | None = None
    control: Control | None = None


class OcrPointer:
    name = "ocr"
    needs_elements = False

    def __init__(self) -> None:
        self._cache: tuple[str, Screen] | None = None
        # The last screenshot read: its grey CSS pixels, its text, and its device size.
        self._read: tuple[np.ndarray, list[TextLine], tuple[int, int]] | None = None

    @functools.cached_property
    def _engine(self):
        """rapidocr's models (~15 MB), loaded at the first reading: a run whose every step comes from the
        point cache never loads them."""
        from rapidocr_onnxruntime import RapidOCR

        # The detector works at the scale it is given (by default it scales every image to 736 px on its short
        # side): `parse` chooses the scale, enlarging small regions and sparing large ones.
        # onnxruntime takes every core and spins on them unless told; OMP_NUM_THREADS, which it ignores itself,
        # is how a user (or an eval of several workers) shares a machine's cores out.
        threads = os.environ.get("OMP_NUM_THREADS", "")
        return RapidOCR(det_limit_type="max", det_limit_side_len=4096,
                        **({"intra_op_num_threads": int(threads)} if threads.isdigit() else {}))

    # -- reading --------------------------------------------------------------------------------
    def parse(self, screenshot: bytes, viewport: tuple[int, int]) -> Screen:
        """The controls and text lines of a screenshot, in CSS pixels (cached for the last screenshot)."""
        key = hashlib.sha1(screenshot).hexdigest()
        if self._cache and self._cache[0] == key:
            return self._cache[1]
        device = Image.open(io.BytesIO(screenshot)).convert("RGB")
        css = device if device.size == tuple(viewport) else device.resize(viewport, Image.Resampling.LANCZOS)
        pixels = np.asarray(css)
        controls = find_controls(pixels)
        grey = np.asarray(css.convert("L"), dtype=np.int16)
        region = content_box(pixels)
        area = (region[2] - region[0]) * (region[3] - region[1])
        lines = self._read_changes(device, css.size, grey, area)
        if lines is None:
            # Only the part that shows anything is read, at READ_SCALE image pixels per CSS pixel (the device's
            # pixels on a HiDPI screenshot) where that stays within READ_BUDGET: short words and small text are
            # found at that size. A larger region is read smaller, and again enlarged if its text is small.
            scale = min(READ_SCALE, max(1.0, (READ_BUDGET / max(area, 1.0)) ** 0.5))
            lines = self._read_region(device, css.size, region, scale)
            if scale < READ_SCALE and (not lines or statistics.median(t.box[3] - t.box[1] for t in lines) < SMALL_TEXT):
                lines = self._read_region(device, css.size, region, READ_SCALE) or lines
        self._read = (grey, lines, device.size)
        controls = refine(controls, lines, grey)
        reread = functools.partial(self._reread, device, css.size)
        screen = Screen(css.size, controls, split_at_controls(lines, controls, reread), grey, reread)
        self._cache = (key, screen)
        return screen

    def _read_changes(self, device: Image.Image, size: tuple[int, int], grey: np.ndarray,
                      content: float) -> list[TextLine] | None:
        """The text lines of a screenshot that differs from the last one read in a few places (text typed, a
        box ticked, a focus ring): the last reading where nothing changed, a new one of each changed place.
        None when the page moved or changed much of its `content` (px²): then all of it is read again."""
        if self._read is None or self._read[2] != device.size:  # another page size, or another device scale
            return None
        before, lines, _ = self._read
        changed = changed_places(before, grey, lines, MOST_CHANGED * content)
        if changed is None:
            return None
        kept = [t for t in lines if not any(overlaps(t.box, box) for box in changed)]
        return kept + [line for box in changed for line in self._read_region(device, size, box, READ_SCALE)]

    def _region_pixels(self, device: Image.Image, size: tuple[int, int], region: Box, per_css: float):
        """`region` (CSS px) cut from the device image, at `per_css` image pixels per CSS pixel."""
        device_per_css = device.width / size[0]
        crop = device.crop(tuple(int(round(v * device_per_css)) for v in region))
        if abs(device_per_css - per_css) > 0.05:
            factor = per_css / device_per_css
            crop = crop.resize((max(1, int(crop.width * factor)), max(1, int(crop.height * factor))),
                               Image.Resampling.LANCZOS)
        return np.asarray(crop), crop.width / max(region[2] - region[0], 1)

    def _read_region(self, device: Image.Image, size: tuple[int, int], region: Box, per_css: float) -> list[TextLine]:
        pixels, scale = self._region_pixels(device, size, region, per_css)
        found, _ = self._engine(pixels)
        lines = []
        for box, text, confidence in found or []:
            xs, ys = [p[0] for p in box], [p[1] for p in box]
            lines.append(TextLine((region[0] + min(xs) / scale, region[1] + min(ys) / scale,
                                   region[0] + max(xs) / scale, region[1] + max(ys) / scale), text, float(confidence)))
        return lines

    def _reread(self, device: Image.Image, size: tuple[int, int], box: Box, per_css: float = READ_SCALE) -> str:
        """The text in one piece of a line, recognised alone (no detection: the piece is the line)."""
        pixels, _ = self._region_pixels(device, size, box, per_css)
        found, _ = self._engine(pixels, use_det=False, use_cls=False)
        return found[0][0] if found else ""

    # -- pointing -------------------------------------------------------------------------------
    def ground(self, target: str, screen: Screen, *, field: bool = False) -> Grounding:
        role = role_target(target)
        if role is not None:
            control = by_role(*role, screen.controls)
            if control is not None:
                return Grounding(control.center, f"{control.kind} by role", target, 1.0, control=control)
        best = None
        for line in _with_neighbours(screen.lines):
            score, start, end = match_score(target, line.text)
            if score < MIN_SCORE:
                continue
            # A label (outside any field) for a field; a button's own text for a click.
            if field and line.inside is None or not field and line.inside is not None and line.inside.kind == "button":
                score += 0.04
            if _quoted(line.text, start, end):
                score -= 0.3  # 'Click on the link "Eget"': an instruction that names the target, not the target
            if field and line.inside is None and field_for(_span(line.box, start, end), screen.controls, screen.lines):
                score += 0.1  # text that leads to a field is a label; the same word in a sentence is not
            if best is None or score > best[0]:
                best = (score, line, start, end)
        if best is None or best[0] < 0.9:
            best = self._read_closer(target, screen, best)
        if best is None:
            raise PointerError(self._not_found(target, screen))
        score, line, start, end = best
        label = _span(line.box, start, end)
        text_point = ((label[0] + label[2]) / 2, (label[1] + label[3]) / 2)
        if field:
            control = field_for(label, screen.controls, screen.lines)
            if control is not None:
                how = "text in the field" if line.inside is control else "field by layout"
                return Grounding(control.center, how, line.text, score, label, control)
            box = field_next_to(screen.grey, label, screen.controls)
            if box is not None:
                return Grounding(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), "field beside label", line.text,
                                 score, label, Control("field", tuple(float(v) for v in box)))
        elif line.inside is not None and line.inside.kind == "button":
            return Grounding(line.inside.center, "button", line.text, score, label, line.inside)
        elif (box := tick_box_beside(label, screen.controls, screen.lines)) is not None:
            # The box itself: a click on its words ticks it only where the page ties them to it.
            return Grounding(box.center, f"{box.kind} beside its words", line.text, score, label, box)
        return Grounding(text_point, "text", line.text, score, label)

    @staticmethod
    def _read_closer(target: str, screen: Screen, best):
        """Short words that read nearly as a short target, read again enlarged: small uppercase labels
        come out wrong at one image pixel per CSS pixel ("CVV" as "cvw") and right at four."""
        want = normalize(target).replace(" ", "")
        if screen.reread is None or not want or len(want) > SHORT:
            return best
        closeness = {id(line): SequenceMatcher(None, want, normalize(line.text).replace(" ", "")).ratio()
                     for line in screen.lines if len(line.text) <= SHORT + 4}
        near = sorted((line for line in screen.lines if closeness.get(id(line), 0) >= 0.4),
                      key=lambda line: -closeness[id(line)])
        for line in near[:4]:
            x0, y0, x1, y1 = line.box
            text = screen.reread((x0 - 2, y0 - 2, x1 + 2, y1 + 2), CLOSE_READ).strip()
            score, start, end = match_score(target, text)
            if score >= MIN_SCORE and (best is None or score > best[0]):
                best = (score, replace(line, text=text), start, end)
        return best

    def locate(self, target: str, observation: Observation, *, field: bool = False) -> PointerAnswer:
        screen = self.parse(observation.screenshot, tuple(observation.viewport))
        found = self.ground(target, screen, field=field)
        raw = f"ocr: {found.text!r} matched {target!r} ({found.score:.2f}); pointing at the {found.how}"
        x, y = found.point
        return PointerAnswer(raw=raw, points=[Point(x=x, y=y, space=Space.IMAGE, label=found.text)],
                             image_size=screen.size, seen=seen(screen, found))

    @staticmethod
    def _not_found(target: str, screen: Screen) -> str:
        want = normalize(target)
        close = sorted(screen.lines, key=lambda t: -SequenceMatcher(None, want, normalize(t.text)).ratio())[:4]
        seen = ", ".join(repr(t.text) for t in close) or "no text at all"
        return f"{target!r} not found on screen (closest text: {seen}; controls seen: {kind_counts(screen.controls)})"


CHANGED = 12  # grey levels: a pixel that moved less is the same pixel (antialiasing, a shadow's dithering)
CHANGE_PAD = 8  # px around a changed place, so the words in it are read whole
CHANGE_MIN = (96.0, 48.0)  # px: the least width and height a changed place is read at
MOST_CHANGED = 0.35  # share of what the screen shows: past it (a scroll, a new page) reading it all is as quick
MOST_PLACES = 12  # changed places: past them (an animated background) one reading of it all is quicker


def changed_places(before: np.ndarray, after: np.ndarray, lines: list[TextLine], most: float) -> list[Box] | None:
    """The boxes where `after` differs from `before` (grey, CSS px), each grown to take in whole any line of
    text it touches; [] when nothing changed, None when they cover more than `most` px² (or are too many)."""
    diff = (np.abs(after - before) > CHANGED).astype(np.uint8)
    if not diff.any():
        return []
    h, w = diff.shape
    count, _, stats, _ = cv2.connectedComponentsWithStats(cv2.dilate(diff, np.ones((CHANGE_PAD, CHANGE_PAD), np.uint8)))
    # Each place with room around it: the text detector misses a glyph given alone ("x" on a close button).
    boxes = [_at_least((float(x - CHANGE_PAD), float(y - CHANGE_PAD), float(x + bw + CHANGE_PAD),
                        float(y + bh + CHANGE_PAD)), *CHANGE_MIN) for x, y, bw, bh, _ in stats[1:count]]
    while True:  # grow over the lines they touch and merge those that meet, until nothing more joins
        grown = []
        for box in boxes:
            for line in lines:
                if overlaps(box, line.box):
                    box = _union(box, _pad(line.box, 4))
            merged = next((i for i, other in enumerate(grown) if overlaps(box, other)), None)
            if merged is None:
                grown.append(box)
            else:
                grown[merged] = _union(grown[merged], box)
        if len(grown) == len(boxes):
            break
        boxes = grown
    boxes = [(max(b[0], 0.0), max(b[1], 0.0), min(b[2], float(w)), min(b[3], float(h))) for b in grown]
    if len(boxes) > MOST_PLACES or sum((b[2] - b[0]) * (b[3] - b[1]) for b in boxes) > most:
        return None
    return boxes


def _at_least(box: Box, width: float, height: float) -> Box:
    """`box` grown about its middle to at least `width` x `height`."""
    grow_x, grow_y = max(width - (box[2] - box[0]), 0) / 2, max(height - (box[3] - box[1]), 0) / 2
    return box[0] - grow_x, box[1] - grow_y, box[2] + grow_x, box[3] + grow_y


def _union(a: Box, b: Box) -> Box:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _pad(box: Box, by: float) -> Box:
    return box[0] - by, box[1] - by, box[2] + by, box[3] + by


BESIDE = 60  # px between a checkbox or radio and the words it stands for


def tick_box_beside(words: Box, controls: list[Control], lines: list[TextLine]) -> Control | None:
    """The checkbox or radio that stands for the words: the one just before them on their row, or just
    after. With one on each side ("Light mode (o) Dark mode (o)", "Ship to: (o) Home (o) Shop"), the side the
    page puts its boxes on elsewhere, where only one side has words; boxes first where nothing tells."""
    sides: dict[str, list[tuple[float, Control]]] = {"before": [], "after": []}
    for control in controls:
        if control.kind in ("checkbox", "radio") and _same_row(control.box, words):
            side, gap = _side(control.box, words)
            if side and gap <= BESIDE:
                sides[side].append((gap, control))
    if sides["before"] and sides["after"]:
        votes = {"before": 0, "after": 0}
        for control in controls:
            if control.kind in ("checkbox", "radio"):
                found = {side for line in lines if _same_row(control.box, line.box)
                         for side, gap in [_side(control.box, line.box)] if side and gap <= BESIDE}
                if len(found) == 1:  # words on one side of it only: this page puts its boxes on that side
                    votes[found.pop()] += 1
        sides["before" if votes["after"] > votes["before"] else "after"] = []  # the other side's box is another's
    near = sides["before"] or sides["after"]
    return min(near, key=lambda n: n[0])[1] if near else None


def _same_row(box: Box, words: Box) -> bool:
    return min(box[3], words[3]) - max(box[1], words[1]) >= 0.5 * min(words[3] - words[1], box[3] - box[1])


def _side(box: Box, words: Box) -> tuple[str | None, float]:
    """Whether a box stands before or after the words, and how far from them. OCR often takes the box into
    the line it reads (as a space, an "O"): its middle is what counts."""
    width, middle = box[2] - box[0], (box[0] + box[2]) / 2
    if middle < words[0] + width:
        return "before", max(words[0] - box[2], 0.0)
    if middle > words[2] - width:
        return "after", max(box[0] - words[2], 0.0)
    return None, 0.0


def _span(box: Box, start: float, end: float) -> Box:
    """The share of a line's box that a match spans (glyphs taken as even in width)."""
    x0, y0, x1, y1 = box
    return x0 + (x1 - x0) * start, y0, x0 + (x1 - x0) * end, y1


def _box(box: Box) -> BoxModel:
    return BoxModel(x=box[0], y=box[1], width=box[2] - box[0], height=box[3] - box[1])


def seen(screen: Screen, found: Grounding | None = None) -> list[Seen]:
    """The controls on the screen and, for a grounding, the text it matched and the control it chose (the
    screen is at CSS size, so these are CSS pixels)."""
    out = [Seen(kind=c.kind, box=_box(c.box)) for c in screen.controls]
    if found is not None and found.label is not None:
        out.append(Seen(kind="label", box=_box(found.label)))
    if found is not None and found.control is not None:
        out.append(Seen(kind="chosen", box=_box(found.control.box)))
    return out


QUOTES = "\"'“”‘’«»"


def _quoted(text: str, start: float, end: float) -> bool:
    """Whether the matched share of `text` stands between quotation marks."""
    if end - start >= 0.999:
        return False
    a, b = round(start * len(text)), round(end * len(text))
    return text[max(a - 1, 0):a].strip() in tuple(QUOTES) and text[b:b + 1].strip() in tuple(QUOTES) and a > 0


def _with_neighbours(lines: list[TextLine]) -> list[TextLine]:
    """Every line, and every pair of lines that follow each other closely on a row (OCR splits a label in two
    where the spacing is wide: "Family" "name"), joined with a space."""
    out = list(lines)
    for a in lines:
        for b in lines:
            height = a.box[3] - a.box[1]
            same_row = min(a.box[3], b.box[3]) - max(a.box[1], b.box[1]) > 0.5 * height
            if a is not b and a.inside is b.inside and same_row and -0.5 * height <= b.box[0] - a.box[2] < 0.8 * height and b.box[0] > a.box[0]:
                box = (a.box[0], min(a.box[1], b.box[1]), b.box[2], max(a.box[3], b.box[3]))
                out.append(TextLine(box, f"{a.text} {b.text}", min(a.confidence, b.confidence), a.inside))
    return out


def _runs(mask_row: np.ndarray, min_len: int) -> list[tuple[int, int]]:
    """Runs of True at least `min_len` long, as (start, end) column pairs."""
    padded = np.concatenate(([False], mask_row, [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(a, b) for a, b in zip(edges[::2], edges[1::2]) if b - a >= min_len]


def _box_between(grey: np.ndarray, x_lo: int, x_hi: int, y_lo: int, y_hi: int, min_len: int):
    """The first box in a region: two long horizontal edges 14-80 px apart, overlapping in x."""
    h, w = grey.shape
    x_lo, x_hi, y_lo, y_hi = max(x_lo, 0), min(x_hi, w), max(y_lo, 1), min(y_hi, h)
    if x_hi - x_lo < min_len or y_hi <= y_lo:
        return None
    step = np.abs(grey[y_lo:y_hi, x_lo:x_hi] - grey[y_lo - 1:y_hi - 1, x_lo:x_hi]) > EDGE
    rows = [(y_lo + r, run) for r in range(step.shape[0]) for run in _runs(step[r], min_len)]
    for i, (top, (a, b)) in enumerate(rows):
        for bottom, (c, d) in rows[i + 1:]:
            if 14 <= bottom - top <= 80 and min(b, d) - max(a, c) >= 0.8 * min(b - a, d - c):
                return x_lo + max(a, c), top, x_lo + min(b, d), bottom
    return None


def field_next_to(grey: np.ndarray, label: Box, controls: list[Control] = ()):
    """A box just below or right of a label, from long horizontal edges alone: for what `find_controls` does
    not see as a closed outline (a <select> with its arrow, a field drawn with a bottom line only). Edges
    that belong to a control already seen are not evidence: the gap between two fields is not a field."""
    x0, y0, x1, y1 = (int(v) for v in label)
    below = _own(_box_between(grey, x0 - 12, x0 + 420, y1 + 1, y1 + 90, min_len=60), controls)
    cy = (y0 + y1) // 2
    right = _own(_box_between(grey, x1 + 2, x1 + 460, cy - 45, cy + 45, min_len=60), controls)
    if right is not None and not right[1] <= cy <= right[3]:
        right = None
    if below and right:
        return below if below[1] - y1 <= right[0] - x1 else right
    return below or right


def _own(box, controls: list[Control]):
    """`box`, unless one of its edges is a seen control's border or it lies over a seen control."""
    if box is None:
        return None
    for control in controls:
        cx0, cy0, cx1, cy1 = control.extent
        if min(box[2], cx1) - max(box[0], cx0) <= 0:
            continue
        if abs(box[1] - cy1) <= 4 or abs(box[3] - cy0) <= 4 or abs(box[1] - cy0) <= 4 \
                or (min(box[3], cy1) - max(box[1], cy0)) > 0.5 * (box[3] - box[1]):
            return None
    return box
