"""`ui`: a local web app over trace folders. Runs and evals newest first, a run's steps beside its screenshots,
live progress while a run or eval writes its files, and two runs compared step by step.

Pages are rendered here on the server; the little script there is moves between steps and takes in live updates
(server-sent events that follow the trace files). Everything a page or a model wrote is shown as escaped text,
and the Content-Security-Policy lets only this app's own script run. Files are served only from under the
folders the app was given, and only screenshots.
"""

from .app import UiServer, make_app
from .folders import Library

__all__ = ["Library", "UiServer", "make_app"]
