"""The folders `ui` was given: the runs and evals in them, read as they are written, and references to them
that never lead outside."""

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from ..errors import ConfigError, MolmoAgentError
from ..trace import Trace, read_trace
from ..trace.writer import TRACE_FILE

EVAL_FILES = ("results.jsonl", "summary.json", "planned.json")


@dataclass
class RunInfo:
    """One run directory as the list shows it."""

    ref: str
    trace: Trace
    task: str
    site: str
    verdict: str
    eval_ref: str | None

    @property
    def seconds(self) -> float | None:
        return self.trace.end.seconds if self.trace.end else None


class Library:
    """The trace folders the app was given: finds runs and evals, reads traces (cached until the file changes)
    and turns a reference from a URL back into a path, never one outside the folders."""

    def __init__(self, roots: list[Path]) -> None:
        self.roots = [Path(root).resolve() for root in roots]
        for root in self.roots:
            if not root.is_dir():
                raise ConfigError(f"{root} is not a folder; give ui the folders your runs and evals are in")
        self._traces: dict[Path, tuple[tuple[int, int], Trace]] = {}

    # -- references: "<root index>/<path inside it>" --------------------------------------------------------
    def ref(self, path: Path) -> str:
        path = path.resolve()
        for index, root in enumerate(self.roots):
            if path == root or path.is_relative_to(root):
                return f"{index}/{path.relative_to(root).as_posix()}".rstrip("/.")
        raise ValueError(f"{path} is outside the folders")

    def resolve(self, ref: str) -> Path:
        """The path a reference names; LookupError for anything outside the folders (`..`, an absolute path,
        a link that leads out)."""
        index, _, inside = ref.partition("/")
        relative = PurePosixPath(inside)
        if not index.isdigit() or int(index) >= len(self.roots) or relative.is_absolute() or ".." in relative.parts \
                or "\\" in inside or "\x00" in inside:
            raise LookupError(ref)
        root = self.roots[int(index)]
        path = (root / relative).resolve()
        if not path.is_relative_to(root):
            raise LookupError(ref)
        return path

    # -- reading --------------------------------------------------------------------------------------------
    def trace(self, run_dir: Path) -> Trace:
        file = run_dir / TRACE_FILE
        stat = file.stat()
        key = (stat.st_mtime_ns, stat.st_size)
        cached = self._traces.get(run_dir)
        if cached is None or cached[0] != key:
            cached = (key, read_trace(run_dir))
            self._traces[run_dir] = cached
        return cached[1]

    def run_dirs(self) -> list[Path]:
        return sorted({f.parent for root in self.roots for f in root.rglob(TRACE_FILE)})

    def eval_dirs(self) -> list[Path]:
        return sorted({f.parent for root in self.roots for name in EVAL_FILES for f in root.rglob(name)})

    def runs(self) -> list[RunInfo]:
        evals = {d: results_by_trace(d) for d in self.eval_dirs()}
        found = []
        for run_dir in self.run_dirs():
            try:
                trace = self.trace(run_dir)
            except (MolmoAgentError, OSError):
                continue  # a folder being created, or not ours: the list goes on
            home = next((d for d in evals if run_dir.is_relative_to(d)), None)
            result = evals[home].get(run_dir) if home else None
            found.append(RunInfo(ref=self.ref(run_dir), trace=trace, task=result.get("task", "") if result else
                                 run_dir.name, site=_site(trace), verdict=(result or {}).get("verdict") or
                                 _verdict(run_dir), eval_ref=self.ref(home) if home else None))
        return sorted(found, key=lambda r: r.trace.header.created_at, reverse=True)


def results_by_trace(eval_dir: Path) -> dict[Path, dict]:
    results = {}
    file = eval_dir / "results.jsonl"
    if file.is_file():
        for line in file.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue  # the line being written
            if isinstance(row, dict) and row.get("trace"):
                results[(eval_dir / row["trace"]).resolve()] = row
    return results


def _site(trace: Trace) -> str:
    url = trace.header.start_url or ""
    return urlsplit(url).hostname or (Path(trace.header.site).name if trace.header.site else "")


def _verdict(run_dir: Path) -> str:
    from ..judges import load_judgments

    try:
        judged = load_judgments(run_dir)
    except (ValueError, OSError):
        return ""
    return judged[-1].verdict if judged else ""


def eval_state(eval_dir: Path) -> dict:
    """What an eval has done so far, from its files: planned, finished, passed, and whether it is over (its
    summary is written last, after every result)."""
    rows = list(results_by_trace(eval_dir).values())
    planned, summary = _json(eval_dir / "planned.json"), _json(eval_dir / "summary.json")
    results = eval_dir / "results.jsonl"
    finished = summary is not None and (not results.is_file() or
                                        (eval_dir / "summary.json").stat().st_mtime >= results.stat().st_mtime)
    done, passed = len(rows), sum(bool(r.get("success")) for r in rows)
    line = (f"{done} of {(planned or {}).get('episodes', '?')} episodes done, {passed} passed"
            + (f" ({passed / done:.0%})" if done else "") + ("" if finished else ", running"))
    return {"rows": rows, "finished": finished, "summary": summary, "line": line}


def _json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
