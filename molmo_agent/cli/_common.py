"""What every command shares: the typer app, the consoles, the options, turning options into settings."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from .. import stopping
from ..browser import BrowserConfig, parse_viewport
from ..errors import ConfigError, MolmoAgentError
from ..pointers import NAMES as POINTER_NAMES
from ..redaction import Secrets
from ..models.endpoint import APIS
from ..models.sampling import Sampling
from ..run import POLICIES, ModelSettings, PointerSettings, RunSettings, run_task
from ..sites import DEMO_SITE
from ..tasks import Task
from ..trace import StepRecord

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Web agents that see the page as pixels and act by pointing.")
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
DEMO_TASK = DEMO_SITE.parent / "task.yaml"


@app.callback()
def _every_command() -> None:
    stopping.listen()  # Ctrl-C stops any command at once, however the shell started it


def fail(exc: MolmoAgentError) -> None:
    err.print(f"[red]error:[/red] {exc}", markup=True, soft_wrap=True)
    raise typer.Exit(exc.exit_code)


def cannot_listen(host: str, port: int, exc: OSError) -> None:
    fail(ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}; pass another --port (0 picks a free one)"))


def step_line(secrets: Secrets):
    def show(step: StepRecord) -> None:
        action = step.action or step.intent
        where = f" -> ({action.x:.0f}, {action.y:.0f})" if getattr(action, "x", None) is not None else ""
        mark = "[green]ok[/green]" if step.outcome.ok else "[red]FAIL[/red]"
        changed = ",".join(step.outcome.changed) or "no change"
        seconds = sum(step.timings.values())
        line = f"{step.index:>3} {mark} {step.intent.describe()}{where}  {seconds:.2f}s  [dim]{changed}[/dim]"
        if step.outcome.error:
            line += f"\n      [red]{step.outcome.error}[/red]"
        for event in step.outcome.events:
            line += f"\n      [yellow]{event}[/yellow]"
        out.print(secrets.redact(line), markup=True, soft_wrap=True)

    return show


def recording_to(run_dir: Path) -> None:
    out.print(f"[dim]recording to {run_dir}[/dim]")


def execute(task: Task, settings: RunSettings) -> None:
    result = run_task(task, settings, on_step=step_line(settings.secrets), on_start=recording_to)
    print_end(result, settings)
    raise typer.Exit(0 if result.status == "success" else 1)


def print_end(result, settings: RunSettings) -> None:
    end = result.end
    colour = "green" if end.status == "success" else "red"
    out.print(f"[{colour}]{end.status}[/{colour}] after {end.steps} steps in {end.seconds:.1f}s"
              + (f": {settings.secrets.redact(end.reason)}" if end.reason else ""))
    if end.answer:
        out.print(f"answer: {settings.secrets.redact(end.answer)}")
    out.print(f"trace: {result.run_dir}")


def make_settings(pointer, endpoint, model, api_key, timeout, out_dir, max_steps, viewport, scale,
              secret, allow_domain, allow_file, headed, browser, playwright_trace=False, family=None) -> RunSettings:
    if pointer not in POINTER_NAMES:
        raise ConfigError(f"--pointer {pointer!r} is not one of {', '.join(POINTER_NAMES)}")
    if not 0.5 <= scale <= 4:
        raise ConfigError(f"--scale {scale} is out of range; use 0.5 to 4 (2 for a HiDPI screen)")
    return RunSettings(
        pointer=PointerSettings(name=pointer, endpoint=endpoint, model=model, api_key=api_key, timeout_s=timeout,
                                family=family),
        browser=BrowserConfig(executable=browser, headless=not headed, viewport=parse_viewport(viewport),
                              scale=scale, allow_domains=allow_domain, allow_file=allow_file,
                              playwright_trace=playwright_trace),
        out=out_dir, max_steps=max_steps, secrets=Secrets.from_options(secret),
    )


def choose_policy(settings: RunSettings, policy: str, planner: str | None, planner_model: str | None,
                  planner_api_key: str | None, *, api: str = "openai", history: int = 10,
                  temperature: float = 0.7, top_p: float = 0.8, max_new_tokens: int = 1024,
                  guards: bool = False, wait_scale: float = 1.0) -> None:
    if policy not in POLICIES:
        raise ConfigError(f"--policy {policy!r} is not one of {', '.join(POLICIES)}")
    if policy != "planner" and (planner or planner_model):
        raise ConfigError("--planner and --planner-model are for --policy planner")
    if api not in APIS:
        raise ConfigError(f"--api {api!r} is not one of {', '.join(APIS)}")
    if api != "openai" and not settings.pointer.endpoint:
        raise ConfigError(f"--api {api} is for a model behind --endpoint URL")
    if guards and policy != "molmoweb":
        raise ConfigError("--guards is for --policy molmoweb (the other policies always run with them)")
    if wait_scale != 1 and policy != "molmoweb":
        raise ConfigError("--wait-scale is for --policy molmoweb (the other policies wait on the page, not the clock)")
    if policy == "molmoweb" and api == "molmoweb" and temperature == 0:
        raise ConfigError("--temperature 0: MolmoWeb's server refuses it (transformers samples only at a positive "
                          "temperature); give a small one such as 0.01, or serve the checkpoint with "
                          "`molmo-agent serve` and use --api openai")
    settings.policy, settings.guards, settings.wait_scale = policy, guards, wait_scale
    settings.pointer.api = api
    settings.planner = ModelSettings(model=planner_model, endpoint=planner, api_key=planner_api_key,
                                     timeout_s=settings.pointer.timeout_s)
    settings.history = history
    settings.sampling = Sampling(temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens)


POINTER = typer.Option("ocr", "--pointer", help=f"where-is-it backend: {', '.join(POINTER_NAMES)}")
ENDPOINT = typer.Option(None, help="model server for --pointer http and --policy molmoweb: an OpenAI-compatible "
                        "base URL (http://gpu:8000/v1), or with --api molmoweb MolmoWeb's server (http://gpu:8001)")
MODEL = typer.Option(None, help="for http: the model the endpoint serves (allenai/Molmo-7B-D-0924); "
                     "for molmo: a checkpoint folder or hub id")
POLICY = typer.Option("steps", "--policy", help="steps (the goal is the steps), planner (a chat model names each step: "
                      "--planner, --planner-model), or molmoweb (a MolmoWeb model, --model, at --endpoint if given)")
PLANNER = typer.Option(None, "--planner", help="OpenAI-compatible base URL of the planner model, e.g. http://gpu:8001/v1 "
                       "(without it, --planner-model is loaded in this process)")
PLANNER_MODEL = typer.Option(None, "--planner-model", help="the model the --planner endpoint serves, or a checkpoint folder")
PLANNER_KEY = typer.Option(None, "--planner-api-key", envvar="MOLMO_AGENT_PLANNER_API_KEY",
                           help="bearer token for the planner endpoint")
FAMILY = typer.Option(None, "--family", help="pointing prompt: molmo, molmo2, molmoweb (its web_grounding mode), "
                      "generic (default: from --model's name)")
API = typer.Option("openai", "--api", help="what --endpoint speaks: openai (vLLM, SGLang, serve) or molmoweb "
                   "(MolmoWeb's own server, POST /predict)")
HISTORY = typer.Option(10, "--history", min=0, help="earlier steps the molmoweb policy shows the model")
GUARDS = typer.Option(False, "--guards", help="molmoweb policy: add our guards to MolmoWeb's harness (typed values "
                      "checked, a failed action, 3 repeats or 3 infeasible answers in a row end the run, right "
                      "clicks kept); see the README's harness table")
WAIT_SCALE = typer.Option(1.0, "--wait-scale", min=0, help="molmoweb policy: MolmoWeb's fixed waits after each "
                          "action times this (1: theirs, as their published numbers were measured; 0.1 for quick "
                          "runs on pages that settle at once)")
TEMPERATURE = typer.Option(0.7, "--temperature", min=0, max=2, help="sampling of model policies (0 = greedy)")
TOP_P = typer.Option(0.8, "--top-p", min=0.01, max=1, help="nucleus sampling of model policies")
MAX_NEW_TOKENS = typer.Option(1024, "--max-new-tokens", min=1, max=4096, help="longest answer of a model policy")
API_KEY = typer.Option(None, envvar="MOLMO_AGENT_API_KEY", help="bearer token for the endpoint")
TIMEOUT = typer.Option(60.0, "--timeout", help="seconds to wait for one pointer answer")
OUT = typer.Option(Path("traces"), "--out", help="folder that receives one run directory per run")
MAX_STEPS = typer.Option(None, "--max-steps", min=1, help="step budget (default: the task's, else 30)")
VIEWPORT = typer.Option("1280x720", help="viewport in CSS pixels, WIDTHxHEIGHT")
SCALE = typer.Option(1.0, help="device scale factor (2 = HiDPI screenshots)")
SECRET = typer.Option([], "--secret", help="NAME=value, typed where a step says {{NAME}}; never recorded")
ALLOW = typer.Option([], "--allow-domain", help="only go to these domains (and their subdomains)")
ALLOW_FILE = typer.Option(False, "--allow-file", help="allow file:// URLs")
HEADED = typer.Option(False, "--headed", help="show the browser window")
BROWSER = typer.Option(None, "--browser", help="Chromium executable (else $MOLMO_AGENT_CHROMIUM, Playwright's, /usr/bin/chromium)")
PW_TRACE = typer.Option(False, "--playwright-trace", help="also save Playwright's trace archive for its Trace Viewer")
