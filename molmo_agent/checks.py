"""Success checks: what must be true of the page when a run says it is done."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from .browser import scripts

if TYPE_CHECKING:
    from .browser import Browser


KINDS = ("url", "text", "js", "element", "answer")


class Check(BaseModel):
    """Exactly one of: `url` (a regex searched in the URL), `text` (visible on the page), `js` (a truthy
    expression), `element` (a CSS selector, with `state`), `answer` (a regex the final answer matches)."""

    model_config = ConfigDict(extra="forbid")
    url: str | None = None
    text: str | None = None
    js: str | None = None
    element: str | None = None
    state: Literal["exists", "visible", "hidden", "checked", "unchecked", "enabled", "disabled"] = "visible"
    answer: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> "Check":
        if sum(getattr(self, k) is not None for k in KINDS) != 1:
            raise ValueError(f"a check has exactly one of {', '.join(KINDS)}")
        return self

    def describe(self) -> str:
        kind = next(k for k in KINDS if getattr(self, k) is not None)
        suffix = f" is {self.state}" if kind == "element" else ""
        return f"{kind} {getattr(self, kind)!r}{suffix}"


def holds(browser: "Browser", check: Check, answer: str | None = None) -> bool:
    if check.url is not None:
        return re.search(check.url, browser.page.url) is not None
    if check.text is not None:
        body = browser.evaluate(scripts.VISIBLE_TEXT) or ""
        return " ".join(check.text.split()).lower() in " ".join(body.split()).lower()
    if check.js is not None:
        return bool(browser.evaluate(f"() => ({check.js})"))
    if check.element is not None:
        return bool(browser.evaluate(scripts.ELEMENT_STATE, [check.element, check.state]))
    return answer is not None and re.search(check.answer, answer, re.I) is not None


def failed_checks(browser: "Browser", checks: list[Check], answer: str | None = None) -> list[str]:
    """The checks that do not hold on the current page, described for a person."""
    return [check.describe() for check in checks if not holds(browser, check, answer)]
