"""Task files (YAML): a goal, where it starts, optional steps, and how to tell it succeeded."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .checks import Check
from .errors import ConfigError


class RunRules(BaseModel):
    """How a run starts, when it ends and how it is judged: what the agent loop needs of a task."""

    model_config = ConfigDict(extra="forbid")

    max_steps: int = Field(30, ge=1, le=500)
    time_limit_s: float | None = Field(None, gt=0, description="wall time for the whole run")
    step_limit_s: float | None = Field(None, gt=0, description="wall time for one step, checked as each ends")
    checks: list[Check] = Field(default_factory=list, description="all must hold when the run says done")
    finish_when: list[Check] = Field(default_factory=list, description="the run is done as soon as all hold")
    setup: str | None = Field(None, description="JavaScript run once the start page has loaded")
    goal_from_page: str | None = Field(None, description="JavaScript expression whose value is the goal")
    reward: str | None = Field(None, description="JavaScript expression read at the end as the reward")


class Task(RunRules):
    id: str
    goal: str
    url: str | None = Field(None, description="start URL of a site on the web")
    site: Path | None = Field(None, description="folder of a local site, served on loopback by the tool")
    path: str = Field("", description="start page within `site`, e.g. index.html?variant=b")
    steps: list[str] | None = Field(None, description="plan in the step language; else the policy plans")
    tags: list[str] = Field(default_factory=list)
    restart_in_place: bool = Field(False, description="in eval, an episode may start on the page the previous "
                                   "one left, without a reload: `setup` restarts the task (as MiniWoB++'s own "
                                   "environment does)")

    def rules(self) -> RunRules:
        return RunRules.model_validate(self.model_dump(include=set(RunRules.model_fields)))

    @model_validator(mode="after")
    def _one_start(self) -> "Task":
        if self.url is not None and self.site is not None:
            raise ValueError("give url or site, not both")
        return self

    @property
    def plan(self) -> str | None:
        """The steps to follow; None when the goal is read from the page at start."""
        if self.steps:
            return "\n".join(self.steps)
        return None if self.goal_from_page else self.goal


def load_task(path: str | Path) -> Task:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read task file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping with id, goal and url or site")
    try:
        task = Task.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "task"
        raise ConfigError(f"{path}: {where}: {err['msg']}") from None
    if task.site is not None and not task.site.is_absolute():
        task.site = (path.parent / task.site).resolve()
    return task
