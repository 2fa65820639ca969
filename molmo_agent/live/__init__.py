"""Published live-web benchmarks read from their own files: WebVoyager and Online-Mind2Web.

    tasks.py     the task files, filters and patches, as `Task`s with their site and level as tags
    mind2web.py  an episode written in Online-Mind2Web's layout, for its official judge script
    scoring.py   what happens to an episode once it ends (a judge's or a person's verdict, the layout), pass@k
"""

from .tasks import BENCHMARKS, LiveSource, load_live

__all__ = ["BENCHMARKS", "LiveSource", "load_live"]
