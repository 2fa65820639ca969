"""pytest plugin: agent steps on pytest-playwright's `page`, with a point cache that heals.

    def test_sign_in(agent):
        agent.run('click "Sign in", type "{{USER}}" into "Email", press Enter')

`{{NAME}}` placeholders are filled from the environment variable NAME and never written anywhere. Steps
that fail fail the test with the step and the reason. Points found are cached in `--agent-cache` (plain
JSON, meant to be committed): the next run acts from the cache without asking the pointer, checking first
that the same element is still there. Read-only on CI (`$CI` set), read-write elsewhere; what a test
learnt is written only when the test passes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ..browser.session import share_playwright, unshare_playwright
from ..cache import MODES, CacheStats, PointCache
from ..errors import ConfigError
from ..page_agent import PageAgent, StepsFailed

PASSED = pytest.StashKey[bool]()
SESSION = pytest.StashKey["SessionStats"]()


class SessionStats(CacheStats):
    runs: int = 0
    steps: int = 0
    seconds: float = 0.0


def pytest_addoption(parser) -> None:
    group = parser.getgroup("molmo-agent", "molmo-agent: agent steps in tests")
    group.addoption("--agent-pointer", default="ocr", help="where-is-it backend for agent steps: ocr, dom, http, molmo")
    group.addoption("--agent-endpoint", default=None, help="model server for --agent-pointer http")
    group.addoption("--agent-model", default=None, help="model name for http, or a checkpoint for molmo")
    group.addoption("--agent-cache", default=".molmo-agent-cache", help="folder of the point cache (commit it)")
    group.addoption("--agent-cache-mode", default=None, choices=MODES,
                    help="rw (use and learn), ro (use, fail on a change), off, refresh (re-ground all); "
                         "default: ro when $CI is set, else rw")


def pytest_configure(config) -> None:
    if config.pluginmanager.hasplugin("playwright"):  # pytest-playwright; ours must come after its fixtures
        config.pluginmanager.import_plugin("molmo_agent.testing.playwright_fixtures")
    config.stash[SESSION] = SessionStats()


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    # A thread runs one Playwright: our own Chromium sessions in this thread use pytest-playwright's.
    result = yield
    if fixturedef.argname == "playwright":
        share_playwright(result)
    return result


def pytest_fixture_post_finalizer(fixturedef, request) -> None:
    if fixturedef.argname == "playwright":
        unshare_playwright()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash[PASSED] = report.passed
    return report


def _cache_mode(config) -> str:
    return config.getoption("--agent-cache-mode") or ("ro" if os.environ.get("CI") else "rw")


@pytest.fixture(scope="session")
def agent_pointer(pytestconfig):
    """The pointer every `agent` in the session shares (OCR's models and a model server load once)."""
    from ..pointers import make_pointer

    try:
        return make_pointer(pytestconfig.getoption("--agent-pointer"), endpoint=pytestconfig.getoption("--agent-endpoint"),
                            model=pytestconfig.getoption("--agent-model"))
    except ConfigError as exc:
        raise pytest.UsageError(f"molmo-agent: {exc}") from None


class TestAgent:
    """The `agent` fixture: `run(steps)` fails the test when a step fails."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, agent: PageAgent, artifacts: Path) -> None:
        self.agent, self.artifacts = agent, artifacts

    def run(self, steps: str):
        try:
            return self.agent.run(steps)
        except StepsFailed as exc:
            self._annotate(exc.result)
            pytest.fail(f"molmo-agent: {exc}", pytrace=False)
        except ConfigError as exc:
            pytest.fail(f"molmo-agent: {exc}", pytrace=False)

    def _annotate(self, result) -> None:
        """The failed step's screenshot with the point it expected, beside the test's other artifacts."""
        from PIL import Image, ImageDraw

        from ..trace import read_trace

        trace = read_trace(result.run_dir)
        failed = next((s for s in reversed(trace.steps) if not s.outcome.ok), None)
        if failed is None:
            return
        image = Image.open(trace.screenshot_path(failed.observation.screenshot)).convert("RGB")
        scale = image.width / trace.header.viewport[0]
        draw = ImageDraw.Draw(image)
        for grounding in failed.grounding:
            for x, y in grounding.css[:1]:
                r = 14 * scale
                draw.ellipse([x * scale - r, y * scale - r, x * scale + r, y * scale + r], outline="red", width=3)
        self.artifacts.mkdir(parents=True, exist_ok=True)
        image.save(self.artifacts / f"molmo-step-{failed.index}-failed.png")


@pytest.fixture
def agent(page, request, pytestconfig, agent_pointer, output_path):
    """Runs steps in the step language on this test's `page`."""
    mode = _cache_mode(pytestconfig)
    cache = PointCache(Path(pytestconfig.getoption("--agent-cache")), mode)
    artifacts = Path(output_path)
    page_agent = PageAgent(page, pointer=agent_pointer, cache=cache, out=artifacts / "molmo-traces",
                           env_secrets=True)
    yield TestAgent(page_agent, artifacts)
    if request.node.stash.get(PASSED, False):
        cache.commit()
    else:
        cache.discard()
    stats = pytestconfig.stash[SESSION]
    stats.add(cache.stats)
    stats.runs += len(page_agent.results)
    stats.steps += sum(r.end.steps for r in page_agent.results)
    stats.seconds += sum(r.end.seconds for r in page_agent.results)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    stats = config.stash.get(SESSION, None)
    if not stats or not stats.runs:
        return
    terminalreporter.write_sep("-", "molmo-agent")
    terminalreporter.write_line(
        f"{stats.steps} steps in {stats.runs} runs, {stats.seconds:.1f}s; point cache ({_cache_mode(config)}): "
        f"{stats.hits} hits, {stats.misses} misses, {stats.healed} healed; {stats.pointer_calls} pointer calls")
    for step in stats.healed_steps:
        terminalreporter.write_line(f"HEALED {step}")
