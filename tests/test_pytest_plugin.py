"""The pytest plugin in real pytest sessions (pytester, in subprocesses): pytest-playwright's `page`, the
`agent` fixture, and the point cache filling, serving a run with a dead pointer, failing read-only on a
changed page and healing read-write."""

import json

import pytest

from .openai_server import fake_molmo_server

pytest_plugins = ["pytester"]

SIGN_IN = '''
def test_sign_in(agent, page):
    page.add_init_script("window.variant = '{variant}'")
    page.goto("{url}")
    agent.run('type "{{{{AGENT_USER}}}}" into "Email", click "Sign in"')
    assert page.inner_text("#said") == "Signed in as ada@example.com"
'''
USER = "ada@example.com"


@pytest.fixture
def molmo(ocr_pointer):
    """A Molmo behind an OpenAI-compatible endpoint on loopback (the pointer the sessions use)."""
    with fake_molmo_server(ocr_pointer) as (endpoint, model):
        yield ("--agent-pointer", "http", "--agent-endpoint", endpoint, "--agent-model", "allenai/Molmo-7B-D-0924"), model


@pytest.fixture
def session(pytester, monkeypatch, tmp_path):
    """Runs a pytest session over the sign-in test at a URL; returns (result, cache folder)."""
    monkeypatch.setenv("AGENT_USER", USER)
    monkeypatch.delenv("CI", raising=False)
    cache = tmp_path / "cache"

    def run(url: str, *options: str, variant: str = ""):
        pytester.makepyfile(test_signin=SIGN_IN.format(url=url, variant=variant))
        return pytester.runpytest_subprocess("-p", "no:cacheprovider", "--agent-cache", str(cache),
                                             "--output", str(tmp_path / "results"), *options)

    return run, cache


def test_the_cache_fills_serves_a_dead_pointer_fails_read_only_on_change_and_heals(session, molmo, pages_url, tmp_path):
    run, cache = session
    live, model = molmo
    page = f"{pages_url}signin.html"

    cold = run(page, *live)
    cold.assert_outcomes(passed=1)
    entries = sorted(cache.glob("*.json"))
    assert len(entries) == 2
    cold.stdout.fnmatch_lines(["*point cache (rw): 0 hits, 2 misses, 0 healed; 2 pointer calls*"])
    saved = [json.loads(e.read_text()) for e in entries]
    assert {e["key"]["step"] for e in saved} == {'type "{{AGENT_USER}}" into "Email"', 'click "Sign in"'}
    assert all(USER not in e.read_text() for e in cache.rglob("*")), "the secret's value is never cached"
    assert {(e["fingerprint"]["role"], e["fingerprint"]["name"]) for e in saved} == {("textbox", "Email"), ("button", "Sign in")}

    assert len(model.requests) == 2
    dead = ("--agent-pointer", "http", "--agent-endpoint", "http://127.0.0.1:9/v1", "--agent-model", "allenai/Molmo-7B-D-0924")
    warm = run(page, "--agent-cache-mode", "ro", *dead)
    warm.assert_outcomes(passed=1)
    warm.stdout.fnmatch_lines(["*point cache (ro): 2 hits, 0 misses, 0 healed; 0 pointer calls*"])

    refused = run(page, "--agent-cache-mode", "ro", *dead, variant="moved")  # the same URL, the form moved
    refused.assert_outcomes(failed=1)
    refused.stdout.fnmatch_lines([f'*type "{{{{AGENT_USER}}}}" into "Email" on {page}: the point cache expected '
                                  "textbox 'Email' at*read-only*"])
    assert list((tmp_path / "results").rglob("molmo-step-1-failed.png")), "the annotated screenshot is attached"

    healed = run(page, *live, variant="moved")
    healed.assert_outcomes(passed=1)
    healed.stdout.fnmatch_lines(["*0 hits, 0 misses, 2 healed; 2 pointer calls*",
                                 'HEALED type "{{AGENT_USER}}" into "Email"'])
    again = run(page, "--agent-cache-mode", "ro", *dead, variant="moved")
    again.assert_outcomes(passed=1)  # the healed points were written because the test passed


def test_a_failing_test_teaches_the_cache_nothing_and_names_the_step(session, pages_url):
    run, cache = session
    failing = run(f"{pages_url}clicks.html")  # no "Email" there: the ocr pointer cannot find it
    failing.assert_outcomes(failed=1)
    failing.stdout.fnmatch_lines(["*molmo-agent: step 1: *Email*trace: *"])
    assert not list(cache.glob("*.json"))


def test_a_read_only_cache_with_no_entry_fails_naming_the_step_and_asks_no_pointer(session, molmo, pages_url):
    """What CI runs (`ro`, the default when $CI is set): a step nobody recorded fails instead of asking the live
    pointer behind the cache's back."""
    run, cache = session
    live, model = molmo
    page = f"{pages_url}signin.html"
    missing = run(page, "--agent-cache-mode", "ro", *live)
    missing.assert_outcomes(failed=1)
    missing.stdout.fnmatch_lines([f'*type "{{{{AGENT_USER}}}}" into "Email" on {page}: the point cache {cache} has no '
                                  "entry for this step and is read-only (--agent-cache-mode rw records it*"])
    missing.stdout.fnmatch_lines(["*point cache (ro): 0 hits, 1 misses, 0 healed; 0 pointer calls*"])
    assert model.requests == [] and not list(cache.glob("*.json"))
