"""`eval --executor ray`: one Ray task per episode holding one `browser` resource, each in a fresh context of
its worker's Chromium (or, for a task that restarts in place, on the page its worker's previous episode left).

The driver alone writes results.jsonl, so resume, Ctrl-C, the summary and the report work as with threads.
It also keeps the time: an episode past its limit (plus a grace for the agent's own limit to act) is
cancelled, then forced. An episode whose worker process or browser died runs once more on a fresh one and is
marked retried; an agent's failure is never retried. Workers are replaced after `RECYCLE_AFTER` episodes.
Traces are written by the workers under the eval directory: on a remote cluster it must be a shared folder.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .errors import ConfigError
from .evaluate import (
    RECYCLE_AFTER, Episode, EpisodeResult, _Writer, finished_results, infrastructure_fault, run_episode,
)
from .run import RunSettings

GRACE_S = 30.0
"""Past the episode's own limit, what the driver waits at most before cancelling (a quarter of the limit when
that is less): the agent ends itself between steps, and only a step that hangs needs the driver."""
FORCE_AFTER_S = 5.0
"""After a polite cancel, how long before the worker is killed."""

_pointers: dict = {}  # one loaded pointer per worker process, kept across the episodes it runs
_browsers: dict = {}  # one Chromium (and the page a MiniWoB++ episode left) per worker process and browser set-up


def _browser(settings: RunSettings):
    """This worker's Chromium for `settings` and its warm start, launched again if it died."""
    from .browser import Chromium, WarmStart

    key = settings.browser.model_dump_json()
    chromium, warm = _browsers.get(key, (None, None))
    if chromium is None or not chromium.alive:
        _drop_browser(key)
        if not _browsers:
            atexit.register(_drop_all_browsers)  # a recycled worker leaves no Chromium behind
        chromium, warm = Chromium(settings.browser).__enter__(), WarmStart()
        _browsers[key] = (chromium, warm)
    return key, chromium, warm


def _drop_browser(key: str) -> None:
    chromium, warm = _browsers.pop(key, (None, None))
    if warm is not None:
        warm.close()
    if chromium is not None:
        chromium.close()


def _drop_all_browsers() -> None:
    for key in list(_browsers):
        _drop_browser(key)


def _run_one(episode: Episode, settings: RunSettings, out: str, time_limit_s: float | None):
    """In the worker: the episode in a fresh context of this worker's Chromium. Returns (result, infrastructure
    fault or None); after a fault the Chromium is replaced, so the retry runs on a fresh one."""
    key = settings.pointer.model_dump_json()
    if key not in _pointers:
        _pointers[key] = settings.pointer.build()
    browser_key, chromium, warm = _browser(settings)
    result = run_episode(episode, settings, Path(out), pointer=_pointers[key], chromium=chromium,
                         time_limit_s=time_limit_s, should_stop=lambda: False, warm=warm)
    fault = infrastructure_fault(result, chromium) if result is not None else None
    if fault:
        _drop_browser(browser_key)
    return result, fault


def connect(address: str | None):
    """Attach to `address` (or RAY_ADDRESS); without either, start a local cluster. Returns a shutdown function
    (a no-op when the cluster was already running in this process or belongs to someone else)."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--executor ray needs Ray: pip install 'molmo-agent[ray]'") from None
    if ray.is_initialized():
        return lambda: None
    options = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    address = address or os.environ.get("RAY_ADDRESS")
    try:
        if address:
            ray.init(address=address, **options)
        else:
            cpus = os.cpu_count() or 1
            ray.init(num_cpus=cpus, resources={"browser": cpus}, **options)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise ConfigError(f"cannot reach the Ray cluster at {address}: {str(exc).splitlines()[0]}") from None
    return ray.shutdown


def evaluate_on_ray(
    episodes: list[Episode],
    settings: RunSettings,
    out: Path,
    *,
    address: str | None = None,
    time_limit_s: float | None = 120.0,
    on_result: Callable[[EpisodeResult], None] | None = None,
    stop: threading.Event | None = None,
    finish: Callable[[EpisodeResult], EpisodeResult] | None = None,
) -> list[EpisodeResult]:
    """As `evaluate`, with the episodes on a Ray cluster."""
    import ray

    out.mkdir(parents=True, exist_ok=True)
    done = {r.key for r in finished_results(out)}
    todo = [e for e in episodes if e.key not in done]
    stop = stop or threading.Event()
    shutdown = connect(address)
    remote = ray.remote(num_cpus=1, resources={"browser": 1}, max_retries=0, max_calls=RECYCLE_AFTER)(_run_one)
    writer = _Writer(out)
    running: dict = {}  # ref -> (episode, started, retried because, cancelled at)

    def submit(episode: Episode, retried: str | None = None) -> None:
        ref = remote.remote(episode, settings, str(out), time_limit_s)
        running[ref] = (episode, time.monotonic(), retried, None)

    def record(result: EpisodeResult) -> None:
        if finish is not None:
            result = finish(result)
        writer.write(result)
        if on_result:
            on_result(result)

    def limit(episode: Episode) -> float | None:
        own = episode.task.time_limit_s if episode.task is not None else None
        chosen = min(x for x in (time_limit_s, own) if x) if (time_limit_s or own) else None
        return chosen + min(GRACE_S, chosen / 4) if chosen else None

    capacity = max(1, int(ray.cluster_resources().get("browser", ray.cluster_resources().get("CPU", 1))))
    queue = list(todo)
    try:
        while (queue or running) and not stop.is_set():
            while queue and len(running) < capacity:
                submit(queue.pop(0))
            ready, _ = ray.wait(list(running), num_returns=1, timeout=0.2)
            for ref in ready:
                episode, started, retried, cancelled = running.pop(ref)
                try:
                    result, fault = ray.get(ref)
                except (ray.exceptions.TaskCancelledError, ray.exceptions.WorkerCrashedError,
                        ray.exceptions.RayTaskError, ray.exceptions.NodeDiedError) as exc:
                    said = str(exc).strip().splitlines()
                    result, fault = None, f"the worker died: {type(exc).__name__}" + (f": {said[0]}" if said else "")
                if cancelled is not None:  # whatever came back, the driver stopped it for its time
                    result, fault = _failed(episode, f"over its time limit ({time.monotonic() - started:.0f}s): "
                                                     "cancelled by the driver", started), None
                if result is None and fault is None:
                    continue  # interrupted: it runs again on resume
                if fault and retried is None:
                    submit(episode, retried=fault)  # once more; the first try does not count
                    continue
                if result is None:
                    result = _failed(episode, fault, started)
                record(result.model_copy(update={"retried": retried}) if retried else result)
            now = time.monotonic()
            for ref, (episode, started, retried, cancelled) in list(running.items()):
                budget = limit(episode)
                if budget is None or now - started < budget:
                    continue
                if cancelled is None:
                    ray.cancel(ref)
                    running[ref] = (episode, started, retried, now)
                elif now - cancelled > FORCE_AFTER_S:
                    ray.cancel(ref, force=True)
    except KeyboardInterrupt:
        stop.set()
    finally:
        _stop(list(running))
        writer.close()
        shutdown()
    wanted = {e.key for e in episodes}
    return [r for r in finished_results(out) if r.key in wanted]


def _stop(refs: list) -> None:
    """Cancel politely (the agent ends its trace "interrupted"), then force what is still running."""
    import ray

    for ref in refs:
        ray.cancel(ref)
    if refs:
        ray.wait(refs, num_returns=len(refs), timeout=FORCE_AFTER_S)
    for ref in refs:
        ray.cancel(ref, force=True)


def _failed(episode: Episode, reason: str, started: float) -> EpisodeResult:
    return EpisodeResult(task=episode.task_id, seed=episode.seed, success=False, reward=0.0, reason=reason,
                         tags=episode.task.tags if episode.task else [], source=episode.source,
                         seconds=round(time.monotonic() - started, 2))
