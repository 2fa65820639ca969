"""Batch evaluation over the local suite and MiniWoB++, with resume, interruption and broken tasks."""

import json
import threading
from pathlib import Path

import pytest

from molmo_agent import miniwob
from molmo_agent.evaluate import evaluate, finished_results, load_suite, summarize

from .conftest import cli, settings

SUITE = Path(__file__).parents[1] / "tasks" / "suite"


def _run_suite(out, pointer):
    episodes = load_suite(SUITE)
    assert len(episodes) == 16, "the README's figure: 16 of 16"
    results = evaluate(episodes, settings(out, pointer=pointer), out, workers=2)
    failures = {r.task: r.reason for r in results if not r.success}
    assert failures == {}
    assert len(results) == len(episodes) and all((out / r.trace / "trace.jsonl").is_file() for r in results)
    return results


@pytest.fixture(scope="module")
def dom_suite(tmp_path_factory):
    out = tmp_path_factory.mktemp("suite-dom")
    return out, _run_suite(out, "dom")


def test_local_suite_passes_with_the_dom_pointer(dom_suite):
    assert dom_suite[1]


def test_local_suite_passes_with_the_ocr_pointer(tmp_path):
    _run_suite(tmp_path, "ocr")


# What each trap looks like on a page that has it: a page script over the pages a run visited.
PAGE_FACTS = """() => {
  const all = [...document.querySelectorAll('*')];
  const css = [...document.styleSheets].flatMap(s => { try { return [...s.cssRules].map(r => r.cssText); }
                                                       catch (e) { return []; } }).join('\\n');
  const scripts = [...document.scripts].map(s => s.textContent).join('\\n');
  const text = document.body.innerText;
  return {
    "native-select": !!document.querySelector('select'), "date": !!document.querySelector('input[type=date]'),
    "checkbox": !!document.querySelector('input[type=checkbox]'), "radio": !!document.querySelector('input[type=radio]'),
    "iframe": !!document.querySelector('iframe'), "shadow-dom": all.some(e => e.shadowRoot),
    "login": !!document.querySelector('input[type=password]') || (/sign in|log in/i.test(text) && !!document.querySelector('input')),
    "modal": !!document.querySelector('dialog, [role=dialog], [aria-modal=true]'),
    "hover-menu": /:hover[^{]*\\{[^}]*(display|visibility)/.test(css),
    "drag": !!document.querySelector('[draggable=true]') || /dragstart|pointerdown|mousedown/.test(scripts),
    "scroll": document.documentElement.scrollHeight > innerHeight + 100,
    "cookie-banner": /cookie/i.test(text), "search": !!document.querySelector('input[type=search], input[name*=q], [role=search]'),
    "pagination": /\\b(next|page 2)\\b/i.test(text), "cart": /\\bcart\\b/i.test(text),
    "checkout": /checkout/i.test(text),
  };
}"""


def test_every_trap_a_task_claims_is_on_the_pages_its_run_visited(dom_suite, page):
    """Each page a run visited is opened again in pytest-playwright's `page` and asked what it holds."""
    from molmo_agent.sites import serve_site
    from molmo_agent.trace import read_trace

    out, results = dom_suite
    missing = {}
    for result in results:
        trace = read_trace(out / result.trace)
        seen: dict[str, bool] = {}
        with serve_site(Path(trace.header.site)) as base:
            for url in dict.fromkeys([s.observation.url for s in trace.steps] + [trace.end.final_url]):
                page.goto(url.replace(trace.header.site_url, base))
                for fact, present in page.evaluate(PAGE_FACTS).items():
                    seen[fact] = seen.get(fact, False) or present
        events = [e for s in trace.steps for e in s.outcome.events]
        seen["new-tab"] = any("tab" in s.outcome.changed for s in trace.steps)
        seen["js-dialog"] = any("dialog" in e for e in events)
        seen["second-page"] = len({s.observation.url.split("?")[0] for s in trace.steps}) > 1
        seen["layout-variant"] = "variant=" in trace.header.start_url
        seen["answer"] = trace.end.answer is not None
        task = next(e.task for e in load_suite(SUITE) if e.task.id == result.task)
        lacking = [tag for tag in task.tags if not seen.get(tag, False)]
        if lacking:
            missing[task.id] = lacking
    assert missing == {}
    tags = {tag for e in load_suite(SUITE) for tag in e.task.tags}
    assert tags >= {"native-select", "date", "checkbox", "radio", "cookie-banner", "modal", "login", "search",
                    "pagination", "iframe", "shadow-dom", "new-tab", "scroll", "hover-menu", "drag", "cart", "checkout"}


def test_miniwob_covered_tasks_pass_with_the_dom_pointer(tmp_path):
    results = evaluate(miniwob.episodes(seed=7), settings(tmp_path, pointer="dom"), tmp_path, workers=2)
    assert len(results) == len(miniwob.COVERED)
    assert {r.task: r.reason for r in results if not r.success} == {}
    assert all(r.reward > 0 for r in results), "the reward is the page's own"
    trace = (tmp_path / results[0].trace / "trace.jsonl").read_text().splitlines()
    header = json.loads(trace[0])
    assert header["goal"] != "(the page's instruction)", "the goal is MiniWoB's own sentence"


def test_miniwob_episodes_restart_on_the_page_the_previous_one_left(tmp_path):
    """As MiniWoB++'s own environment does: the page loads once per worker and task, and each episode is
    restarted by script, with its own problem, its own trace and the page's own reward. A task that does not
    restart in place always gets a page of its own."""
    from molmo_agent.browser import Chromium, WarmStart
    from molmo_agent.checks import Check
    from molmo_agent.run import run_task

    task = miniwob.task("enter-text")
    same_document = task.model_copy(update={"checks": [*task.checks, Check(js="window.__earlier === true")]})
    runs = []
    with Chromium() as chromium:
        warm = WarmStart()
        try:
            for seed, checked in ((1, task), (2, same_document), (3, same_document)):
                episode = checked.model_copy(update={"setup": checked.setup.replace("{seed}", str(seed))})
                runs.append(run_task(episode, settings(tmp_path / str(seed)), chromium=chromium, warm=warm))
                kept = warm.take()
                kept.evaluate("window.__earlier = true")
                warm.keep(kept)
            cold = same_document.model_copy(update={"restart_in_place": False, "setup": task.setup.replace("{seed}", "4")})
            fresh = run_task(cold, settings(tmp_path / "4"), chromium=chromium, warm=warm)
        finally:
            warm.close()
    assert [r.end.status for r in runs] == ["success"] * 3, [r.end.reason for r in runs]
    goals = [json.loads((r.run_dir / "trace.jsonl").read_text().splitlines()[0])["goal"] for r in runs]
    assert len(set(goals)) == 3, f"each episode has its own problem: {goals}"
    assert fresh.end.status == "failed" and "__earlier" in fresh.end.reason, "a page of its own"


def test_resume_skips_finished_episodes_and_ctrl_c_keeps_them(tmp_path):
    episodes = miniwob.episodes(["click-button", "click-link", "enter-text"], count=2)
    stop = threading.Event()
    first = evaluate(episodes, settings(tmp_path), tmp_path, workers=1, on_result=lambda r: stop.set(), stop=stop)
    assert len(first) == 1, "stopping after the first result keeps it and runs nothing more"
    ran = []
    second = evaluate(episodes, settings(tmp_path), tmp_path, workers=2, on_result=ran.append)
    assert len(ran) == len(episodes) - 1 and first[0].key not in {r.key for r in ran}
    assert sorted(r.key for r in second) == sorted(e.key for e in episodes)
    assert len(finished_results(tmp_path)) == len(episodes)


def test_broken_tasks_fail_alone(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "good.yaml").write_text((SUITE / "portal-iframe.yaml").read_text().replace("../sites", str(SUITE.parent / "sites")))
    (suite / "broken.yaml").write_text("id: [unclosed\n")
    (suite / "no-site.yaml").write_text("id: no-site\ngoal: x\nsite: missing-folder\nsteps: [done]\n")
    (suite / "bad-step.yaml").write_text("id: bad-step\ngoal: x\nurl: http://127.0.0.1:9/\nsteps: [click \"A\", teleport home]\n")
    results = {r.task: r for r in evaluate(load_suite(suite), settings(tmp_path), tmp_path / "out", workers=2)}
    assert results["portal-iframe"].success
    assert "not valid YAML" in results["broken"].reason
    assert "missing-folder" in results["no-site"].reason
    assert "cannot read step 'teleport home'" in results["bad-step"].reason
    assert summarize(list(results.values()))["successes"] == 1


def test_eval_command_writes_results_summary_and_report(tmp_path):
    done = cli("eval", str(SUITE), "--tasks", "flight-booking,portal-iframe", "--pointer", "dom",
               "--workers", "2", "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 of 2 episodes succeeded" in done.stdout
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["success_rate"] == 1.0 and set(summary["tasks"]) == {"flight-booking", "portal-iframe"}
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 2
    page = (tmp_path / "report.html").read_text()
    for result in finished_results(tmp_path):
        assert f'href="{result.trace}/report.html"' in page
        assert (tmp_path / result.trace / "report.html").is_file()
    again = cli("eval", str(SUITE), "--tasks", "flight-booking,portal-iframe", "--pointer", "dom", "--out", str(tmp_path))
    assert again.returncode == 0 and len((tmp_path / "results.jsonl").read_text().splitlines()) == 2


def test_unknown_suite_and_task_are_usage_errors(tmp_path):
    assert "no MiniWoB++ task named nope" in cli("eval", "miniwob", "--tasks", "nope", "--out", str(tmp_path)).stderr
    done = cli("eval", str(tmp_path / "empty"), "--out", str(tmp_path))
    assert done.returncode == 2 and "holds no task files" in done.stderr


class _FlakyStart:
    """A start page whose first requests get no answer (a network blip; Chromium retries one by itself), and
    every later one a button."""

    def __init__(self, failing: int = 2) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests, self.failing = 0, failing
        flaky = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                if self.path != "/":
                    return self.send_error(404)
                flaky.requests += 1
                if flaky.requests <= flaky.failing:
                    self.close_connection = True
                    return  # nothing sent: the browser sees an empty response
                page = b"<title>flaky</title><button onclick=\"this.textContent='Pressed'\">Press me</button>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)


def test_a_start_page_that_fails_to_load_is_retried_once_but_an_agent_failure_is_not(tmp_path):
    from molmo_agent.evaluate import Episode
    from molmo_agent.tasks import Task

    from .conftest import running

    flaky = _FlakyStart()
    with running(flaky.server) as base:
        pressed = Task(id="press", goal='click "Press me"', url=f"{base}/", checks=[{"text": "Pressed"}])
        missing = Task(id="missing", goal='click "Nothing like it"', url=f"{base}/")
        results = evaluate([Episode(task_id="press", task=pressed)], settings(tmp_path), tmp_path)
        [result] = results
        assert result.success and "could not open" in (result.retried or ""), (result, flaky.requests)
        served = flaky.requests
        [failed] = evaluate([Episode(task_id="missing", task=missing)], settings(tmp_path), tmp_path)
    assert not failed.success and failed.retried is None, "the agent's failure counts"
    assert flaky.requests == served + 1, "and is not run again"
    assert summarize(results)["retried"] == 1


def _run_miniwob(tmp_path, name: str, steps: list[str], *, seed: int = 3, extra_setup: str = "", checks=(), **options):
    from molmo_agent.checks import Check
    from molmo_agent.run import run_task

    task = miniwob.task(name, **options)
    task = task.model_copy(update={"steps": steps, "checks": [*task.checks, *(Check(js=js) for js in checks)],
                                   "setup": task.setup.replace("{seed}", str(seed)) + extra_setup})
    return run_task(task, settings(tmp_path))


DISPLAY_HIDDEN = "['reward-display', 'click-canvas', 'sync-task-cover'].every(id => !document.getElementById(id) " \
                 "|| getComputedStyle(document.getElementById(id)).display === 'none')"


def test_a_miniwob_episode_longer_than_minwobs_10_seconds_succeeds_as_agent_harnesses_run_it(tmp_path):
    result = _run_miniwob(tmp_path, "click-test", ["wait 11s", 'click "Click Me!"'], checks=[DISPLAY_HIDDEN])
    assert result.status == "success", result.end.reason
    assert result.end.reward == 1.0 and result.end.seconds > 11


def test_minwobs_own_timer_and_display_come_back_when_asked(tmp_path):
    shown = _run_miniwob(tmp_path / "shown", "click-test", ['click "Click Me!"'], time_limit_s=10, display=True,
                         checks=[f"!({DISPLAY_HIDDEN})"])
    assert shown.status == "success", shown.end.reason
    late = _run_miniwob(tmp_path / "late", "click-test", ["wait 2s", 'click "Click Me!"'], time_limit_s=1, display=True)
    assert late.status == "failed" and late.end.reward == -1.0 and late.end.steps == 1, late.end.reason


def test_an_episode_restarted_under_the_agent_ends_instead_of_going_on_with_the_old_instruction(tmp_path):
    """MiniWoB's page starts a new problem when its timer runs out (here: at once, by script): the run ends
    failed with that reason and never acts on the new problem with the old instruction."""
    restart = " setTimeout(() => { core.endEpisode(0); core.startEpisodeReal(); }, 300);"
    result = _run_miniwob(tmp_path, "click-button", ["wait 1s", 'click "Submit"'], extra_setup=restart)
    assert result.status == "failed" and result.end.steps == 1, result.end.reason
    assert result.end.reason.startswith("the page restarted its episode with a new goal")


def test_miniwob_options_are_for_miniwob(tmp_path):
    done = cli("eval", str(Path(__file__).parent.parent / "tasks" / "forms"), "--miniwob-display", "--out", str(tmp_path))
    assert done.returncode == 2 and "are for eval miniwob" in done.stderr
