"""Success checks: what must be true of the page when a run says it is done."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, model_validator

if TYPE_CHECKING:
    from .browser import Browser


class Check(BaseModel):
    """Exactly one of: `url` (a regex searched in the URL), `text` (visible on the page), `js` (truthy)."""

    model_config = ConfigDict(extra="forbid")
    url: str | None = None
    text: str | None = None
    js: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> "Check":
        if sum(v is not None for v in (self.url, self.text, self.js)) != 1:
            raise ValueError("a check has exactly one of url, text, js")
        return self

    def describe(self) -> str:
        kind, value = next((k, v) for k, v in self.model_dump().items() if v is not None)
        return f"{kind} {value!r}"


def failed_checks(browser: "Browser", checks: list[Check]) -> list[str]:
    """The checks that do not hold on the current page, described for a person."""
    failures = []
    for check in checks:
        if check.url is not None:
            ok = re.search(check.url, browser.page.url) is not None
        elif check.text is not None:
            body = browser.evaluate("() => document.body ? document.body.innerText : ''") or ""
            ok = " ".join(check.text.split()).lower() in " ".join(body.split()).lower()
        else:
            ok = bool(browser.evaluate(f"() => ({check.js})"))
        if not ok:
            failures.append(check.describe())
    return failures
