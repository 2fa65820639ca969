"""WebVoyager (JSONL) and Online-Mind2Web (a JSON array) task files, read unchanged.

WebVoyager: `{"web_name", "id", "ques", "web"}` a line; the run starts at `web` with `ques` as the goal, or with
`start="blank"` at about:blank with "On {web}: {ques}", as MolmoWeb's harness does. Online-Mind2Web:
`{"task_id", "confirmed_task", "website", "reference_length", "level"}`; the run starts at `website`.
A patch file (JSON: {"replace": {id: question}, "drop": [id, ...]}) mends questions that went stale.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel

from ..errors import ConfigError
from ..tasks import Task

BENCHMARKS = ("webvoyager", "mind2web")
STARTS = ("site", "blank")
BLANK = "about:blank"
LIVE_STEP_LIMIT_S = 120.0
LIVE_TIME_LIMIT_S = 1800.0
LIVE_MAX_STEPS = 100


class LiveSource(BaseModel):
    """Which file the tasks came from, exactly: results from a drifted file are not comparable."""

    benchmark: str
    file: str
    sha256: str
    tasks: int


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _patches(path: Path | None) -> tuple[dict[str, str], set[str]]:
    if path is None:
        return {}, set()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read --patches {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"--patches {path} is not JSON: {exc}") from None
    if not isinstance(data, dict) or set(data) - {"replace", "drop"}:
        raise ConfigError(f'--patches {path} must be {{"replace": {{id: question}}, "drop": [id, ...]}}')
    replace, drop = data.get("replace", {}), data.get("drop", [])
    if not isinstance(replace, dict) or not isinstance(drop, list):
        raise ConfigError(f'--patches {path}: "replace" maps ids to questions, "drop" lists ids')
    return {str(k): str(v) for k, v in replace.items()}, {str(i) for i in drop}


def _webvoyager(path: Path, start: str) -> list[Task]:
    tasks = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            web_name, task_id, question, web = row["web_name"], str(row["id"]), row["ques"], row["web"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}:{number}: not a WebVoyager task line with web_name, id, ques and web "
                              f"({type(exc).__name__}: {exc})") from None
        goal, url = (f"On {web}: {question}", BLANK) if start == "blank" else (question, web)
        tasks.append(Task(id=task_id, goal=goal, url=url, tags=[f"site:{web_name}"], time_limit_s=LIVE_TIME_LIMIT_S,
                          step_limit_s=LIVE_STEP_LIMIT_S, max_steps=LIVE_MAX_STEPS))
    return tasks


def _mind2web(path: Path) -> list[Task]:
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(rows, list):
            raise TypeError("the file holds no JSON array")
        tasks = []
        for row in rows:
            site = urlsplit(row["website"]).hostname or row["website"]
            tasks.append(Task(id=str(row["task_id"]), goal=row["confirmed_task"], url=row["website"],
                              tags=[f"site:{site.removeprefix('www.')}", f"level:{row.get('level', 'unknown')}"],
                              time_limit_s=LIVE_TIME_LIMIT_S, step_limit_s=LIVE_STEP_LIMIT_S, max_steps=LIVE_MAX_STEPS))
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} is not an Online-Mind2Web task file (a JSON array of objects with task_id, "
                          f"confirmed_task and website): {type(exc).__name__}: {exc}") from None
    return tasks


def _tag(task: Task, prefix: str) -> str:
    return next((t[len(prefix):] for t in task.tags if t.startswith(prefix)), "")


def load_live(benchmark: str, path: str | Path, *, sites: list[str] | None = None, level: str | None = None,
              ids: list[str] | None = None, limit: int | None = None, patches: str | Path | None = None,
              start: str = "site") -> tuple[list[Task], LiveSource]:
    """The benchmark's tasks after the filters, in file order, and the file they came from."""
    if benchmark not in BENCHMARKS:
        raise ConfigError(f"{benchmark!r} is not one of {', '.join(BENCHMARKS)}")
    if start not in STARTS:
        raise ConfigError(f"--start {start!r} is not one of {', '.join(STARTS)}")
    if level is not None and benchmark != "mind2web":
        raise ConfigError("--level is for mind2web (WebVoyager tasks have no level)")
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path} is not a file; pass the benchmark's task file "
                          f"({'WebVoyager_data.jsonl' if benchmark == 'webvoyager' else 'Online_Mind2Web.json'})")
    tasks = _webvoyager(path, start) if benchmark == "webvoyager" else _mind2web(path)
    source = LiveSource(benchmark=benchmark, file=str(path.resolve()), sha256=_sha256(path), tasks=len(tasks))
    replace, drop = _patches(Path(patches) if patches else None)
    known = {t.id for t in tasks}
    if unknown := (set(replace) | drop | set(ids or ())) - known:
        raise ConfigError(f"no task with id {', '.join(sorted(unknown)[:5])} in {path}")
    patched = []
    for task in tasks:
        if task.id in drop:
            continue
        if task.id in replace:
            web = task.url if task.url != BLANK else task.goal.split(": ", 1)[0].removeprefix("On ")
            goal = f"On {web}: {replace[task.id]}" if task.url == BLANK else replace[task.id]
            task = task.model_copy(update={"goal": goal})
        patched.append(task)
    wanted_sites = {s.lower() for s in sites or ()}
    if wanted_sites and (missing := wanted_sites - {_tag(t, "site:").lower() for t in patched}):
        raise ConfigError(f"no task on site {', '.join(sorted(missing))} in {path}")
    chosen = [t for t in patched
              if (not wanted_sites or _tag(t, "site:").lower() in wanted_sites)
              and (level is None or _tag(t, "level:") == level)
              and (not ids or t.id in ids)]
    return chosen[:limit] if limit else chosen, source
