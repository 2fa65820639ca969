"""PageAgent on a page the caller owns (pytest-playwright's `page`): tabs, dialogs, secrets, the allow-list
and the trace work as on the tool's own browser, and the page is left open and as the steps left it."""

import pytest

from molmo_agent import PageAgent, StepsFailed
from molmo_agent.trace import read_trace


def test_steps_follow_tabs_and_dialogs_on_the_callers_page(page, pages_url, tmp_path):
    page.goto(f"{pages_url}popups.html")
    agent = PageAgent(page, pointer="dom", out=tmp_path)
    result = agent.run('click "Open help in a new tab", switch to tab 0, click "Delete all"')
    assert result.status == "success", result.end.reason
    steps = read_trace(result.run_dir).steps
    assert any("new tab" in e and "tab.html" in e for e in steps[0].outcome.events)
    assert steps[2].outcome.events == ["confirm dialog accepted: Delete everything?"]
    assert page.inner_text("#said") == "yes" and not page.is_closed(), "the caller's page, as the steps left it"
    assert len(page.context.pages) == 2, "the tab the page opened stays the caller's"
    page.once("dialog", lambda dialog: dialog.dismiss())  # the agent's dialog handler is gone after the run
    page.get_by_text("Delete all").click()
    assert page.inner_text("#said") == "no"


def test_secrets_and_the_allow_list_on_the_callers_page(page, demo_url, pages_url, tmp_path):
    page.goto(demo_url)
    agent = PageAgent(page, pointer="dom", out=tmp_path, secrets={"CITY": "Zanzibar"})
    result = agent.run('click "Accept all", type "{{CITY}}" into "From"')
    assert page.input_value("#from") == "Zanzibar"
    assert all(b"Zanzibar" not in f.read_bytes() for f in result.run_dir.rglob("*") if f.is_file())
    page.goto(f"{pages_url}popups.html")
    fenced = PageAgent(page, pointer="dom", out=tmp_path, allow_domains=["127.0.0.1"])
    with pytest.raises(StepsFailed, match="not in --allow-domain"):
        fenced.run('click "Leave this site"')
    assert page.url.startswith(pages_url)
