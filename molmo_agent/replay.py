"""Replaying a trace: exactly, re-grounded where the page moved, or as a check that lists divergences.

The replay is a policy: it hands the recorded actions to the same agent loop that recorded them, so a
replay is a trace of its own.
"""

from __future__ import annotations

import contextlib
import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

import numpy as np
from PIL import Image
from pydantic import BaseModel

from . import actions as A
from .agent import RunResult
from .errors import ConfigError, PointerError
from .observation import Observation
from .policies import Decision
from .run import RunSettings, run_policy
from .sites import serve_site
from .tasks import RunRules
from .trace import ReplayStep, StepRecord, Trace, read_trace

Mode = Literal["exact", "reground", "check"]
THUMBNAIL = (160, 90)
PIXEL_STEP = 24  # grey levels; smaller changes (anti-aliasing, resampling) are not differences
DEFAULT_TOLERANCE = 0.02


def thumbnail(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png)).convert("L").resize(THUMBNAIL, Image.Resampling.BOX)
    return np.asarray(image, dtype=np.int16)


def pixel_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Share of thumbnail pixels that differ visibly: 0 for the same page at any scale factor."""
    return float((np.abs(a - b) > PIXEL_STEP).mean())


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def same_url(a: str, b: str) -> bool:
    """Equal up to the order of query parameters (forms submit fields in layout order)."""
    pa, pb = urlsplit(a), urlsplit(b)
    return pa._replace(query=urlencode(sorted(parse_qsl(pa.query, keep_blank_values=True)))) == \
        pb._replace(query=urlencode(sorted(parse_qsl(pb.query, keep_blank_values=True))))


class NoPointer:
    """Stands in for a pointer where none may be asked (an exact replay makes no model calls)."""

    name = "none"
    needs_elements = False

    def locate(self, target, observation, *, field=False):
        raise PointerError(f"an exact replay does not ground targets; use --mode reground to find {target!r}")


class ReplayPolicy:
    name = "replay"

    def __init__(self, source: Trace, mode: Mode, *, url_map, viewport: tuple[int, int], tolerance: float,
                 redact=lambda text: text) -> None:
        self.source, self.mode, self.url_map, self.tolerance = source, mode, url_map, tolerance
        self.redact = redact  # recordings hold {{NAME}} where a secret was: compare like with like
        old_w, old_h = source.header.viewport
        self.sx, self.sy = viewport[0] / old_w, viewport[1] / old_h
        # Decoding the recorded screenshots is off the replay's critical path: it starts now, in a thread.
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="replay-thumbnails")
        self._recorded = [pool.submit(self._thumbnail_of, step) for step in source.steps]
        pool.shutdown(wait=False)

    def _thumbnail_of(self, step: StepRecord) -> tuple[bytes, np.ndarray]:
        png = self.source.screenshot_path(step.observation.screenshot).read_bytes()
        return png, thumbnail(png)

    def compare(self, index: int, observation: Observation) -> ReplayStep:
        recorded = self.source.steps[index]
        differences = []
        expected_url = self.url_map(recorded.observation.url)
        current_url = self.redact(observation.url)
        if not same_url(current_url, expected_url):
            differences.append(f"url: recorded {expected_url}, now {current_url}")
        png, recorded_thumbnail = self._recorded[index].result()
        # The same pixels encode to the same PNG: equal bytes need no decoding.
        share = 0.0 if png == observation.screenshot else pixel_difference(recorded_thumbnail, thumbnail(observation.screenshot))
        if share > self.tolerance:
            differences.append(f"screenshot: {share:.1%} of the page differs (tolerance {self.tolerance:.1%})")
        return ReplayStep(source_step=recorded.index, differences=differences, pixel_difference=round(share, 4))

    def decide(self, observation: Observation, history: list[StepRecord]) -> Decision:
        index = len(history)
        if index >= len(self.source.steps):
            return Decision(action=A.Done(), thought="recording finished")
        recorded = self.source.steps[index]
        if recorded.action is None:
            return Decision(action=A.Fail(reason=f"recorded step {recorded.index} failed: {recorded.outcome.error}"))
        check = self.compare(index, observation)
        thought = f"replaying step {recorded.index}"
        if check.differences and self.mode == "exact":
            reason = f"diverged at step {recorded.index}: " + "; ".join(check.differences)
            return Decision(action=A.Fail(reason=reason), thought=thought, replay=check)
        if check.differences and self.mode == "reground" and isinstance(recorded.intent, A.POINTED) \
                and recorded.intent.target is not None:
            check.healed = True
            return Decision(action=recorded.intent, thought=thought + ", re-grounded", replay=check)
        return Decision(action=self._mapped(recorded.action), thought=thought, replay=check)

    def _mapped(self, action: A.Action) -> A.Action:
        """The recorded action in this viewport's CSS pixels, with this run's URLs."""
        updates = {}
        for key, factor in (("x", self.sx), ("y", self.sy), ("to_x", self.sx), ("to_y", self.sy)):
            value = getattr(action, key, None)
            if value is not None:
                updates[key] = value * factor
        if isinstance(action, A.Goto):
            updates["url"] = self.url_map(action.url)
        return action.model_copy(update=updates)


class Divergence(BaseModel):
    step: int
    differences: list[str]
    recorded_screenshot: Path
    current_screenshot: Path
    side_by_side: Path


def replay(
    source_dir: str | Path,
    settings: RunSettings,
    *,
    mode: Mode = "exact",
    url: str | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    on_step=None,
    on_start=None,
) -> tuple[RunResult, list[Divergence]]:
    """Replay the run in `source_dir`. Returns the new run and every divergence it met."""
    source = read_trace(source_dir)
    header = source.header
    if header.start_url is None and url is None:
        raise ConfigError(f"{source.dir} recorded no start URL; pass --url")
    pointer = NoPointer() if mode != "reground" else None
    with contextlib.ExitStack() as stack:
        site_url = None
        recorded_base = origin(header.site_url or header.start_url or "")
        if url is not None:
            start = url
        elif header.site and Path(header.site).is_dir():
            site_url = stack.enter_context(serve_site(Path(header.site)))
            start = origin(site_url) + header.start_url[len(recorded_base):]
        else:
            start = header.start_url
        new_base = origin(start)

        def url_map(recorded: str) -> str:
            return new_base + recorded[len(recorded_base):] if recorded.startswith(recorded_base) else recorded

        policy = ReplayPolicy(source, mode, url_map=url_map, viewport=settings.browser.viewport,
                              tolerance=tolerance, redact=settings.secrets.redact)
        result = run_policy(
            policy, goal=header.goal, name=f"replay-{source.dir.name}", start_url=start, settings=settings,
            pointer=pointer, rules=RunRules(checks=header.checks, max_steps=len(source.steps) + 1),
            header={"site": header.site, "site_url": site_url, "replay_of": str(source.dir.resolve()),
                    "replay_mode": mode},
            on_step=on_step, on_start=on_start,
        )
    return result, _divergences(source, read_trace(result.run_dir))


def _divergences(source: Trace, replayed: Trace) -> list[Divergence]:
    found = []
    for step in replayed.steps:
        if step.replay is None or not step.replay.differences:
            continue
        recorded = source.screenshot_path(source.steps[step.replay.source_step - 1].observation.screenshot)
        current = replayed.screenshot_path(step.observation.screenshot)
        side = replayed.dir / f"divergence-{step.replay.source_step:04d}.png"
        _side_by_side(recorded, current, side)
        found.append(Divergence(step=step.replay.source_step, differences=step.replay.differences,
                                recorded_screenshot=recorded, current_screenshot=current, side_by_side=side))
    return found


def _side_by_side(left: Path, right: Path, out: Path) -> None:
    a, b = Image.open(left).convert("RGB"), Image.open(right).convert("RGB")
    b = b.resize(a.size) if b.size != a.size else b
    canvas = Image.new("RGB", (a.width * 2 + 8, a.height), "red")
    canvas.paste(a, (0, 0))
    canvas.paste(b, (a.width + 8, 0))
    canvas.save(out)
