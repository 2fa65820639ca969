"""The task files of the published live-web benchmarks, read unchanged, as MolmoWeb's harness shipped them
(facts: shared/facts/molmoweb-benchmarks.md; `benchmarks/jsons/` in allenai/molmoweb):

| ours | file | a task | starts at | goal |
| webvoyager | webvoyager.jsonl | web_name, id, ques, web | `web` (or about:blank) | ques (or "On {web}: {ques}") |
| mind2web | online_mind2web.json | task_id, confirmed_task, website, level | website | confirmed_task |
| odysseys | odysseys.json | Online-Mind2Web's, and rubrics | website | confirmed_task |
| deepshop | deepshop.jsonl | WebVoyager's, and difficulty, category | web | ques |
| webtailbench | webtailbench.json | benchmark, id, task_summary | about:blank | task_summary |

A task's site and level (difficulty for DeepShop) become its tags; WebTailBench's id is `{benchmark}_{id}`, as
MolmoWeb names its folders. A patch file (JSON: {"replace": {id: question}, "drop": [id, ...]}) mends
questions that went stale; `write_subset` writes the tasks a run covered back in the file's own format, so
the benchmark's own judge counts exactly those.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

from pydantic import BaseModel

from ..errors import ConfigError
from ..tasks import Task

STARTS = ("site", "blank")
BLANK = "about:blank"
LIVE_STEP_LIMIT_S = 120.0
LIVE_TIME_LIMIT_S = 1800.0
LIVE_MAX_STEPS = 100


class Benchmark(NamedTuple):
    name: str
    molmoweb: str
    """MolmoWeb's name for it (`--benchmark`)"""
    shipped: str
    """the file MolmoWeb ships"""
    lines: bool
    """one JSON object a line, or one JSON array"""
    question: str
    """the field holding the question, which a patch replaces"""
    fields: tuple[str, ...]
    """the fields a task must have"""
    judge: str
    """our own judge for it"""
    official_judge: str
    """MolmoWeb's `--judge_type` for it"""


SPECS = {b.name: b for b in (
    Benchmark("webvoyager", "webvoyager", "webvoyager.jsonl", True, "ques", ("web_name", "id", "ques", "web"),
              "webvoyager", "webvoyager"),
    Benchmark("mind2web", "online_mind2web", "online_mind2web.json", False, "confirmed_task",
              ("task_id", "confirmed_task", "website"), "webjudge", "webjudge_online_mind2web"),
    Benchmark("odysseys", "odysseys", "odysseys.json", False, "confirmed_task",
              ("task_id", "confirmed_task", "website"), "webjudge", "odysseys_rubric"),
    Benchmark("deepshop", "deepshop", "deepshop.jsonl", True, "ques", ("id", "ques", "web"),
              "webvoyager", "deepshop_judge"),
    Benchmark("webtailbench", "webtailbench", "webtailbench.json", False, "task_summary",
              ("benchmark", "id", "task_summary"), "webvoyager", "webvoyager"),
)}
BENCHMARKS = tuple(SPECS)
LEVELLED = ("mind2web", "odysseys", "deepshop")


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


def _rows(spec: Benchmark, path: Path) -> list[dict]:
    """The file's tasks as written, each checked for the fields a task needs."""
    what = f"{'a line' if spec.lines else 'an object'} with {', '.join(spec.fields)}"
    try:
        text = path.read_text(encoding="utf-8")
        if spec.lines:
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            rows = json.loads(text)
            if not isinstance(rows, list):
                raise TypeError("the file holds no JSON array")
        for row in rows:
            if missing := [f for f in spec.fields if f not in row]:
                raise KeyError(", ".join(missing))
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} is not a {spec.name} task file ({spec.shipped}: {what}): "
                          f"{type(exc).__name__}: {exc}") from None
    return rows


def _host(url: str) -> str:
    return (urlsplit(url).hostname or url).removeprefix("www.")


def _task(spec: Benchmark, row: dict, start: str) -> Task:
    limits = dict(time_limit_s=LIVE_TIME_LIMIT_S, step_limit_s=LIVE_STEP_LIMIT_S, max_steps=LIVE_MAX_STEPS)
    match spec.name:
        case "webvoyager":
            goal, url = (f"On {row['web']}: {row['ques']}", BLANK) if start == "blank" else (row["ques"], row["web"])
            return Task(id=str(row["id"]), goal=goal, url=url, tags=[f"site:{row['web_name']}"], **limits)
        case "mind2web" | "odysseys":
            return Task(id=str(row["task_id"]), goal=row["confirmed_task"], url=row["website"],
                        tags=[f"site:{_host(row['website'])}", f"level:{row.get('level', 'unknown')}"], **limits)
        case "deepshop":
            return Task(id=str(row["id"]), goal=row["ques"], url=row["web"],
                        tags=[f"site:{row.get('web_name') or _host(row['web'])}",
                              f"level:{row.get('difficulty', 'unknown')}"], **limits)
    return Task(id=f"{row['benchmark']}_{row['id']}", goal=row["task_summary"], url=BLANK,
                tags=[f"site:{row['benchmark']}"], **limits)


def _tag(task: Task, prefix: str) -> str:
    return next((t[len(prefix):] for t in task.tags if t.startswith(prefix)), "")


def load_live(benchmark: str, path: str | Path, *, sites: list[str] | None = None, level: str | None = None,
              ids: list[str] | None = None, limit: int | None = None, patches: str | Path | None = None,
              start: str = "site") -> tuple[list[Task], LiveSource]:
    """The benchmark's tasks after the filters, in file order, and the file they came from."""
    tasks, source, _ = load_rows(benchmark, path, sites=sites, level=level, ids=ids, limit=limit, patches=patches,
                                 start=start)
    return tasks, source


def load_rows(benchmark: str, path: str | Path, *, sites: list[str] | None = None, level: str | None = None,
              ids: list[str] | None = None, limit: int | None = None, patches: str | Path | None = None,
              start: str = "site") -> tuple[list[Task], LiveSource, list[dict]]:
    """As `load_live`, with each chosen task's row of the file (patched), for `write_subset`."""
    if benchmark not in SPECS:
        raise ConfigError(f"{benchmark!r} is not one of {', '.join(BENCHMARKS)}")
    if start not in STARTS:
        raise ConfigError(f"--start {start!r} is not one of {', '.join(STARTS)}")
    if start != "site" and benchmark != "webvoyager":
        raise ConfigError("--start is for webvoyager (the other benchmarks say where each task starts)")
    if level is not None and benchmark not in LEVELLED:
        raise ConfigError(f"--level is for {', '.join(LEVELLED)} ({benchmark} tasks have no level)")
    spec, path = SPECS[benchmark], Path(path)
    if not path.is_file():
        raise ConfigError(f"{path} is not a file; pass the benchmark's task file ({spec.shipped})")
    rows = _rows(spec, path)
    tasks = [_task(spec, row, start) for row in rows]
    source = LiveSource(benchmark=benchmark, file=str(path.resolve()), sha256=_sha256(path), tasks=len(tasks))
    replace, drop = _patches(Path(patches) if patches else None)
    known = {t.id for t in tasks}
    if unknown := (set(replace) | drop | set(ids or ())) - known:
        raise ConfigError(f"no task with id {', '.join(sorted(unknown)[:5])} in {path}")
    patched = []
    for task, row in zip(tasks, rows):
        if task.id in drop:
            continue
        if task.id in replace:
            row = {**row, spec.question: replace[task.id]}
            task = _task(spec, row, start).model_copy(update={"tags": task.tags})
        patched.append((task, row))
    wanted_sites = {s.lower() for s in sites or ()}
    if wanted_sites and (missing := wanted_sites - {_tag(t, "site:").lower() for t, _ in patched}):
        raise ConfigError(f"no task on site {', '.join(sorted(missing))} in {path}")
    chosen = [(t, row) for t, row in patched
              if (not wanted_sites or _tag(t, "site:").lower() in wanted_sites)
              and (level is None or _tag(t, "level:") == level)
              and (not ids or t.id in ids)]
    chosen = chosen[:limit] if limit else chosen
    return [t for t, _ in chosen], source, [row for _, row in chosen]


def write_subset(benchmark: str, rows: list[dict], path: Path) -> Path:
    """The tasks a run covered, in the benchmark's own file format (for the official judge's --data_path)."""
    spec = SPECS[benchmark]
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows) if spec.lines else \
        json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")
    return path
