"""Scoring how well a piece of on-screen text names a target. Shared by the `ocr` and `dom` pointers."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

_NOISE = re.compile(r"[^\w$€£%@.+:/×✕✖-]+")


def normalize(text: str) -> str:
    return " ".join(_NOISE.sub(" ", text.lower()).split())


# Glyphs that mean the same control whatever its accessible name says.
SAME_CONTROL = [{"x", "×", "✕", "✖", "close"}]


def match_score(target: str, text: str) -> tuple[float, float, float]:
    """(score, start, end): score in 0..1.05, and the fraction of `text` that the match spans."""
    want, have = normalize(target), normalize(text)
    if not want or not have:
        return 0.0, 0.0, 1.0
    if want == have:
        return (1.05 if target.strip() == text.strip() else 1.0), 0.0, 1.0  # the exact case wins a tie
    if any(want in group and have in group for group in SAME_CONTROL):
        return 0.95, 0.0, 1.0
    match = re.search(rf"(?<!\w){re.escape(want)}(?!\w)", have)
    if match:
        extra = 1 - len(want) / len(have)
        return 0.9 - 0.2 * extra, match.start() / len(have), match.end() / len(have)
    # OCR drops spaces and glues radio circles to labels ("Displayname", "O DesignO Sales").
    want_c, have_c = want.replace(" ", ""), have.replace(" ", "")
    if want_c == have_c:
        return 0.97, 0.0, 1.0
    at = have_c.find(want_c)
    if at >= 0:
        positions = [i for i, ch in enumerate(have) if ch != " "]  # compact index -> index in `have`
        start, end = positions[at], positions[at + len(want_c) - 1] + 1
        return 0.8 - 0.2 * (1 - len(want_c) / len(have_c)), start / len(have), end / len(have)
    ratio = SequenceMatcher(None, want_c, have_c, autojunk=False).ratio()
    if ratio >= 0.8:
        return 0.8 * ratio, 0.0, 1.0
    return 0.0, 0.0, 1.0


# Generic words for kinds of element, as instructions use them ("the 2nd text field", "the list").
ROLE_WORDS: dict[str, set[str]] = {
    "textbox": {"text field", "textfield", "text box", "textbox", "text input", "input", "input textbox",
                "input field", "field", "input box", "search box", "text"},
    "textarea": {"textarea", "text area"},
    "button": {"button"},
    "link": {"link"},
    "checkbox": {"checkbox", "check box"},
    "radio": {"radio", "radio button", "option"},
    "combobox": {"list", "dropdown", "drop-down", "drop down", "select", "select box", "menu"},
    "date": {"date", "date field", "date input"},
    "time": {"time", "time field", "time input"},
}
ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
            "fifth": 5, "5th": 5, "last": -1}


def role_target(target: str) -> tuple[str, int | None] | None:
    """("textbox", 2) for "the 2nd text field"; None when the target is not a generic role phrase."""
    words = normalize(target).split()
    if words and words[0] in ("the", "a", "an"):
        words = words[1:]
    ordinal = ORDINALS.get(words[0]) if words else None
    phrase = " ".join(words[1:] if ordinal is not None else words)
    for role, names in ROLE_WORDS.items():
        if phrase in names:
            return role, ordinal
    return None
