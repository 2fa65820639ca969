"""Batch evaluation: many episodes, parallel workers, resumable results, a summary and a report.

Whatever `run` can do, `eval` does for a suite: each episode is a run with a trace of its own.
"""

from __future__ import annotations

import json
import os
import queue
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from .browser import Chromium, WarmStart, until_gone
from .errors import ConfigError, MolmoAgentError
from .run import RunSettings, run_task
from .tasks import Task, load_task

RESULTS = "results.jsonl"
RECYCLE_AFTER = 100
"""Episodes one Chromium runs before a fresh one replaces it: a long-lived Chromium keeps renderer processes and
memory that closed contexts leave behind (benchmarks/soak.py: 36 -> 53 processes, 2.7 -> 4.2 GB in 1000 episodes)."""
SUMMARY = "summary.json"
PLANNED = "planned.json"
"""what an eval set out to do, written before its first episode: `ui` shows progress against it"""


class Episode(BaseModel):
    """One task at one seed; `error` marks a task that could not even be loaded."""

    task_id: str
    seed: int | None = None
    task: Task | None = None
    error: str | None = None
    source: str | None = Field(None, description="sha256 of the task file, for published benchmarks")

    @property
    def key(self) -> str:
        return self.task_id if self.seed is None else f"{self.task_id}#{self.seed}"


class OfficialVerdict(BaseModel):
    """A benchmark's own judge code on an episode (`judge --official`), kept beside our judge's verdict."""

    judge: str = Field(description="which code judged, e.g. `molmoweb webjudge_online_mind2web`")
    verdict: Literal["success", "failure", "unknown", "missing"] = Field(
        description="missing: no folder it could read (the episode never ran, or gave no answer)")
    file: str | None = Field(None, description="its raw verdict, relative to the eval directory")
    why: str | None = None


class EpisodeResult(BaseModel):
    task: str
    seed: int | None = None
    success: bool
    reward: float
    steps: int = 0
    seconds: float = 0.0
    trace: str | None = Field(None, description="run directory, relative to the eval directory")
    reason: str | None = None
    tags: list[str] = Field(default_factory=list)
    retried: str | None = Field(None, description="the infrastructure fault that made the first try not count")
    source: str | None = Field(None, description="sha256 of the task file, for published benchmarks")
    verdict: str | None = Field(None, description="a judge's: success, failure or unknown (unknown counts as failure)")
    judged_by: str | None = None
    agent_success: bool | None = Field(None, description="what the run itself concluded, where a judge decided")
    official: OfficialVerdict | None = None

    @property
    def key(self) -> str:
        return self.task if self.seed is None else f"{self.task}#{self.seed}"


def load_suite(path: str | Path, *, only: list[str] | None = None, episodes: int = 1, seed: int = 0) -> list[Episode]:
    """Episodes from a task file or a folder of them (searched recursively). A file that does not load
    becomes an episode that fails with its reason, so the rest still run."""
    path = Path(path)
    # A site's installed packages (node_modules) hold files of their own, never tasks.
    files = [path] if path.is_file() else sorted(f for f in path.rglob("*.yaml") if "node_modules" not in f.parts) \
        if path.is_dir() else []
    if not files:
        raise ConfigError(f"{path} holds no task files (*.yaml); pass a task file, a folder, or 'miniwob'")
    found = []
    for file in files:
        try:
            task = load_task(file)
            found.append((task.id, task, None))
        except ConfigError as exc:
            found.append((file.stem, None, str(exc)))
    if only:
        unknown = set(only) - {task_id for task_id, _, _ in found}
        if unknown:
            raise ConfigError(f"no task with id {', '.join(sorted(unknown))} in {path}")
        found = [f for f in found if f[0] in only]
    seeds = [None] if episodes == 1 and seed == 0 else list(range(seed, seed + episodes))
    return [Episode(task_id=task_id, seed=s, task=task, error=error) for task_id, task, error in found for s in seeds]


def finished_results(out: Path) -> list[EpisodeResult]:
    file = out / RESULTS
    if not file.is_file():
        return []
    results = []
    for line in file.read_text(encoding="utf-8").splitlines():
        try:
            results.append(EpisodeResult.model_validate_json(line))
        except ValueError:
            continue  # a line cut short by a kill: that episode runs again
    return results


class _Writer:
    def __init__(self, out: Path) -> None:
        self._file = open(out / RESULTS, "a", encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, result: EpisodeResult) -> None:
        with self._lock:
            self._file.write(result.model_dump_json() + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


def run_episode(episode: Episode, settings: RunSettings, out: Path, *, pointer, chromium: Chromium,
                time_limit_s: float | None, should_stop: Callable[[], bool],
                warm: WarmStart | None = None) -> EpisodeResult | None:
    """One episode's result; None when it was interrupted (it runs again on resume)."""
    started = time.perf_counter()
    failed = dict(task=episode.task_id, seed=episode.seed, success=False, reward=0.0, source=episode.source)
    if episode.task is None:
        return EpisodeResult(**failed, reason=episode.error)
    task = episode.task
    if episode.seed is not None and task.setup:
        task = task.model_copy(update={"setup": task.setup.replace("{seed}", str(episode.seed))})
    if time_limit_s:
        task = task.model_copy(update={"time_limit_s": min(time_limit_s, task.time_limit_s or time_limit_s)})
    try:
        result = run_task(task, settings.model_copy(update={"out": out / "traces"}), pointer=pointer,
                          chromium=chromium, should_stop=should_stop, warm=warm)
    except MolmoAgentError as exc:
        return EpisodeResult(**failed, reason=str(exc), tags=task.tags,
                             seconds=round(time.perf_counter() - started, 2))
    except Exception as exc:  # noqa: BLE001 - a crashed browser fails this episode, not the batch
        return EpisodeResult(**failed, reason=f"crashed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                             tags=task.tags, seconds=round(time.perf_counter() - started, 2))
    end = result.end
    if end.status == "interrupted":
        return None
    success = end.status == "success"
    return EpisodeResult(
        task=episode.task_id, seed=episode.seed, success=success,
        reward=end.reward if end.reward is not None else float(success), steps=end.steps,
        seconds=round(time.perf_counter() - started, 2), trace=str(result.run_dir.relative_to(out)),
        reason=end.reason, tags=task.tags, source=episode.source,
    )


INFRASTRUCTURE = re.compile(r"Target crashed|has been closed|crashed: |could not open |could not start Chromium|"
                            r"net::ERR_|Connection closed", re.I)
"""What a dead browser, a dead renderer or a start page that did not load says: not the agent's doing."""


def infrastructure_fault(result: EpisodeResult, chromium: Chromium) -> str | None:
    """Why `result` says nothing about the agent (the browser died, the start page did not load), or None."""
    if result.success:
        return None
    if not chromium.alive:
        return f"the browser died: {result.reason}"
    return result.reason if result.reason and INFRASTRUCTURE.search(result.reason) else None


def evaluate(
    episodes: list[Episode],
    settings: RunSettings,
    out: Path,
    *,
    workers: int = 1,
    time_limit_s: float | None = 120.0,
    make_pointer: Callable[[], object] | None = None,
    on_result: Callable[[EpisodeResult], None] | None = None,
    stop: threading.Event | None = None,
    finish: Callable[[EpisodeResult], EpisodeResult] | None = None,
) -> list[EpisodeResult]:
    """Run the episodes not already in `out/results.jsonl`, `workers` at a time; return all results.

    Each worker thread has its own Chromium (episodes get fresh contexts) and its own pointer.
    Setting `stop` (the CLI does on Ctrl-C) ends running episodes; finished results are all kept.
    `finish` sees each result before it is written (a judge's verdict goes in there).
    """
    out.mkdir(parents=True, exist_ok=True)
    done = {r.key for r in finished_results(out)}
    pending: queue.Queue[Episode] = queue.Queue()
    for episode in episodes:
        if episode.key not in done:
            pending.put(episode)
    stop = stop or threading.Event()
    writer = _Writer(out)
    make_pointer = make_pointer or settings.pointer.build
    errors: list[BaseException] = []

    def work() -> None:
        try:
            pointer = make_pointer()
            chromium = Chromium(settings.browser).__enter__()
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)
            return
        warm, used = WarmStart(), 0

        def relaunch() -> Chromium:
            warm.forget_page()
            chromium.close()
            return Chromium(settings.browser).__enter__()

        try:
            while not stop.is_set():
                try:
                    episode = pending.get_nowait()
                except queue.Empty:
                    return
                if not chromium.alive or used >= RECYCLE_AFTER:  # a crash took it with it, or it grew: another
                    chromium, used = relaunch(), 0
                used += 1
                result = run_episode(episode, settings, out, pointer=pointer, chromium=chromium,
                                     time_limit_s=time_limit_s, should_stop=stop.is_set, warm=warm)
                fault = infrastructure_fault(result, chromium) if result is not None else None
                if fault and not stop.is_set():  # once more, on a fresh browser; the first try does not count
                    chromium = relaunch()
                    again = run_episode(episode, settings, out, pointer=pointer, chromium=chromium,
                                        time_limit_s=time_limit_s, should_stop=stop.is_set, warm=warm)
                    result = again.model_copy(update={"retried": fault}) if again is not None else None
                if result is not None and finish is not None:
                    result = finish(result)
                if result is not None:
                    writer.write(result)
                    if on_result:
                        on_result(result)
        finally:
            warm.close()
            chromium.close()

    threads = [threading.Thread(target=work, name=f"eval-{i}", daemon=True) for i in range(max(1, workers))]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)
    except KeyboardInterrupt:
        stop.set()
        for thread in threads:
            thread.join(60)
    finally:
        writer.close()
    until_gone(threads)
    if errors and not finished_results(out):
        raise errors[0]
    wanted = {e.key for e in episodes}
    return [r for r in finished_results(out) if r.key in wanted]


def summarize(results: list[EpisodeResult]) -> dict:
    per_task: dict[str, list[EpisodeResult]] = defaultdict(list)
    for r in results:
        per_task[r.task].append(r)

    def rate(rs: list[EpisodeResult]) -> dict:
        wins = sum(r.success for r in rs)
        return {"episodes": len(rs), "successes": wins, "success_rate": round(wins / len(rs), 4) if rs else 0.0,
                "mean_reward": round(sum(r.reward for r in rs) / len(rs), 4) if rs else 0.0,
                "mean_steps": round(sum(r.steps for r in rs) / len(rs), 2) if rs else 0.0,
                "mean_seconds": round(sum(r.seconds for r in rs) / len(rs), 2) if rs else 0.0}

    return {**rate(results), "retried": sum(r.retried is not None for r in results),
            "tasks": {task: rate(rs) for task, rs in sorted(per_task.items())}}


def write_results(out: Path, results: list[EpisodeResult]) -> None:
    """results.jsonl rewritten whole (after a judge): all or nothing, so a kill mid-way leaves the old one."""
    staged = out / (RESULTS + ".new")
    staged.write_text("".join(r.model_dump_json() + "\n" for r in results), encoding="utf-8")
    os.replace(staged, out / RESULTS)


def write_plan(out: Path, suite: str, episodes: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / PLANNED).write_text(json.dumps({"suite": suite, "episodes": episodes}) + "\n", encoding="utf-8")


def write_summary(out: Path, results: list[EpisodeResult], extra: dict) -> dict:
    summary = {**extra, **summarize(results)}
    (out / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary
