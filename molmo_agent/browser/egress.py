"""Where a page may send requests once a secret has been typed into it: decided by host, not by content.

A page script that reads a typed secret can disguise it any way it likes (base64, reversed, split over many
requests, in a header), so looking for the value in what leaves proves nothing. Instead, the moment a
`{{NAME}}` is typed, the browser context is sealed: from then on its pages, frames and workers may reach only
the sites the secret was typed on (their registrable domain: `login.example.com` opens `example.com` and its
subdomains) and the `--allow-domain` hosts. Every other request, redirect hop, WebSocket (and message on one
opened earlier) is refused and reported as an event. The whole context is sealed, not one tab: tabs of one
context share storage and can pass the value between them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urljoin, urlparse

from playwright.sync_api import Error as PlaywrightError

REDIRECTS = (301, 302, 303, 307, 308)
MAX_HOPS = 20  # Chromium's own limit
LOCAL_SCHEMES = ("about", "data", "blob", "javascript")  # what stays inside the browser


@lru_cache(maxsize=1)
def _suffixes():
    from publicsuffixlist import PublicSuffixList  # its list ships in the wheel: nothing is fetched

    return PublicSuffixList()


def site_of(host: str) -> str:
    """The registrable domain of a host ("example.co.uk" for "a.b.example.co.uk"); an IP address or a name
    with no public suffix (localhost) is its own site."""
    host = host.lower().strip("[]").rstrip(".")
    if not host or host.replace(".", "").isdigit() or ":" in host:
        return host
    return _suffixes().privatesuffix(host) or host


def within(host: str, domains) -> bool:
    host = host.lower().strip("[]").rstrip(".")
    return any(host == d or host.endswith("." + d) for d in domains)


class EgressGuard:
    """The seal on one browser context. `report` receives one line per refusal."""

    def __init__(self, allow_domains: list[str], report: Callable[[str], None]) -> None:
        self.allow_domains = [d.lower().lstrip(".") for d in allow_domains]
        self.sites: list[str] = []
        """the sites a secret was typed on; empty until one is"""
        self._report = report

    @property
    def sealed(self) -> bool:
        return bool(self.sites)

    def seal(self, urls: list[str]) -> None:
        """A secret is about to be typed into documents at these URLs (the tab's and the focused frame's)."""
        for url in urls:
            parsed = urlparse(url)
            if parsed.scheme in ("http", "https", "ws", "wss") and parsed.hostname:
                site = site_of(parsed.hostname)
                if site not in self.sites:
                    self.sites.append(site)

    def allows(self, url: str) -> bool:
        parsed = urlparse(url)
        if not self.sealed or parsed.scheme in LOCAL_SCHEMES:
            return True
        return within(parsed.hostname or "", self.sites + self.allow_domains)

    def refusal(self, url: str, what: str = "request") -> str:
        # Named by its site alone: a page may have made the rest of the name out of the secret.
        site = site_of(urlparse(url).hostname or "") or urlparse(url).scheme
        allowed = ", ".join(self.sites + self.allow_domains)
        return (f"refused {what} to {site}: a secret was typed on {', '.join(self.sites)}, so only {allowed} "
                f"may be reached now; pass --allow-domain {site} if the task really goes on there "
                "(single sign-on, a payment page)")

    def refuse(self, url: str, what: str = "request") -> str:
        message = self.refusal(url, what)
        self._report(message)
        return message

    # -- HTTP: every hop of a redirect chain -----------------------------------------------------------
    def forward(self, route, request, mapping: tuple[Callable[[str], str], Callable[[str], str]] | None = None) -> None:
        """Send an allowed request once the context is sealed. Chromium follows redirects without showing the
        hops to a route, so the request is fetched here one hop at a time and each hop's target is checked.
        `mapping`: (the URL to fetch for one the page sees, and back), for `--site-url` and `--map-url`."""
        to_server, to_page = mapping or (str, str)
        url, method, body = request.url, request.method, request.post_data_buffer
        try:
            for _ in range(MAX_HOPS):
                response = route.fetch(url=to_server(url), method=method, post_data=body, max_redirects=0)
                location = response.headers.get("location")
                if response.status not in REDIRECTS or not location:
                    route.fulfill(response=response)
                    return
                url = to_page(urljoin(to_server(url), location))
                if not self.allows(url):
                    self.refuse(url, "a redirect")
                    route.abort("blockedbyclient")
                    return
                if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                    method, body = "GET", b""
                if request.is_navigation_request() and method == "GET":
                    # The browser goes there itself, so the page's address is where it landed; that request
                    # comes back through the route and is checked in its turn.
                    target = json.dumps(url).replace("<", "\\u003c")  # no </script> can end the script early
                    route.fulfill(status=200, content_type="text/html",
                                  body=f"<script>location.replace({target})</script>")
                    return
            route.abort("failed")  # a redirect loop
        except PlaywrightError:
            route.abort("connectionfailed")

    # -- WebSockets -----------------------------------------------------------------------------------------
    def route_web_socket(self, ws) -> None:
        """Open only to allowed hosts; a socket opened before the seal may send nothing once its host is out."""
        if not self.allows(ws.url):
            self.refuse(ws.url, "a WebSocket")
            ws.close(code=1008, reason="refused")
            return
        server = ws.connect_to_server()

        def outgoing(message) -> None:
            if self.allows(ws.url):
                server.send(message)
                return
            self.refuse(ws.url, "a WebSocket message")
            server.close()
            ws.close(code=1008, reason="refused")

        ws.on_message(outgoing)
        server.on_message(ws.send)
