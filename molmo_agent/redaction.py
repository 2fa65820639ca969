"""Secrets: typed into pages through `{{NAME}}` placeholders, never written, logged or sent."""

from __future__ import annotations

import re

from .errors import ConfigError

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class Secrets:
    def __init__(self, values: dict[str, str] | None = None) -> None:
        self._values = {k: v for k, v in (values or {}).items()}
        for name, value in self._values.items():
            if not value:
                raise ConfigError(f"secret {name} is empty; pass --secret {name}=VALUE")

    @classmethod
    def from_options(cls, options: list[str]) -> "Secrets":
        values = {}
        for option in options:
            name, sep, value = option.partition("=")
            if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ConfigError(f"--secret expects NAME=value, got {name!r}")
            values[name] = value
        return cls(values)

    def values(self) -> list[str]:
        """The values themselves: only for the page, which shows them anyway."""
        return list(self._values.values())

    def __bool__(self) -> bool:
        return bool(self._values)

    def fill(self, text: str) -> str:
        """The text with placeholders replaced by values: only for the keyboard."""

        def value(match: re.Match) -> str:
            name = match.group(1)
            if name not in self._values:
                raise ConfigError(f"step uses {{{{{name}}}}} but no --secret {name}=... was given")
            return self._values[name]

        return PLACEHOLDER.sub(value, text)

    def redact(self, text: str) -> str:
        """The text with every secret value replaced by its placeholder."""
        for name, value in sorted(self._values.items(), key=lambda kv: -len(kv[1])):
            text = text.replace(value, "{{" + name + "}}")
        return text

    @staticmethod
    def uses_secret(text: str) -> bool:
        return bool(PLACEHOLDER.search(text))
