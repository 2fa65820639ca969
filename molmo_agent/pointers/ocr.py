"""`ocr` pointer, the embedded default: pixels only.

Reads the screenshot with rapidocr's bundled models and matches the target to the recognised text.
For a field, it looks beside and below the label for the input box's borders.
"""

from __future__ import annotations

import hashlib
import io

import numpy as np
from PIL import Image

from ..errors import PointerError
from ..observation import Observation
from ..points import Point, Space
from .base import PointerAnswer
from .matching import match_score

MIN_SCORE = 0.55
EDGE = 24  # grey-level step that counts as a border


class OcrPointer:
    name = "ocr"
    needs_elements = False

    def __init__(self) -> None:
        from rapidocr_onnxruntime import RapidOCR  # loads ~15 MB of models; only when used

        self._engine = RapidOCR()
        self._cache: tuple[str, np.ndarray, list] | None = None

    def read(self, observation: Observation) -> tuple[np.ndarray, list[tuple[tuple[float, float, float, float], str, float]]]:
        """The screenshot at CSS size (grey) and its text lines as ((x0, y0, x1, y1), text, confidence)."""
        key = hashlib.sha1(observation.screenshot).hexdigest()
        if self._cache and self._cache[0] == key:
            return self._cache[1], self._cache[2]
        image = Image.open(io.BytesIO(observation.screenshot)).convert("RGB")
        if image.size != tuple(observation.viewport):
            image = image.resize(observation.viewport, Image.Resampling.LANCZOS)  # OCR at CSS size is faster
        pixels = np.asarray(image)
        found, _ = self._engine(pixels)
        lines = []
        for box, text, confidence in found or []:
            xs, ys = [p[0] for p in box], [p[1] for p in box]
            lines.append(((min(xs), min(ys), max(xs), max(ys)), text, float(confidence)))
        grey = np.asarray(image.convert("L"), dtype=np.int16)
        self._cache = (key, grey, lines)
        return grey, lines

    def locate(self, target: str, observation: Observation, *, field: bool = False) -> PointerAnswer:
        grey, lines = self.read(observation)
        best = None
        for order, (box, text, confidence) in enumerate(lines):
            score, start, end = match_score(target, text)
            if score >= MIN_SCORE and (best is None or score > best[0]):
                best = (score, box, text, start, end)
        if best is None:
            seen = ", ".join(repr(t) for _, t, _ in lines[:8]) or "no text at all"
            raise PointerError(f"{target!r} not found on screen (read: {seen})")
        score, (x0, y0, x1, y1), text, start, end = best
        # The match may be part of a longer line: take its share of the line's width.
        x0, x1 = x0 + (x1 - x0) * start, x0 + (x1 - x0) * end
        x, y, how = (x0 + x1) / 2, (y0 + y1) / 2, "text"
        if field:
            box = field_next_to(grey, (x0, y0, x1, y1))
            if box is not None:
                x, y, how = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, "field beside label"
        raw = f"ocr: {text!r} matched {target!r} ({score:.2f}); pointing at the {how}"
        height, width = grey.shape
        return PointerAnswer(
            raw=raw, points=[Point(x=x, y=y, space=Space.IMAGE, label=text)], image_size=(width, height)
        )


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


def field_next_to(grey: np.ndarray, label: tuple[float, float, float, float]):
    """The input box that a label names: just below it (stacked forms) or to its right (inline)."""
    x0, y0, x1, y1 = (int(v) for v in label)
    below = _box_between(grey, x0 - 12, x0 + 420, y1 + 1, y1 + 90, min_len=60)
    cy = (y0 + y1) // 2
    right = _box_between(grey, x1 + 2, x1 + 460, cy - 45, cy + 45, min_len=60)
    if right is not None and not right[1] <= cy <= right[3]:
        right = None
    if below and right:
        return below if below[1] - y1 <= right[0] - x1 else right
    return below or right
