"""Reads a run directory, including one whose run was killed part-way."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, TypeAdapter, ValidationError

from ..errors import TraceError
from .records import Record, StepRecord, TraceEnd, TraceHeader
from .writer import TRACE_FILE

_RECORD = TypeAdapter(Record)


class Trace(BaseModel):
    dir: Path
    header: TraceHeader
    steps: list[StepRecord]
    end: TraceEnd | None
    """None when the run never finished (killed, crashed): the steps up to then are all here."""

    @property
    def status(self) -> str:
        return self.end.status if self.end else "incomplete"

    def screenshot_path(self, relative: str) -> Path:
        return _inside(self.dir, relative)


def _inside(root: Path, relative: str) -> Path:
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()):
        raise TraceError(f"trace refers to {relative!r}, outside its run directory {root}")
    return path


def read_trace(path: str | Path) -> Trace:
    """Load and validate a trace. Accepts the run directory or its trace.jsonl."""
    path = Path(path)
    run_dir = path.parent if path.is_file() else path
    file = run_dir / TRACE_FILE
    if not file.is_file():
        raise TraceError(f"{run_dir} holds no {TRACE_FILE}; pass a run directory written by molmo-agent")
    text = file.read_text(encoding="utf-8", errors="replace")
    lines = text.split("\n")
    cut_short = not text.endswith("\n")  # the last line was being written when the run was killed
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(_RECORD.validate_python(json.loads(line)))
        except (ValueError, ValidationError, RecursionError) as exc:  # RecursionError: JSON nested too deep
            if cut_short and number == len(lines):
                break
            raise TraceError(f"{file}:{number}: not a valid trace record ({_first_error(exc)})") from None
    if not records or not isinstance(records[0], TraceHeader):
        raise TraceError(f"{file} does not start with a header record")
    steps = [r for r in records if isinstance(r, StepRecord)]
    ends = [r for r in records if isinstance(r, TraceEnd)]
    for step in steps:
        _inside(run_dir, step.observation.screenshot)
    if ends and ends[0].final_screenshot:
        _inside(run_dir, ends[0].final_screenshot)
    return Trace(dir=run_dir, header=records[0], steps=steps, end=ends[0] if ends else None)


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
    return str(exc).splitlines()[0]
