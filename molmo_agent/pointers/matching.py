"""Scoring how well a piece of on-screen text names a target. Shared by the `ocr` and `dom` pointers."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

_NOISE = re.compile(r"[^\w$€£%@.+:/-]+")


def normalize(text: str) -> str:
    return " ".join(_NOISE.sub(" ", text.lower()).split())


def match_score(target: str, text: str) -> tuple[float, float, float]:
    """(score, start, end): score in 0..1, and the fraction of `text` that the match spans."""
    want, have = normalize(target), normalize(text)
    if not want or not have:
        return 0.0, 0.0, 1.0
    if want == have:
        return 1.0, 0.0, 1.0
    match = re.search(rf"(?<!\w){re.escape(want)}(?!\w)", have)
    if match:
        extra = 1 - len(want) / len(have)
        return 0.9 - 0.2 * extra, match.start() / len(have), match.end() / len(have)
    ratio = SequenceMatcher(None, want, have, autojunk=False).ratio()
    if ratio >= 0.8:
        return 0.8 * ratio, 0.0, 1.0
    return 0.0, 0.0, 1.0
