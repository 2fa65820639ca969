"""The command line: a thin typer layer over the library, one module per group of verbs.

    run.py       run, demo, replay, site       driving the browser
    evaluate.py  eval                          many episodes, scored
    judging.py   judge                         published benchmarks: task files, judges, pass@k
    data.py      report, export, schema        the uses of recorded traces
    training.py  train                         fine-tuning on exported datasets, one or many processes
    models.py    serve, make-tiny-model        models in this process
    inspecting.py inspect                      what the pixel pointer sees, drawn on the screenshot
"""

from ._common import app
from . import run, evaluate, judging, data, training, models, inspecting  # noqa: E402,F401,I001 - each registers its commands; this order is --help's

__all__ = ["app"]
