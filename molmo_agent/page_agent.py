"""Steps on a page you already have: the library's entry for tests and scripts that own their Playwright.

    from molmo_agent import PageAgent
    agent = PageAgent(page, pointer="ocr", secrets={"USER": "ada@example.com"})
    agent.run('click "Sign in", type "{{USER}}" into "Email", press Enter')

The page is a Playwright `Page` from the sync API (pytest-playwright's `page` fixture, or your own). Every
`run` records a trace like `molmo-agent run` does, and leaves the page where the steps took it.
"""

from __future__ import annotations

import os
from pathlib import Path

from .agent import RunResult
from .browser import Browser
from .cache import PointCache
from .errors import ConfigError, MolmoAgentError
from .pointers import Pointer, make_pointer
from .policies import StepsPolicy
from .redaction import PLACEHOLDER, Secrets
from .run import record_run
from .tasks import RunRules


class StepsFailed(MolmoAgentError):
    """The steps did not all succeed; `result` holds the run and its trace."""

    def __init__(self, result: RunResult, secrets: Secrets) -> None:
        end = result.end
        super().__init__(f"{secrets.redact(end.reason or end.status)} (trace: {result.run_dir})")
        self.result = result


class PageAgent:
    def __init__(self, page, *, pointer: str | Pointer = "ocr", endpoint: str | None = None, model: str | None = None,
                 api_key: str | None = None, secrets: dict[str, str] | None = None,
                 cache: PointCache | None = None, out: str | Path = "traces", max_steps: int = 50,
                 allow_domains: list[str] = (), env_secrets: bool = False) -> None:
        """`secrets` fill `{{NAME}}` placeholders; with `env_secrets`, a name not given is read from the
        environment variable NAME. Values are typed, never written, logged or cached."""
        self.page = page
        self.pointer = make_pointer(pointer, endpoint=endpoint, model=model, api_key=api_key) \
            if isinstance(pointer, str) else pointer
        self.secrets = dict(secrets or {})
        self.env_secrets = env_secrets
        self.cache, self.out, self.max_steps = cache, Path(out), max_steps
        self.allow_domains = list(allow_domains)
        self.results: list[RunResult] = []

    def _secrets(self, steps: str) -> Secrets:
        values = dict(self.secrets)
        for name in PLACEHOLDER.findall(steps):
            if name not in values and self.env_secrets:
                if not os.environ.get(name):
                    raise ConfigError(f"a step uses {{{{{name}}}}} but the environment variable {name} is not set")
                values[name] = os.environ[name]
        return Secrets(values)

    def run(self, steps: str, *, check: bool = True) -> RunResult:
        """Run `steps` (the step language) from wherever the page is. With `check`, a run that does not
        succeed raises `StepsFailed` naming the step and the reason."""
        policy = StepsPolicy(steps)  # a step that cannot be read fails here, before anything is done
        secrets = self._secrets(steps)
        if self.cache is not None:
            self.cache.secrets = secrets
        with Browser.on_page(self.page, secrets=secrets, allow_domains=self.allow_domains) as browser:
            result = record_run(browser, policy, self.pointer, out=self.out, name=steps, goal=steps, start_url=None,
                                secrets=secrets, rules=RunRules(max_steps=self.max_steps), cache=self.cache)
        self.results.append(result)
        if check and result.status != "success":
            raise StepsFailed(result, secrets)
        return result
