"""serve, make-tiny-model: models in this process."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import MolmoAgentError
from ._common import app, cannot_listen, fail, out


@app.command()
def serve(
    model: str = typer.Option(..., "--model", help="Molmo2-family checkpoint folder or hub id"),
    host: str = typer.Option("127.0.0.1", "--host"), port: int = typer.Option(8000, "--port"),
    api_key: Optional[str] = typer.Option(None, "--api-key", envvar="MOLMO_AGENT_API_KEY", help="require this bearer token"),
    name: Optional[str] = typer.Option(None, "--name", help="model id to answer to (default: the folder's name)"),
    max_batch: int = typer.Option(8, "--max-batch", min=1, help="requests generated together"),
    allow_host: list[str] = typer.Option([], "--allow-host", help="also answer requests whose Host header names "
                                         "this (a DNS name of this machine, a proxy's); '*' for any"),
    any_content_type: bool = typer.Option(False, "--any-content-type", help="accept POST bodies not sent as "
                                          "application/json (a web page can then post to the server)"),
) -> None:
    """Serve a model over an OpenAI-compatible API (what --pointer http talks to) and MolmoWeb's /predict."""
    from ..models.loading import MolmoModel
    from ..serve import ModelServer, refuse_unguarded

    try:
        refuse_unguarded(host, api_key)
        loaded = MolmoModel(model)
        if loaded.fast:
            out.print(f"compiling the fast path for batches up to {max_batch} ...")
            out.print(f"warm in {loaded.warm_up(max_batch):.0f}s")
        server = ModelServer(loaded, name=name or Path(model).name, host=host, port=port, api_key=api_key,
                             max_batch=max_batch, allow_hosts=allow_host, any_content_type=any_content_type)
    except MolmoAgentError as exc:
        fail(exc)
    except OSError as exc:
        cannot_listen(host, port, exc)
    out.print(f"serving {model} as {name or Path(model).name} ({loaded.device}): OpenAI-compatible at "
              f"{server.url}/v1, MolmoWeb's API at {server.url}/predict", soft_wrap=True)
    server.run()  # uvicorn stops cleanly on Ctrl-C


@app.command("make-tiny-model")
def make_tiny_model(out_dir: Path = typer.Argument(..., help="folder for the checkpoint")) -> None:
    """Build a tiny random Molmo2 with its processor, offline: for tests and trying the model path."""
    from ..models.random import build_tiny_molmo2

    out.print(f"tiny Molmo2 written to {build_tiny_molmo2(out_dir)}")
