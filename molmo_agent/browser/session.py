"""One browser session: observe the page, carry out an action, wait for the page to settle."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import json
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import Page, sync_playwright

from .. import actions as A
from .. import stopping
from ..keys import normalize_key
from ..errors import BrowserError, ConfigError, NavigationBlockedError
from ..harness import OURS, Harness
from ..observation import Element, Observation, Tab
from ..redaction import Secrets
from . import scripts
from .egress import EgressGuard, within
from .launch import LAUNCH_FLAGS, BrowserConfig, find_chromium
from .warm import WarmStart

DRAG_OVERSHOOT = 10.0  # CSS px
SPECIAL_INPUTS = {"date", "time", "datetime-local", "month", "week", "color", "range"}


def widget_value(kind: str, text: str) -> str:
    """What a date or time input takes (ISO), from what a person types ("05/20/2010", "9:37 PM")."""
    text = text.strip()
    if kind == "date" and (m := re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)):
        return f"{m[3]}-{int(m[1]):02d}-{int(m[2]):02d}"
    if kind == "time" and (m := re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?", text)):
        hour = int(m[1]) % 12 + (12 if m[4] and m[4].lower() == "pm" else 0) if m[4] else int(m[1])
        return f"{hour:02d}:{m[2]}" + (f":{m[3]}" if m[3] else "")
    return text


_SHARED: dict[int, object] = {}
"""Per thread, a Playwright (sync API) someone else started there: pytest-playwright's. A thread can run
only one, so Chromium sessions in that thread use it instead of starting their own."""


def share_playwright(playwright) -> None:
    _SHARED[threading.get_ident()] = playwright


def unshare_playwright() -> None:
    _SHARED.pop(threading.get_ident(), None)


def until_gone(threads: list[threading.Thread], timeout: float = 5.0) -> None:
    """Wait until the worker threads have left the operating system, not just Python. `join` returns before a
    thread's native teardown, where greenlet (Playwright's sync API) frees its per-thread state; a process that
    exits meanwhile, as an eval stopped by Ctrl-C does at once, crashes there (SIGSEGV). Linux shows a live
    thread in /proc/self/task; elsewhere this returns at once."""
    deadline = time.monotonic() + timeout
    for thread in threads:
        native = Path(f"/proc/self/task/{thread.native_id}")
        while thread.native_id is not None and native.exists() and time.monotonic() < deadline:
            time.sleep(0.01)


def _begin(session, method: str, params: dict) -> Callable[[], dict]:
    """Send a CDP command now; returns a function that waits for its answer. Playwright's sync API waits for
    each call it makes: this starts one on the event loop beneath it (its `_impl_obj` and `_sync`, what every
    sync call goes through) and lets the loop run once, so that the command is on its way while Python does
    other work and other calls go and come. Where that plumbing differs, the call is made at once."""
    try:
        loop, call, run = session._loop, session._impl_obj.send, session._sync
    except AttributeError:
        answer = session.send(method, params)
        return lambda: answer
    task = loop.create_task(call(method, params, 0))
    run(asyncio.sleep(0))
    return lambda: run(task)


def frame_offset(frame) -> tuple[float, float]:
    """Where a frame's viewport sits in its page's, in CSS px (events and points inside a frame are its own)."""
    ox = oy = 0.0
    while frame is not None and frame.parent_frame is not None:
        box = frame.frame_element().bounding_box() or {"x": 0, "y": 0}
        ox, oy = ox + box["x"], oy + box["y"]
        frame = frame.parent_frame
    return ox, oy


class Chromium:
    """A launched Chromium process. One per thread; many `Browser` sessions (contexts) can share it."""

    def __init__(self, config: BrowserConfig | None = None) -> None:
        self.config = config or BrowserConfig()

    def __enter__(self) -> "Chromium":
        shared = _SHARED.get(threading.get_ident())
        self._pw, self._owns_pw = (shared, False) if shared is not None else (sync_playwright().start(), True)
        try:
            try:
                bundled = self._pw.chromium.executable_path
            except PlaywrightError:
                bundled = None
            path = find_chromium(self.config.executable, bundled)
            try:
                self.browser = self._pw.chromium.launch(
                    executable_path=path, headless=self.config.headless, args=LAUNCH_FLAGS)
            except PlaywrightError as exc:
                raise BrowserError(f"could not start Chromium at {path}: {str(exc).splitlines()[0]}") from exc
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        return getattr(self, "browser", None) is not None and self.browser.is_connected()

    def close(self) -> None:
        # Closing a browser that already died must not hide the error that killed it.
        with contextlib.suppress(Exception):
            if getattr(self, "browser", None) is not None:
                self.browser.close()
        with contextlib.suppress(Exception):
            if self._owns_pw:
                self._pw.stop()


class Browser:
    """One browser context with an active tab. Use as a context manager.

    Launches its own Chromium unless given a running one to share. `Browser.on_page(page)` drives a page
    someone else opened (a test's `page` from pytest-playwright) and leaves it open.
    """

    def __init__(self, config: BrowserConfig | None = None, secrets: Secrets | None = None,
                 chromium: Chromium | None = None, warm: WarmStart | None = None,
                 should_stop: Callable[[], bool] | None = None) -> None:
        """`warm`: start on the page the previous session left there, and leave this one's page there.
        `should_stop`: asked during long waits (an eval stopping its episodes); Ctrl-C is always heard."""
        self.config = config or BrowserConfig()
        self.secrets = secrets or Secrets()
        self.events: list[str] = []
        self.egress = EgressGuard(self.config.allow_domains, lambda line: self.events.append(line))
        self._should_stop = should_stop or (lambda: False)
        self._navigations = 0
        self._blocked: list[NavigationBlockedError] = []
        self._chromium, self._owns_chromium = chromium, chromium is None
        self._given_page: Page | None = None
        self._warm = warm if not self.config.playwright_trace else None  # a trace is one context's, start to end
        self._resumed_at: str | None = None
        self.mask_marked = False
        """mask what the page marked as secret even with no value known (a recording's password fields)"""
        self._settled: Page | None = None  # the page the settle after an action readied for the look that follows
        self._seen_at: tuple[tuple, dict | None] | None = None  # `element_at`'s last answer, until the page moves on
        self._sessions: dict[Page, object] = {}  # a CDP session a page (`_cdp`)
        self._pixels_coming: Callable[[], bytes] | None = None  # the last look's screenshot, while under way

    @classmethod
    def on_page(cls, page: Page, *, secrets: Secrets | None = None, allow_domains: list[str] = (),
                dialogs: str = "accept") -> "Browser":
        """A session over a caller's page (sync API): its viewport and scale are read from the page, and
        closing the session leaves the page, its context and its browser as they were."""
        viewport = page.viewport_size or page.evaluate("() => ({width: innerWidth, height: innerHeight})")
        config = BrowserConfig(viewport=(viewport["width"], viewport["height"]),
                               scale=page.evaluate("() => devicePixelRatio"), allow_domains=list(allow_domains),
                               dialogs=dialogs)
        browser = cls(config, secrets, chromium=None)
        browser._owns_chromium, browser._given_page = False, page
        return browser

    # -- lifetime -------------------------------------------------------------------------------
    def __enter__(self) -> "Browser":
        if self.config.playwright_trace and self.secrets:
            raise ConfigError("--playwright-trace records the page's DOM, typed secrets included; "
                              "it cannot be combined with --secret")
        if self._owns_chromium:
            self._chromium = Chromium(self.config).__enter__()
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _start(self) -> None:
        kept = self._warm.take() if self._warm is not None else None
        attach = self._given_page or kept
        if attach is not None:
            self.page, self.context = attach, attach.context
            self._resumed_at = kept.url if kept is not None else None
            if self._given_page is not None:
                self.page.evaluate(scripts.WATCH_PAGE)  # the document already there; later ones get the init script
        else:
            width, height = self.config.viewport
            # Service workers fetch past the routes that guard the allow-list and the secrets: none where those
            # routes are on. Elsewhere they stay, as in MolmoWeb's harness (`browser_env.py` leaves them).
            self.context = self._chromium.browser.new_context(
                viewport={"width": width, "height": height}, device_scale_factor=self.config.scale,
                service_workers="block" if self._routing else "allow")
            self.context.set_default_timeout(self.config.action_timeout_s * 1000)
        if not getattr(self.context, "_molmo_watched", False):  # once per context, however often attached
            self.context.add_init_script(scripts.WATCH_PAGE)
            self.context._molmo_watched = True
        if attach is None:
            self.page = self.context.new_page()
        if self._routing:
            self.context.route("**/*", self._guard_route)
        if self.secrets:
            self._guard_sockets()
        if self.config.playwright_trace:
            self.context.tracing.start(screenshots=True, snapshots=True, sources=False)
        self.context.on("dialog", self._on_dialog)
        self.context.on("request", self._on_request)
        self._known_tabs = list(self.context.pages)

    @property
    def version(self) -> str:
        return self.context.browser.version if self.context.browser else ""

    def __exit__(self, *exc) -> None:
        self.close()

    def save_playwright_trace(self, path) -> None:
        """Write Playwright's trace archive (open it with `playwright show-trace PATH`)."""
        if self.config.playwright_trace:
            self.context.tracing.stop(path=str(path))

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a look under way ends before its page does
            self._take_pixels()
        for session in self._sessions.values():
            with contextlib.suppress(Exception):
                if session is not None:
                    session.detach()
        if self._given_page is not None or self._warm is not None:  # take back what was added
            with contextlib.suppress(Exception):
                self.context.remove_listener("dialog", self._on_dialog)
                self.context.remove_listener("request", self._on_request)
                if self._routing:
                    self.context.unroute("**/*", self._guard_route)
                if getattr(self.context, "_molmo_egress", None) is self.egress:
                    self.context._molmo_egress = None
        if self._given_page is not None:  # the caller's: close nothing
            return
        if self._warm is not None and self._keepable():
            self._warm.keep(self.page)
            return
        with contextlib.suppress(Exception):
            if getattr(self, "context", None) is not None:
                self.context.close()
        if self._owns_chromium and self._chromium is not None:
            self._chromium.close()

    def _keepable(self) -> bool:
        """One live tab in a live browser: what the next episode can start on."""
        with contextlib.suppress(Exception):
            return (not self._owns_chromium and self._chromium.alive and not self.page.is_closed()
                    and self.context.pages == [self.page])
        return False

    # -- safety ---------------------------------------------------------------------------------
    def check_url(self, url: str) -> None:
        parsed = urlparse(url)
        if parsed.scheme == "file" and not self.config.allow_file:
            raise NavigationBlockedError(f"{url} is a local file; pass --allow-file to open files")
        if parsed.scheme in ("about", "data", "blob", "file", "chrome-error"):
            return
        if parsed.scheme not in ("http", "https"):
            raise NavigationBlockedError(f"{url}: only http(s) URLs can be opened")
        host = (parsed.hostname or "").lower()
        allowed = self.egress.allow_domains
        if allowed and not within(host, allowed):
            raise NavigationBlockedError(f"{host} is not in --allow-domain ({', '.join(allowed)})")
        if not self.egress.allows(url):
            raise NavigationBlockedError(self.egress.refusal(url, "going"))

    def _guard_route(self, route, request) -> None:
        navigation = request.is_navigation_request()
        if not self.egress.allows(request.url):
            refused = self.egress.refuse(request.url, "a navigation" if navigation else "a request")
            if navigation:
                self._blocked.append(NavigationBlockedError(refused))
            route.abort("blockedbyclient")
            return
        if navigation:
            try:
                self.check_url(request.url)
            except NavigationBlockedError as exc:
                self.events.append(f"blocked navigation: {exc}")
                self._blocked.append(exc)
                route.abort("blockedbyclient")
                return
        mapped = self._mapped(request.url)
        if self.egress.sealed:
            self.egress.forward(route, request, (lambda url: self._mapped(url) or url, self._unmapped))
        elif mapped is None:
            route.continue_()
        else:
            try:
                route.fulfill(response=route.fetch(url=mapped, max_redirects=0))
            except PlaywrightError as exc:
                self.events.append(f"--map-url: {mapped} did not answer: {str(exc).splitlines()[0]}")
                route.abort("connectionfailed")

    def _mapped(self, url: str) -> str | None:
        """Where `--site-url` and `--map-url` send a request for `url`; None where they do not."""
        return next((to + url[len(prefix):] for prefix, to in self.config.url_map if url.startswith(prefix)), None)

    def _unmapped(self, url: str) -> str:
        """A URL as the page would see it, for one on a server `--map-url` answers from."""
        return next((prefix + url[len(to):] for prefix, to in self.config.url_map if url.startswith(to)), url)

    def _guard_sockets(self) -> None:
        """WebSockets go through this session's guard. Playwright cannot take a socket route back, so a context
        shared by sessions (a caller's page, a kept one) gets one route that asks whichever guard is current."""
        context = self.context
        if getattr(context, "_molmo_egress", False) is False:
            context.route_web_socket(re.compile(".*"), lambda ws: (
                context._molmo_egress.route_web_socket(ws) if context._molmo_egress else ws.connect_to_server()))
        context._molmo_egress = self.egress

    @property
    def _routing(self) -> bool:
        return bool(self.secrets or self.config.allow_domains or self.config.url_map)

    def _fill(self, text: str, *, going_to: str | None = None) -> str:
        """Text to type (or a URL to go to), its `{{NAME}}` filled in. A secret seals the context to the sites
        it goes to (egress.py): the tab's and the focused frame's, or the URL's."""
        if Secrets.uses_secret(text):
            self.egress.seal([going_to] if going_to is not None else [self.page.url, self._focused_frame_url()])
        return self.secrets.fill(text)

    def _focused_frame_url(self) -> str:
        """The URL of the innermost frame whose document has focus (where keys go), else the tab's."""
        best, depth = self.page.url, 0
        for frame in self.page.frames[1:]:
            with contextlib.suppress(PlaywrightError):  # a frame that went away has no focus
                level, parent = 0, frame
                while (parent := parent.parent_frame) is not None:
                    level += 1
                if level > depth and frame.evaluate("document.hasFocus()"):
                    best, depth = frame.url, level
        return best

    # -- page events ----------------------------------------------------------------------------
    def _on_request(self, request) -> None:
        try:
            if request.is_navigation_request() and request.frame == self.page.main_frame:
                self._navigations += 1
        except PlaywrightError:  # a request with no frame (a worker's, say) is no navigation
            pass

    def _on_dialog(self, dialog) -> None:
        verb = self.config.dialogs
        self.events.append(f"{dialog.type} dialog {verb}ed: {self.secrets.redact(dialog.message)[:200]}")
        dialog.accept() if verb == "accept" else dialog.dismiss()

    def listen(self, script: str, binding: str, heard: Callable[[Page, object, dict], None]) -> None:
        """Run `script` in every document of every tab from now on; each JSON text it passes to
        `window[binding]` reaches `heard` as (page, frame, event), and each new tab as (page, None, {"kind": "tab"})."""
        self.context.expose_binding(binding, lambda source, text: heard(source["page"], source["frame"], json.loads(text)))
        self.context.add_init_script(script)
        self.context.on("page", lambda page: heard(page, None, {"kind": "tab"}))

    def drain_events(self) -> list[str]:
        events, self.events = self.events, []
        return events

    # -- observing ------------------------------------------------------------------------------
    def observe(self, *, elements: bool = False, adopt_tabs: bool = True, pixels_later: bool = False) -> Observation:
        """The page as it is now. `adopt_tabs`: a tab that opened since the last look becomes the active one
        (ours); MolmoWeb's harness switches only to a tab that an action opened at once. `pixels_later`: the
        screenshot is under way when this returns (`Observation.screenshot` waits for it), and is taken
        before this session does anything else to the page."""
        self._take_pixels()
        if adopt_tabs:
            self._adopt_new_tab()
        else:
            self._known_tabs = self.context.pages
        page = self.page
        self.check_url(page.url)
        self._seen_at = None
        readied, self._settled = self._settled is page, None
        mask = None
        if self.secrets:
            self._evaluate(scripts.MARK_SECRETS, self.secrets.values())
            for frame in page.frames[1:]:
                with contextlib.suppress(PlaywrightError):  # a frame that went away shows nothing
                    frame.evaluate(scripts.MARK_SECRETS, self.secrets.values())
        if self.secrets or self.mask_marked:
            mask = [frame.locator("[data-molmo-secret]") for frame in page.frames]  # CSS pierces open shadow roots
        facts = None if readied else self._evaluate(scripts.OBSERVE, elements)  # readies the page: first
        pixels = self._pixels_coming = self._screenshot(page, mask)
        if readied:  # the settle readied the page: its facts are read while the screenshot is under way
            facts = self._quick(scripts.FACTS, elements)
        facts = facts or {"title": "", "signature": "", "elements": []}
        pages = self._known_tabs
        look = Observation(
            screenshot=pixels, viewport=self.config.viewport,
            scale=self.config.scale, url=page.url, title=facts["title"],
            tabs=[Tab(title=facts["title"] if p is page else self._title(p), url=p.url) for p in pages],
            active_tab=pages.index(page) if page in pages else 0,
            dom_signature=facts["signature"],
            elements=[Element.model_validate(e) for e in facts["elements"]],
        )
        if not pixels_later:
            self._take_pixels()
        return look

    def _take_pixels(self) -> None:
        """Wait for the last look's screenshot: before anything acts on the page, or looks at it again."""
        coming, self._pixels_coming = self._pixels_coming, None
        if coming is not None:
            coming()

    def _cdp(self, page: Page):
        """A CDP session to `page`, for the calls every step makes (they go straight to Chromium, a millisecond
        or two less each than through Playwright), or None where none is to be had (not Chromium)."""
        if page not in self._sessions:
            try:
                self._sessions[page] = self.context.new_cdp_session(page)
            except PlaywrightError:
                self._sessions[page] = None
        return self._sessions[page]

    def _quick(self, script: str, arg=None):
        """`_evaluate` over CDP, for the small scripts every step runs: Playwright's call wherever CDP does not
        answer plainly (a navigation under way, an error), whose errors and waits are the ones `_evaluate`
        handles. Only for scripts that return at once and that may run twice: one that awaited could wait
        forever on a document the browser froze as it left it (the back-forward cache), where Playwright's
        call gives up when the frame navigates."""
        session = self._cdp(self.page)
        if session is not None:
            with contextlib.suppress(PlaywrightError):
                answer = session.send("Runtime.evaluate", {"expression": f"({script})({json.dumps(arg)})",
                                                           "returnByValue": True})
                if "exceptionDetails" not in answer:
                    return answer["result"].get("value")
        return self._evaluate(script, arg)

    def _screenshot(self, page: Page, mask: list | None) -> Callable[[], bytes]:
        """The viewport's pixels, as `page.screenshot()` gives them, PNG-encoded by Chromium's fast setting
        (files about half again as large, encoded in a third of the time, the same pixels), straight over
        CDP: Playwright's own call adds round trips for the caret and animations, which READY has seen to
        on its way. A mask for secrets is Playwright's (it overlays the marked elements). Returns a function
        that waits for the pixels: the CDP call is under way meanwhile (`_begin`)."""
        session = self._cdp(page) if mask is None else None
        if session is not None:
            try:
                options = {"format": "png", "optimizeForSpeed": True}
                if self.config.scale != 1:  # another session's device scale is not this one's: give it
                    view = session.send("Page.getLayoutMetrics")["cssVisualViewport"]
                    options["clip"] = {"x": view["pageX"], "y": view["pageY"], "width": view["clientWidth"],
                                       "height": view["clientHeight"], "scale": self.config.scale}
                answer = _begin(session, "Page.captureScreenshot", options)
            except PlaywrightError:
                if page.is_closed():
                    raise
            else:
                @functools.cache  # the look and the session both ask; Chromium is asked once
                def pixels() -> bytes:
                    try:
                        return base64.b64decode(answer()["data"])
                    except PlaywrightError as exc:
                        if page.is_closed():
                            raise BrowserError(f"the page closed before its screenshot: {str(exc).splitlines()[0]}") from exc
                    return page.screenshot(animations="disabled")
                return pixels
        png = page.screenshot(mask=mask, animations="disabled")
        return lambda: png

    @staticmethod
    def _title(page: Page) -> str:
        try:
            return page.title()
        except PlaywrightError:
            return ""

    def _wheel(self, dx: float, dy: float) -> None:
        """Wheel, then wait until the page has scrolled: the look that follows reads where things are now (a
        fixed 50 ms once left the page facts from before the scroll under a screenshot from after it)."""
        self._evaluate(scripts.WATCH_SCROLL)
        self.page.mouse.wheel(dx, dy)
        self._evaluate(scripts.SCROLLED)

    def _evaluate(self, script: str, arg=None):
        for attempt in range(3):
            try:
                return self.page.evaluate(script, arg)
            except PlaywrightError as exc:
                if "context was destroyed" not in str(exc) and "navigat" not in str(exc):
                    raise BrowserError(f"page script failed: {str(exc).splitlines()[0]}") from exc
                self.page.wait_for_load_state("domcontentloaded")
        return None

    def evaluate(self, script: str, arg=None):
        """Run a page script (for success checks). Errors become `BrowserError`."""
        self._take_pixels()
        self._settled = self._seen_at = None  # the script may change the page: the next look reads it afresh
        return self._evaluate(script, arg)

    def element_at(self, x: float, y: float) -> dict | None:
        """What the page shows at a point (CSS px): {tag, role, name} of the element one would act on."""
        # Asked twice a step at one point (a cached point's check, then the step's record): read once.
        if self._seen_at is None or self._seen_at[0] != (self.page, x, y):
            self._seen_at = ((self.page, x, y), self._quick(scripts.ELEMENT_AT, [x, y]))
        return self._seen_at[1]

    def element_focused(self) -> dict | None:
        """{tag, role, name} of the element that has focus (in open shadow roots and same-origin frames), or
        None when nothing does."""
        return self._quick(scripts.FOCUSED_ELEMENT)

    # -- acting ---------------------------------------------------------------------------------
    def goto(self, url: str) -> None:
        self._take_pixels()
        self._settled = self._seen_at = None
        resumed, self._resumed_at = self._resumed_at, None
        if resumed == url == self.page.url:  # a kept page already there: the task's setup restarts it
            return
        self.check_url(url)
        try:
            self.page.goto(url, wait_until="load")
        except PlaywrightError as exc:
            raise BrowserError(f"could not open {url}: {str(exc).splitlines()[0]}") from exc
        self.check_url(self.page.url)

    def execute(self, action: A.Action, harness: Harness = OURS) -> bool | None:
        """Carry out `action` as `harness` says and give the page time to settle.

        Returns, for typing checked by our guards, whether the field ends up holding the typed text; else None.
        """
        self._take_pixels()
        navigations = self._navigations
        self._blocked.clear()
        self._settled = self._seen_at = None
        try:
            if harness.executor == "molmoweb":
                result = self._act_as_molmoweb(action, harness)
                self._settle_as_molmoweb(harness.wait_scale)
            else:
                result = self._dispatch(action)
                self._settle(navigations)
        except PlaywrightError as exc:
            raise BrowserError(f"{action.name} failed: {str(exc).splitlines()[0]}") from exc
        if self._blocked:
            if self.page.url.startswith("chrome-error:"):
                self.page.go_back(wait_until="load")  # back to where the agent was, not an error page
            raise self._blocked[-1]
        return result

    # MolmoWeb's executor and waits (allenai/molmoweb `utils/envs/action_executor.py`, `browser_env.py`).
    MOLMOWEB_CLICK_WAIT_S = 1.0
    MOLMOWEB_NEW_TAB_WAIT_S = 2.0
    MOLMOWEB_SETTLE_S = 0.5

    def _act_as_molmoweb(self, action: A.Action, harness: Harness) -> bool | None:
        """As their executor acts: clicks with the left button (ours keeps the model's button under guards),
        typing into whatever has focus with no check (ours checks under guards), the wheel where the mouse
        is, a straight drag, a tab focus out of range ignored, fixed waits."""
        page, mouse, guards, scale = self.page, self.page.mouse, harness.guards, harness.wait_scale
        match action:
            case A.Click(x=x, y=y) | A.DoubleClick(x=x, y=y):
                press = mouse.click if isinstance(action, A.Click) else mouse.dblclick
                button = action.button if guards else "left"
                clicking = lambda: (press(x, y, button=button), self._pause(self.MOLMOWEB_CLICK_WAIT_S * scale))
                self._opening_a_tab(clicking, scale)
            case A.Hover(x=x, y=y, duration=duration):
                mouse.move(x, y)
                self._pause(duration or 0)
            case A.Drag(x=x, y=y, to_x=tx, to_y=ty):
                mouse.move(x, y)
                mouse.down()
                mouse.move(tx, ty)
                mouse.up()
            case A.Type(x=None) if not guards:
                page.keyboard.type(self._fill(action.text))
            case A.Press(key=key):
                page.keyboard.press(normalize_key(key))
                if key.lower() == "enter":
                    self._pause(self.MOLMOWEB_CLICK_WAIT_S * scale)
            case A.Goto(url=url):
                url = self._fill(url, going_to=self.secrets.fill(url))
                self.check_url(url)
                page.goto(url, wait_until="domcontentloaded")
            case A.Back():
                page.go_back()
            case A.NewTab():
                self._opening_a_tab(self.context.new_page, scale)
            case A.SwitchTab(index=index):
                pages = self.context.pages
                if 0 <= index < len(pages):
                    pages[index].bring_to_front()
                    self.page = pages[index]
            case _:
                return self._dispatch(action)
        return None

    def _opening_a_tab(self, act: Callable[[], object], wait_scale: float) -> None:
        """Do `act`; a tab it opens within their two seconds (times `wait_scale`) becomes the active one."""
        try:
            with self.context.expect_page(timeout=max(self.MOLMOWEB_NEW_TAB_WAIT_S * wait_scale * 1000, 1)) as opened:
                act()
        except PlaywrightTimeoutError:
            return
        page = opened.value
        with contextlib.suppress(PlaywrightError):
            page.wait_for_load_state("domcontentloaded", timeout=5000)
        page.bring_to_front()
        self.page = page
        self.events.append(f"switched to new tab: {page.url}")

    def _settle_as_molmoweb(self, wait_scale: float) -> None:
        """Their wait after every action: half a second, every tab's and frame's DOMContentLoaded (3 s each at
        most), the active tab's (5 s), half a second; the half seconds times `wait_scale`."""
        self._pause(self.MOLMOWEB_SETTLE_S * wait_scale)
        for page in self.context.pages:
            for frame in [page, *page.frames]:
                with contextlib.suppress(PlaywrightError):
                    frame.wait_for_load_state("domcontentloaded", timeout=3000)
        with contextlib.suppress(PlaywrightError):
            self.page.wait_for_load_state("domcontentloaded", timeout=5000)
        self._pause(self.MOLMOWEB_SETTLE_S * wait_scale)
        self._known_tabs = self.context.pages

    def _dispatch(self, action: A.Action) -> bool | None:
        page, mouse = self.page, self.page.mouse
        match action:
            case A.Click(x=x, y=y, button=button):
                mouse.click(x, y, button=button)
            case A.DoubleClick(x=x, y=y, button=button):
                mouse.dblclick(x, y, button=button)
            case A.Hover(x=x, y=y, duration=duration):
                mouse.move(x, y, steps=2)
                if duration:
                    self._pause(duration)
            case A.Drag(x=x, y=y, to_x=tx, to_y=ty):
                # Carry the item a little past the target's centre, as people do, so that sortable
                # lists place it on the side it came from rather than at a coin flip.
                length = max(((tx - x) ** 2 + (ty - y) ** 2) ** 0.5, 1.0)
                mouse.move(x, y)
                mouse.down()
                mouse.move(tx + DRAG_OVERSHOOT * (tx - x) / length, ty + DRAG_OVERSHOOT * (ty - y) / length, steps=12)
                mouse.up()
            case A.Type():
                return self._type(action)
            case A.Press(key=key):
                page.keyboard.press(normalize_key(key))
            case A.Scroll(direction=direction, amount=amount, x=x, y=y):
                width, height = self.config.viewport
                step = amount if amount is not None else 0.8 * (height if direction in ("up", "down") else width)
                dx, dy = {"up": (0, -step), "down": (0, step), "left": (-step, 0), "right": (step, 0)}[direction]
                mouse.move(x if x is not None else width / 2, y if y is not None else height / 2)
                self._wheel(dx, dy)
            case A.Wheel(delta_x=dx, delta_y=dy, x=x, y=y):
                if x is not None and y is not None:
                    mouse.move(x, y)
                self._wheel(dx, dy)
            case A.SelectOption(x=x, y=y, option=option):
                self._select(x, y, option)
            case A.Goto(url=url):
                self.goto(self._fill(url, going_to=self.secrets.fill(url)))
            case A.Back():
                page.go_back(wait_until="load")
            case A.SwitchTab(index=index):
                self._adopt_new_tab()  # a tab that opened unseen is known now; the explicit choice wins
                pages = self.context.pages
                if not 0 <= index < len(pages):
                    raise BrowserError(f"switch_tab {index}: there are {len(pages)} tabs")
                self.page = pages[index]
                self.page.bring_to_front()
            case A.NewTab():
                self._adopt_new_tab()
                self.page = self.context.new_page()
                self._known_tabs = self.context.pages
            case A.Wait(seconds=seconds):
                self._pause(seconds)
            case A.Done() | A.Fail() | A.Message() | A.Infeasible():
                pass
        return None

    def _pause(self, seconds: float) -> None:
        """Wait in short slices, so that a run stopped by Ctrl-C or its eval does not sit out a long wait."""
        until = time.monotonic() + seconds
        while (left := until - time.monotonic()) > 0:
            if self._should_stop() or stopping.requested():
                raise KeyboardInterrupt
            self.page.wait_for_timeout(min(left, 0.1) * 1000)

    def _type(self, action: A.Type) -> bool:
        page = self.page
        if action.x is not None and action.y is not None:
            page.mouse.click(action.x, action.y)
        field = self._quick(scripts.TYPING_INTO, action.clear)
        if field is None:
            where = f"at ({action.x:.0f}, {action.y:.0f})" if action.x is not None else "focused"
            raise BrowserError(f"type: nothing editable {where}")
        text = self._fill(action.text)
        special = field["type"] in SPECIAL_INPUTS
        if special:
            text = widget_value(field["type"], text)
        if special or (action.clear and field["filled"] and not (field["selected"] and text)):
            # Date and time widgets take no free typing: fill sets their value as the user would. Else it empties
            # a field whose text could not be selected for the keys to replace, or that nothing is typed into.
            page.evaluate_handle(scripts.TYPED_INTO).as_element().fill(text if special else "")
        if not special:
            page.keyboard.type(text)
        return self._quick(scripts.TYPED_VALUE) == text

    def _select(self, x: float, y: float, option: str) -> None:
        chose = self._evaluate(scripts.SELECT_OPTION, [x, y, option]) or {"missing": "select"}
        missing = {"select": f"no <select> at ({x:.0f}, {y:.0f})", "enabled": "the list is disabled",
                   "option": f"the list has no option {option!r}"}.get(chose.get("missing"))
        if missing:
            raise BrowserError(f"select_option: {missing}")

    def _settle(self, navigations_before: int) -> None:
        """Wait for what the action set off: a navigation, a new tab, the tasks it queued; the page it leaves
        is readied for the look that follows (scripts.READY)."""
        page, settled = self.page, self._evaluate(scripts.SETTLE) or {"popups": 0, "leaving": False}
        if settled["popups"] and len(self.context.pages) == len(self._known_tabs):
            try:
                self.context.wait_for_event("page", timeout=5000)
            except PlaywrightError:
                self.events.append("the page asked for a new tab, but none opened")
        if settled["leaving"]:
            self._wait_for_new_document()
        if not self._adopt_new_tab() and (settled["leaving"] or self._navigations != navigations_before):
            try:
                self.page.wait_for_load_state("load")
            except PlaywrightError:
                pass
            page, settled = self.page, self._evaluate(scripts.SETTLE) or {}
        if settled.get("ready"):
            self._settled = page

    def _wait_for_new_document(self, timeout_s: float = 5.0) -> None:
        """The page began to unload: wait until the next document is there (a download never comes)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if not self.page.evaluate(scripts.LEAVING):
                    return
            except PlaywrightError:
                pass  # the old document is gone and the new one not yet ready
            self.page.wait_for_timeout(20)
        with contextlib.suppress(PlaywrightError):  # it stayed (a download, a 204): the next action waits afresh
            self.page.evaluate("() => { window.__molmoLeaving = false; }")

    def _adopt_new_tab(self) -> bool:
        """Make the newest tab opened since the last look the active one (popups arrive late). Pop-ups that stay
        empty are left in the background: there is nothing on them to act on (pages open dozens on load)."""
        pages = self.context.pages
        new = [p for p in pages if p not in self._known_tabs]
        self._known_tabs = pages
        for page in reversed(new):
            with contextlib.suppress(PlaywrightError):
                page.wait_for_load_state("load")
            if page.url != "about:blank" and not page.is_closed():
                self.page = page
                self.events.append(f"switched to new tab: {page.url}")
                return True
        return False

    def _close_blocked_tab(self) -> None:
        blocked = self.page
        self.page = self.context.pages[0]
        blocked.close()
