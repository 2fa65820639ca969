"""Writes a run directory. Every record is in the file (written and flushed: a killed process loses none of
it) before the next step, and after the screenshots it names. Writing a screenshot's file, and the fsync
that keeps the trace through a power cut, run on a thread of their own beside the loop."""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from .. import stopping
from ..errors import TraceError
from ..redaction import Secrets
from .records import TraceEnd, TraceHeader, StepRecord

TRACE_FILE = "trace.jsonl"
SCREENS = "screens"


def new_run_dir(root: Path, goal: str) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    slug = "-".join("".join(c if c.isalnum() else " " for c in goal.lower()).split()[:5])[:40] or "run"
    for n in range(1000):
        candidate = root / f"{stamp}-{slug}" if n == 0 else root / f"{stamp}-{slug}-{n}"
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            continue
    raise TraceError(f"cannot create a run directory under {root}")


class TraceWriter:
    def __init__(self, run_dir: Path, secrets: Secrets | None = None) -> None:
        self.dir = Path(run_dir)
        self.secrets = secrets or Secrets()
        try:
            (self.dir / SCREENS).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TraceError(f"cannot write a trace in {self.dir}: {exc.strerror}") from exc
        # trace.jsonl appears with its first record: a run killed before its header leaves no file that
        # reads as a broken trace.
        self._file = None
        self._beside = ThreadPoolExecutor(1, thread_name_prefix="trace-writer")  # one thread: in order
        self._screens: list[Future] = []  # screenshot files being written
        self.steps = 0
        """Step records on disk: what the end record counts, whenever a Ctrl-C lands."""

    def screenshot(self, name: str, png: bytes) -> str:
        """Start writing a screenshot; returns its path for the record that will name it."""
        relative = f"{SCREENS}/{name}.png"
        self._screens.append(self._beside.submit((self.dir / relative).write_bytes, png))
        return relative

    def write(self, record: TraceHeader | StepRecord | TraceEnd) -> None:
        line = self.secrets.redact(record.model_dump_json())
        if self._file is None:
            try:
                self._file = open(self.dir / TRACE_FILE, "a", encoding="utf-8")
            except OSError as exc:
                raise TraceError(f"cannot write a trace in {self.dir}: {exc.strerror}") from exc
        screens, self._screens = self._screens, []
        for written in screens:  # a record never names a file that is not there
            try:
                written.result()
            except OSError as exc:
                raise TraceError(f"cannot write a screenshot in {self.dir}: {exc.strerror}") from exc
        with stopping.held():  # a Ctrl-C during the write must not leave a step on disk and uncounted
            self._file.write(line + "\n")
            self._file.flush()
            if isinstance(record, StepRecord):
                self.steps += 1
        self._beside.submit(os.fsync, self._file.fileno())

    def close(self) -> None:
        self._beside.shutdown(wait=True)  # every file written and the trace through to the disk
        if self._file is not None:
            self._file.close()
