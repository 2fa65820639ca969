"""One run of one task: the wiring between a task, a policy, a pointer, a browser and a trace."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .agent import Agent, RunResult
from .browser import Browser, BrowserConfig, Chromium, WarmStart
from .pointers import Pointer, make_pointer
from .policies import Policy, StepsPolicy
from .redaction import Secrets
from .sites import serve_site
from .errors import ConfigError
from .harness import MOLMOWEB
from .models.sampling import Sampling
from .tasks import RunRules, Task
from .trace import StepRecord, TraceWriter, new_run_dir


class PointerSettings(BaseModel):
    name: str = "ocr"
    endpoint: str | None = None
    model: str | None = None
    api_key: str | None = None
    timeout_s: float = 60.0
    family: str | None = None
    api: str = "openai"

    def build(self) -> Pointer:
        return make_pointer(self.name, endpoint=self.endpoint, model=self.model, api_key=self.api_key,
                            timeout_s=self.timeout_s, family=self.family, api=self.api)


class ModelSettings(BaseModel):
    """The model a policy asks: at an OpenAI-compatible endpoint when one is given, else in this process."""

    model: str | None = None
    endpoint: str | None = None
    api_key: str | None = None
    timeout_s: float = 60.0
    api: str = "openai"

    def load(self, *, model_option: str, endpoint_option: str):
        if not self.model and not (self.endpoint and self.api == "molmoweb"):  # their API names no model
            raise ConfigError(f"{model_option} is missing: a checkpoint folder or hub id, or with {endpoint_option} "
                              "the model name the endpoint serves")
        if self.endpoint:
            from .models.endpoint import make_endpoint

            return make_endpoint(self.api, self.endpoint, self.model, api_key=self.api_key,
                                 timeout_s=self.timeout_s, option=endpoint_option)
        from .models.loading import load_model

        return load_model(self.model)


class RunSettings(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True, validate_assignment=True)

    pointer: PointerSettings = PointerSettings()
    browser: BrowserConfig = BrowserConfig()
    out: Path = Path("traces")
    max_steps: int | None = None
    policy: str = "steps"
    planner: ModelSettings = ModelSettings()
    sampling: Sampling = Sampling()
    """How a model policy's answers are drawn."""
    history: int = 10
    """Earlier steps a molmoweb policy shows the model (0: all of them, as MolmoWeb's agent reads 0)."""
    guards: bool = False
    """Our guards on top of MolmoWeb's harness for a molmoweb policy (`harness.Harness.guards`)."""
    wait_scale: float = Field(1.0, ge=0)
    """A molmoweb policy: MolmoWeb's fixed waits after each action times this (`harness.Harness.wait_scale`)."""
    end_at_answer: bool = False
    """A molmoweb policy's run ends at `[ANSWER]` as MolmoWeb's client does (`run`); else at `[EXIT]` as its
    benchmark episodes do (`eval`)."""
    secrets: Secrets = Secrets()
    site_url: str | None = None
    """A task's own site is shown at this URL (e.g. http://demo.test/), answered from its loopback server, so
    that every run and recording sees the same addresses instead of a new port each time."""

    @field_validator("site_url")
    @classmethod
    def _an_origin(cls, url: str | None) -> str | None:
        if url is not None:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query:
                raise ConfigError(f"--site-url {url!r} must be an origin such as http://demo.test/ (no path or query)")
        return url


POLICIES = ("steps", "planner", "molmoweb")


def make_policy(task: Task, settings: RunSettings) -> Policy:
    if settings.policy == "molmoweb":  # the policy is the pointing model: --model, at --endpoint if given
        from .policies.molmoweb import MolmoWebPolicy

        pointer = settings.pointer
        model = ModelSettings(model=pointer.model, endpoint=pointer.endpoint, api_key=pointer.api_key,
                              timeout_s=pointer.timeout_s, api=pointer.api)
        harness = MOLMOWEB.with_options(guards=settings.guards, end_at_answer=settings.end_at_answer,
                                        wait_scale=settings.wait_scale)
        return MolmoWebPolicy(model.load(model_option="--model", endpoint_option="--endpoint"),
                              history=settings.history, sampling=settings.sampling, harness=harness)
    if settings.policy == "planner":
        from .policies.planner import PlannerPolicy

        return PlannerPolicy(settings.planner.load(model_option="--planner-model", endpoint_option="--planner"),
                             sampling=settings.sampling)
    if settings.policy != "steps":
        raise ConfigError(f"--policy {settings.policy!r} is not one of {', '.join(POLICIES)}")
    return StepsPolicy(task.plan)


def run_task(
    task: Task,
    settings: RunSettings,
    *,
    pointer: Pointer | None = None,
    on_step: Callable[[StepRecord], None] | None = None,
    on_start: Callable[[Path], None] | None = None,
    chromium: Chromium | None = None,
    should_stop: Callable[[], bool] | None = None,
    warm: WarmStart | None = None,
    policy: Policy | None = None,
) -> RunResult:
    """Run `task` and return its result; the trace is in `result.run_dir`.

    Pass `pointer` to reuse a loaded one across runs, `chromium` to reuse a launched browser, `warm` (with
    `chromium`) to let a task that restarts in place start on the page its previous run left, and `policy` to
    decide with one built elsewhere instead of the one `settings` names.
    """
    policy = policy or make_policy(task, settings)  # a plan that cannot be read fails here, before a browser starts
    warm = warm if task.restart_in_place and chromium is not None else None
    with contextlib.ExitStack() as stack:
        start_url, header = task.url, {}
        if task.site is not None:
            base = warm.site(task.site) if warm else stack.enter_context(serve_site(task.site))
            if settings.site_url:
                shown = settings.site_url.rstrip("/") + "/"
                browser = settings.browser.model_copy(update={"url_map": [(shown, base), *settings.browser.url_map]})
                settings, base = settings.model_copy(update={"browser": browser}), shown
            start_url, header = base + task.path, {"site": str(task.site), "site_url": base}
        rules = task.rules()
        if settings.max_steps:
            rules.max_steps = settings.max_steps
        return run_policy(
            policy, goal=task.goal, name=task.id if task.id != "run" else task.goal, start_url=start_url,
            settings=settings, pointer=pointer, rules=rules, header=header, on_step=on_step,
            on_start=on_start, chromium=chromium, should_stop=should_stop, warm=warm,
        )


def run_policy(
    policy: Policy,
    *,
    goal: str,
    name: str,
    start_url: str | None,
    settings: RunSettings,
    pointer: Pointer | None = None,
    rules: RunRules | None = None,
    header: dict | None = None,
    on_step: Callable[[StepRecord], None] | None = None,
    on_start: Callable[[Path], None] | None = None,
    chromium: Chromium | None = None,
    should_stop: Callable[[], bool] | None = None,
    warm: WarmStart | None = None,
) -> RunResult:
    """Run any policy from `start_url` in a fresh browser context (or on `warm`'s page), recording under
    `settings.out`."""
    pointer = pointer or settings.pointer.build()
    with Browser(settings.browser, settings.secrets, chromium=chromium, warm=warm, should_stop=should_stop) as browser:
        return record_run(browser, policy, pointer, out=settings.out, name=name, goal=goal, start_url=start_url,
                          secrets=settings.secrets, rules=rules, header=header, on_step=on_step, on_start=on_start,
                          should_stop=should_stop)


def record_run(browser: Browser, policy: Policy, pointer: Pointer, *, out: Path, name: str, goal: str,
               start_url: str | None, secrets: Secrets, on_start: Callable[[Path], None] | None = None,
               **agent) -> RunResult:
    """The loop on a browser session someone opened (a run's own, or a caller's page), written to a new run
    directory under `out`. `agent`: the rest of `Agent`'s options."""
    run_dir = new_run_dir(out, name)
    if on_start:
        on_start(run_dir)
    writer = TraceWriter(run_dir, secrets)
    try:
        result = Agent(browser, policy, pointer, writer, **agent).run(goal, start_url)
    finally:
        writer.close()
    browser.save_playwright_trace(run_dir / "playwright-trace.zip")
    return result
