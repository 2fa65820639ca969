"""The benchmarks' own judge code, run from the user's checkout on our folders, its verdicts read back.

Two checkouts are known, told apart by their files:
- allenai/molmoweb (`benchmarks/benchmarks.py`): `python -m benchmarks.benchmarks judge --benchmark B
  --results_dir DIR --data_path FILE --judge_type J --num_workers N`, run in the checkout. It reads
  `DIR/<id>/trajectory.json` and `images/` (written by `live.molmoweb`) for each task of FILE (the tasks
  this eval covered, in the benchmark's own format) and writes `DIR/<id>/<J>_verdict.json`
  (`{"thought", "verdict": "SUCCESS" | "FAILURE"}`), or `<J>_verdict_error.json` when its judge failed.
- OSU-NLP-Group/Online-Mind2Web (`src/run.py`): `python src/run.py --mode WebJudge_Online_Mind2Web_eval
  --model M --trajectories_dir DIR --api_key K --output_path OUT --score_threshold 3 --num_worker N`. It reads
  `DIR/<task_id>/result.json` and `trajectory/*.png` (written by `live.mind2web`) and appends one JSON line a
  task to `OUT/WebJudge_Online_Mind2Web_eval_{M}_score_threshold_3_auto_eval_results.json`
  (`task_id`, `predicted_label` 1 or 0).
Both reach the judge model through the OpenAI client's own settings: `OPENAI_BASE_URL` and `OPENAI_API_KEY`
(MolmoWeb's judges name their model in code: gpt-4o, or o4-mini for WebJudge). Each runs once per episode
index (`seed-N`), since both read one folder of task folders at a time. Their code stays theirs: we run it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

from ..errors import ConfigError
from ..evaluate import OfficialVerdict
from . import mind2web, molmoweb
from .tasks import SPECS

MOLMOWEB, ONLINE_MIND2WEB = "molmoweb", "online-mind2web"
WEBJUDGE_MODE = "WebJudge_Online_Mind2Web_eval"
SCORE_THRESHOLD = 3
OFFICIAL_DIR = "official"
"""The eval folder's own record of each official run: its command line and what it printed."""


class Checkout(NamedTuple):
    kind: str
    path: Path
    python: str


def find_checkout(path: Path, python: str | None = None) -> Checkout:
    """Which benchmark's code is at `path`, and the Python to run it with (its own `.venv`, where it has one)."""
    path = Path(path).expanduser().resolve()
    if (path / "benchmarks" / "benchmarks.py").is_file():
        kind = MOLMOWEB
    elif (path / "src" / "run.py").is_file():
        kind = ONLINE_MIND2WEB
    else:
        raise ConfigError(f"--official {path} is neither a checkout of allenai/molmoweb (benchmarks/benchmarks.py) "
                          "nor of OSU-NLP-Group/Online-Mind2Web (src/run.py); pass the folder you cloned")
    own = path / ".venv" / "bin" / "python"
    return Checkout(kind, path, python or (str(own) if own.is_file() else sys.executable))


def judge_name(checkout: Checkout, benchmark: str) -> str:
    return f"{checkout.kind} {SPECS[benchmark].official_judge if checkout.kind == MOLMOWEB else WEBJUDGE_MODE}"


def _command(checkout: Checkout, benchmark: str, folder: Path, tasks: int, *, subset: Path, model: str | None,
             api_key: str, output: Path) -> list[str]:
    workers = str(max(1, min(4, tasks)))  # theirs crashes on more workers than tasks
    if checkout.kind == MOLMOWEB:
        spec = SPECS[benchmark]
        return [checkout.python, "-m", "benchmarks.benchmarks", "judge", "--benchmark", spec.molmoweb,
                "--results_dir", str(folder), "--data_path", str(subset),
                "--judge_type", spec.official_judge, "--num_workers", workers]
    return [checkout.python, str(checkout.path / "src" / "run.py"), "--mode", WEBJUDGE_MODE, "--model", str(model),
            "--trajectories_dir", str(folder), "--api_key", api_key, "--output_path", str(output),
            "--score_threshold", str(SCORE_THRESHOLD), "--num_worker", workers]


def check(checkout: Checkout, benchmark: str | None, endpoint: str | None, model: str | None) -> None:
    """What an official run needs, refused before anything runs."""
    if benchmark not in SPECS:
        raise ConfigError("--official judges published benchmarks (eval webvoyager, mind2web, odysseys, deepshop, "
                          "webtailbench); this eval is not one")
    if endpoint is None:
        raise ConfigError("--official needs --judge URL: the OpenAI-compatible endpoint its code will call "
                          "(passed to it as OPENAI_BASE_URL)")
    if checkout.kind == ONLINE_MIND2WEB:
        if benchmark != "mind2web":
            raise ConfigError(f"Online-Mind2Web's src/run.py judges Online-Mind2Web runs, not {benchmark}; "
                              "pass a MolmoWeb checkout for it")
        if not model:
            raise ConfigError("--official with Online-Mind2Web's src/run.py needs --judge-model (its --model)")
        if "/" in model:
            raise ConfigError(f"--judge-model {model!r}: src/run.py puts the model in a file name, so it cannot "
                              "hold '/'; serve the model under a name without one")


def run_official(checkout: Checkout, eval_dir: Path, benchmark: str, results, *, endpoint: str,
                 model: str | None, api_key: str | None, echo=print) -> dict[str, OfficialVerdict]:
    """Their judge over every episode index of the eval; {result.key: verdict}. The layouts are written afresh
    from the traces first: their code reuses a verdict or an output line it finds from an earlier run."""
    from ..trace import read_trace

    env = {**os.environ, "OPENAI_BASE_URL": endpoint, "OPENAI_API_KEY": api_key or "EMPTY",
           "PYTHONUNBUFFERED": "1"}
    by_seed = defaultdict(list)
    for result in results:
        by_seed[result.seed].append(result)
    name = judge_name(checkout, benchmark)
    verdicts = {}
    for seed, chosen in sorted(by_seed.items(), key=lambda item: -1 if item[0] is None else item[0]):
        if checkout.kind == MOLMOWEB:
            folder = molmoweb.layout_folder(eval_dir, seed)
            for result in chosen:
                trace = read_trace(eval_dir / result.trace) if result.trace else None
                molmoweb.write_results(trace, result.task, folder)
        else:
            folder = mind2web.layout_folder(eval_dir, seed)
            for result in chosen:
                if result.trace:
                    mind2web.write_layout(read_trace(eval_dir / result.trace), result.task, folder)
        record = eval_dir / OFFICIAL_DIR / checkout.kind / ("run" if seed is None else f"seed-{seed}")
        if record.exists():
            shutil.rmtree(record)
        record.mkdir(parents=True)
        command = _command(checkout, benchmark, folder, len(chosen), subset=molmoweb.subset_path(eval_dir, benchmark),
                           model=model, api_key=api_key or "EMPTY", output=record / "output")
        (record / "command.json").write_text(json.dumps(
            [part if part != api_key else "***" for part in command]) + "\n", encoding="utf-8")
        echo(f"official judge ({name}) on {folder.relative_to(eval_dir)}: {len(chosen)} episodes")
        with open(record / "log.txt", "w", encoding="utf-8") as log:
            done = subprocess.run(command, cwd=checkout.path, env=env, stdout=log, stderr=subprocess.STDOUT)
        if done.returncode != 0:
            echo(f"official judge exited {done.returncode}; its output: {record / 'log.txt'}")
        if checkout.kind == MOLMOWEB:
            read = lambda result: _read_molmoweb(result, folder, record, eval_dir, benchmark)  # noqa: E731
        else:
            labels = _labels(record)
            read = lambda result: _read_online_mind2web(result, labels, record, eval_dir)  # noqa: E731
        for result in chosen:
            verdicts[result.key] = OfficialVerdict(judge=name, **read(result))
    return verdicts


# Each reader gives an OfficialVerdict's fields but the judge's name.
def _relative(path: Path, eval_dir: Path) -> str:
    return str(path.relative_to(eval_dir))


def _read_molmoweb(result, folder: Path, record: Path, eval_dir: Path, benchmark: str) -> dict:
    judge_type = SPECS[benchmark].official_judge
    episode = folder / result.task
    if not (episode / molmoweb.TRAJECTORY).is_file():
        return dict(verdict="missing", why="no trajectory: the episode gave no answer")
    written, failed = episode / f"{judge_type}_verdict.json", episode / f"{judge_type}_verdict_error.json"
    if written.is_file():
        verdict = json.loads(written.read_text(encoding="utf-8")).get("verdict")
        if verdict in ("SUCCESS", "FAILURE"):
            return dict(verdict=verdict.lower(), file=_relative(written, eval_dir))
    if failed.is_file():
        error = json.loads(failed.read_text(encoding="utf-8")).get("error")
        return dict(verdict="unknown", file=_relative(failed, eval_dir), why=str(error))
    return dict(verdict="unknown", why=f"it wrote no verdict; see {_relative(record, eval_dir)}")


def _labels(record: Path) -> dict[str, tuple]:
    """{task_id: (predicted_label, output file)} from the script's output."""
    found = {}
    for output in sorted((record / "output").glob(f"{WEBJUDGE_MODE}_*_auto_eval_results.json")):
        for line in output.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                found[str(row.get("task_id"))] = (row.get("predicted_label"), output)
    return found


def _read_online_mind2web(result, labels: dict[str, tuple], record: Path, eval_dir: Path) -> dict:
    if not result.trace:
        return dict(verdict="missing", why="the episode never ran (an empty folder was judged)")
    if result.task not in labels:
        return dict(verdict="unknown", why=f"no line for it; see {_relative(record, eval_dir)}")
    label, output = labels[result.task]
    return dict(verdict="success" if label == 1 else "failure", file=_relative(output, eval_dir))
