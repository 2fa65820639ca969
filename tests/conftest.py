"""Shared fixtures: the demo site and test pages served on loopback, a loaded OCR pointer, run helpers."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import subprocess
import threading
import sys
from pathlib import Path

import pytest

from molmo_agent.browser import BrowserConfig
from molmo_agent.run import PointerSettings, RunSettings, run_task
from molmo_agent.sites import DEMO_SITE, serve_site
from molmo_agent.tasks import load_task


def _share_the_cores() -> None:
    """Each xdist worker, and what its tests start, gets its share of the cores for native thread pools (torch's
    OpenMP, onnxruntime's OCR): pools that each take every core spin against each other. Measured on two cores
    beside one busy process: 100 training steps of the tiny model 35 s on two threads, 11 s on one; OCR of six
    screenshots 9.5 s and 6.2 s (quiet, two threads are only 13% and 30% faster). A set OMP_NUM_THREADS wins."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1 and "OMP_NUM_THREADS" not in os.environ:
        os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // workers))


_share_the_cores()  # before anything here loads torch or onnxruntime

PAGES = Path(__file__).parent / "pages"
CLI = [sys.executable, "-m", "molmo_agent.cli"]


LONGEST_FIRST = ("test_model_loop.py", "test_evaluate.py", "test_record.py", "test_forms.py", "test_ray_eval.py",
                 "test_pytest_plugin.py", "test_molmoweb.py")
"""The longest files, longest first. xdist hands out whole files (--dist loadfile: a file's module fixtures, the
trained models, are made once, and Ray's tests never run beside each other), so starting with the longest
keeps one worker from being left with the model training at the end."""


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        return LONGEST_FIRST.index(item.path.name) if item.path.name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the order within a file stays as collected


@pytest.fixture(scope="session")
def demo_url():
    with serve_site(DEMO_SITE) as base:
        yield base


@pytest.fixture(scope="session")
def pages_url():
    """Test pages made for one purpose each (click recording, tabs, dialogs)."""
    with serve_site(PAGES) as base:
        yield base


@pytest.fixture(scope="session")
def ocr_pointer():
    from molmo_agent.pointers.ocr import OcrPointer

    return OcrPointer()


@pytest.fixture
def demo_task():
    return load_task(DEMO_SITE.parent / "task.yaml")


DEMO_ADDRESS = "http://demo.test/"
"""Where recordings of the demo show it (`RunSettings.site_url`): the same URLs on every run, as a model that
trains on them and is then asked about them needs (a new port each time is a new string in every prompt)."""


@pytest.fixture(scope="session")
def demo_traces(tmp_path_factory):
    """The demo task recorded with the dom pointer at DEMO_ADDRESS: two layouts at scale factors 1 and 2 (for
    training), both layouts at 1.5 (held out), and a third layout (c) at 1. Maps a name (layout, then scale)
    to its run directory. Recorded once per session: under xdist the first worker to need them records them
    and the others read the same folders (tests only read them)."""
    from filelock import FileLock

    session = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        session = session.parent  # the folder the workers' own folders are in
    out, index = session / "demo-traces", session / "demo-traces.json"
    with FileLock(str(session / "demo-traces.lock")):
        if not index.is_file():
            task = load_task(DEMO_SITE.parent / "task.yaml")
            runs = {}
            for name, path, scale in [("a1", "", 1), ("a2", "", 2), ("b1", "index.html?variant=b", 1),
                                      ("b2", "index.html?variant=b", 2), ("a15", "", 1.5),
                                      ("b15", "index.html?variant=b", 1.5), ("c1", "index.html?variant=c", 1)]:
                result = run_task(task.model_copy(update={"path": path}), settings(out / name, scale=scale,
                                                                                    site_url=DEMO_ADDRESS))
                assert result.status == "success", result.end.reason
                runs[name] = str(result.run_dir)
            index.write_text(json.dumps(runs))
    return {name: Path(run_dir) for name, run_dir in json.loads(index.read_text()).items()}


@contextlib.contextmanager
def running(server):
    """A stdlib HTTP server answering on its own thread; yields its base URL."""
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def settings(tmp_path: Path, pointer: str = "dom", scale: float = 1.0, site_url: str | None = None,
             **browser) -> RunSettings:
    return RunSettings(pointer=PointerSettings(name=pointer), out=tmp_path, site_url=site_url,
                       browser=BrowserConfig(scale=scale, **browser))


def requires_ml() -> None:
    """Call at the top of a module that needs the ML extra. The tests are installed with it (`setup.sh --dev`),
    so its absence fails the module instead of skipping it quietly; MOLMO_AGENT_SKIP_ML=1 skips on purpose."""
    if os.environ.get("MOLMO_AGENT_SKIP_ML") == "1":
        pytest.skip("MOLMO_AGENT_SKIP_ML=1", allow_module_level=True)
    for module in ("torch", "transformers.models.molmo2", "datasets", "peft"):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ImportError(f"{module} is missing: the tests need the ML extra (./setup.sh --dev), "
                              "or set MOLMO_AGENT_SKIP_ML=1 to skip the model tests") from exc


# The first round is what usually closes the loop; a second goes on more gently. A tiny model's training is
# chaotic: whether it settles where every row is answered or where two layouts are confused depends on its
# initial weights and the order of its data more than on how long it goes on (measured: fifteen rounds from one
# unlucky start left the same four rows confused). So a run that has not closed the loop after ROUNDS starts
# again from another untrained model (another seed for its weights and its data's order).
FIRST = dict(batch_size=8, lr=3e-3, lr_vision=3e-3, lr_connector=3e-3, warmup_steps=20)
LATER = dict(batch_size=8, lr=1e-3, lr_vision=1e-3, lr_connector=1e-3, warmup_steps=0, steps=150)
ROUNDS = 2
STARTS = 3


def train_until_reproduced(initial: Path, datasets: list[Path], out: Path, first_steps: int) -> tuple[Path, int, float]:
    """Train from `initial` until every training row of `datasets` is answered word for word, greedily: a run that
    meets the recorded screens and prompts is then answered as it was recorded. Returns (model, steps, seconds),
    the steps and seconds of every start counted."""
    from molmo_agent.models.loading import MolmoModel
    from molmo_agent.models.random import build_tiny_molmo2
    from molmo_agent.sft.score import unreproduced
    from molmo_agent.sft.train import TrainConfig, train

    steps, seconds, missed = 0, 0.0, []
    for start in range(STARTS):
        base = initial if start == 0 else build_tiny_molmo2(out / f"molmo2-tiny-{start}", seed=start)
        for round_ in range(ROUNDS):
            seed = start * ROUNDS + round_
            config = TrainConfig(steps=first_steps, seed=seed, **FIRST) if round_ == 0 else TrainConfig(seed=seed, **LATER)
            result = train(datasets, base, out / f"molmo2-demo-{seed}", config)  # "molmo2": serve names its family
            base, steps, seconds = result.out, steps + result.steps, seconds + result.seconds
            with MolmoModel(str(base)) as model:
                missed = unreproduced(model, datasets)
            if not missed:
                return base, steps, seconds
    raise AssertionError(f"{len(missed)} training rows not reproduced after {STARTS} starts ({steps} steps): " +
                         "; ".join(f"{m.expected!r} -> {m.answered!r}" for m in missed[:5]))


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


__all__ = ["CLI", "DEMO_ADDRESS", "cli", "requires_ml", "run_task", "running", "settings", "train_until_reproduced"]
