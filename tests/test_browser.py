"""The built book as a reader sees it: every page opened in Chromium with the network cut off.

Every page of ``_build/html`` is served from this machine (127.0.0.1) and opened in Debian's
Chromium, driven by Playwright, at a laptop's width and at a phone's; any request for another
host is refused and fails the test, naming the address.  Each page must typeset its equations,
load its images, resolve its internal links and anchors, log no JavaScript error, and show its
code without hiding any of it; exercise solutions start folded and open on a click; the search
page finds a chapter by a word in it.  A screenshot of every page at both widths goes to
``_build/screenshots/``.

Skipped, saying why and how to fix it, when there is no built book (``python3 course.py
book``), no Chromium (``apt-get install chromium``) or no Playwright (``pip install -e
'.[dev]'``).  The check that no page *refers* to an outside script, style sheet or font needs
the built book only.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from test_project import CODE_LINE_LIMIT  # the one limit on a chapter's code line length

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
WIDTHS = {"laptop": 1366, "phone": 390}
HEIGHT = 900
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: A word of one chapter that the search page must find, and the page it must lead to.
SEARCH_WORD, SEARCH_PAGE = "Haar", "chapters/02_finding_faces.html"

if not (HTML / "index.html").is_file():
    pytest.skip("no built book in _build/html: build it with `python3 course.py book` first",
                allow_module_level=True)



def _redirect(page: str) -> str | None:
    """Where a page that only forwards the reader (index.html) sends them, else None."""
    head = (HTML / page).read_text(encoding="utf-8")[:2000]
    found = re.search(r"""<meta\s+http-equiv=["']refresh["']\s+content=["'][^"']*url=([^"']+)""",
                      head, re.I)
    return found.group(1) if found else None


_ALL = sorted(p.relative_to(HTML).as_posix() for p in HTML.rglob("*.html")
              if p.relative_to(HTML).parts[0] not in ("_static", "_sources", "_images"))
REDIRECTS = {page: _redirect(page) for page in _ALL if _redirect(page)}
PAGES = [page for page in _ALL if page not in REDIRECTS]


# ------------------------------------------------------------------ read from the files alone

# Tags that make the browser fetch what their attribute names, and the <link> relations that do.
_LOADING = {"script": "src", "img": "src", "iframe": "src", "source": "src", "video": "src",
            "audio": "src", "embed": "src", "object": "data", "link": "href"}
_LOADING_RELS = {"stylesheet", "preload", "modulepreload", "prefetch", "icon", "shortcut",
                 "apple-touch-icon", "manifest"}


class _Scan(HTMLParser):
    """The ids of a page and the outside addresses its tags would load."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.outside: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if attrs.get(key):
                self.ids.add(attrs[key])
        attr = _LOADING.get(tag)
        if attr is None or not attrs.get(attr):
            return
        if tag == "link" and not _LOADING_RELS & set((attrs.get("rel") or "").lower().split()):
            return
        if _is_outside(attrs[attr]):
            self.outside.append(f"<{tag} {attr}={attrs[attr]}>")


def _is_outside(url: str) -> bool:
    return bool(re.match(r"(?i)^(https?:)?//", url.strip()))


@functools.lru_cache(maxsize=None)
def _scan(path: Path) -> _Scan:
    scan = _Scan()
    scan.feed(path.read_text(encoding="utf-8"))
    return scan


def test_the_book_has_pages():
    assert any(p.startswith("chapters/") for p in PAGES), PAGES
    assert "index.html" in _ALL


@pytest.mark.parametrize("page", REDIRECTS)
def test_forwarding_pages_lead_to_a_page(page):
    target = (HTML / page).parent / REDIRECTS[page]
    assert target.is_file(), f"{page} forwards to {REDIRECTS[page]}, which does not exist"


@pytest.mark.parametrize("page", PAGES)
def test_page_refers_to_no_outside_script_style_or_font(page):
    outside = _scan(HTML / page).outside
    assert not outside, f"{page} would load from outside the book: {outside}"


def test_style_sheets_load_no_outside_font_or_style():
    bad = []
    for css in sorted(HTML.joinpath("_static").rglob("*.css")):
        text = css.read_text("utf-8", "replace")
        for url in re.findall(r"""(?:url\(|@import\s+)\s*['"]?([^'")\s]+)""", text):
            if _is_outside(url):
                bad.append(f"{css.relative_to(HTML)}: {url}")
    assert not bad, f"style sheets that load from outside the book: {bad}"


# ------------------------------------------------------------------ the pages in Chromium

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # the test reports what matters; a line per file is noise
        pass


@pytest.fixture(scope="module")
def site():
    """The built book served on a free port of 127.0.0.1; yields its base address."""
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("no Chromium on this machine: install it with "
                    "`sudo apt-get install -y chromium` (Debian/Ubuntu)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed: `pip install -e '.[dev]'` (or `python3 "
                    "course.py env`); it drives the system's Chromium and downloads no browser")
    with sync_playwright() as playwright:
        # No name resolves except this machine's, so nothing could leave it even if a request
        # slipped past the route below.
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"])
        yield chromium
        chromium.close()


# Runs in the page: waits for MathJax (if the page loads it) to finish typesetting.
_TYPESET = """async () => {
    const started = () => MathJax.startup && MathJax.startup.promise;
    for (let i = 0; i < 200 && window.MathJax && !started(); i++)
        await new Promise(r => setTimeout(r, 50));
    if (window.MathJax && MathJax.startup) await MathJax.startup.promise;
}"""

# Runs in the page: everything the tests below judge, read from the DOM as displayed.
_FACTS = r"""async () => {
    const images = [...document.images];
    images.forEach(img => { img.loading = "eager"; });
    await Promise.all(images.map(img => img.complete ? null
        : new Promise(done => { img.onload = img.onerror = done; })));
    const visible = el => el.offsetParent !== null;
    const textOutside = root => {
        const copy = root.cloneNode(true);
        copy.querySelectorAll("pre, code, script, style, textarea, mjx-container")
            .forEach(e => e.remove());
        return copy.textContent;
    };
    const body = document.querySelector("main") || document.body;
    return {
        math: document.querySelectorAll("span.math, div.math").length,
        untypeset: [...document.querySelectorAll("span.math, div.math")]
            .filter(m => !m.querySelector("mjx-container")).map(m => m.textContent.slice(0, 80)),
        typeset: document.querySelectorAll("mjx-container").length,
        rawDelimiters: (textOutside(body).match(/\\\(|\\\)|\\\[|\\\]|\$\$/g) || []).length,
        brokenImages: images.filter(img => !(img.naturalWidth > 0))
            .map(img => img.getAttribute("src")),
        links: [...document.querySelectorAll("a[href]")].map(a => a.href),
        hiddenCode: [...document.querySelectorAll("pre")].filter(visible)
            .filter(pre => pre.scrollWidth > pre.clientWidth + 1)
            .map(pre => `${pre.scrollWidth}px of text in ${pre.clientWidth}px: `
                        + pre.textContent.split("\n")
                              .reduce((a, b) => a.length >= b.length ? a : b).slice(0, 100)),
        // How many characters fit on a line of a code cell (none: the page has no code cell).
        codeCapacity: (() => {
            const pre = document.querySelector("div.cell_input div.highlight pre");
            if (!pre) return null;
            const probe = document.createElement("span");
            probe.style.whiteSpace = "pre";
            probe.textContent = "x".repeat(100);
            pre.appendChild(probe);
            const perChar = probe.getBoundingClientRect().width / 100;
            probe.remove();
            const style = getComputedStyle(pre);
            const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
            const inner = pre.clientWidth - padding;
            return Math.floor(inner / perChar);
        })(),
    };
}"""


class Visit:
    """One page opened at one width: what it asked for, logged and showed."""

    def __init__(self, browser, site, page, width):
        self.outside, self.failed, self.errors = [], [], []
        context = browser.new_context(viewport={"width": width, "height": HEIGHT},
                                      service_workers="block")
        context.route("**/*", self._route(site))
        tab = context.new_page()
        tab.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        tab.on("pageerror", lambda exc: self.errors.append(str(exc)))
        tab.on("requestfailed", lambda req: req.url.startswith(site)
               and self.failed.append(f"{req.url} ({req.failure})"))
        tab.on("response", lambda res: res.status >= 400
               and self.failed.append(f"{res.url} (HTTP {res.status})"))
        try:
            tab.goto(site + page, wait_until="load")
            tab.evaluate(_TYPESET)
            self.facts = tab.evaluate(_FACTS)
            SHOTS.mkdir(parents=True, exist_ok=True)
            name = page.removesuffix(".html").replace("/", "__")
            tab.screenshot(path=str(SHOTS / f"{name}-{width}px.png"), full_page=True)
            self.solutions = _exercise_solutions(tab) if width == WIDTHS["laptop"] else None
        finally:
            context.close()

    def _route(self, site):
        def route(request_route):
            url = request_route.request.url
            if url.startswith((site, "data:", "blob:")):
                request_route.continue_()
            else:
                self.outside.append(url)
                request_route.abort("addressunreachable")
        return route


def _exercise_solutions(tab) -> list[tuple[bool, bool]]:
    """For each solution on the page: (shown before a click, shown after clicking its toggle)."""
    found = []
    for solution in tab.locator("div.solution").all():
        body = solution.locator(":scope > section, :scope > div:not(.admonition-title)").first
        before = body.is_visible()
        solution.locator("button.toggle-button, .admonition-title").first.click()
        body.wait_for(state="visible", timeout=3000)
        found.append((before, body.is_visible()))
    return found


@pytest.fixture(scope="module")
def visit(browser, site):
    cache = {}

    def open_page(page, width=WIDTHS["laptop"]):
        if (page, width) not in cache:
            cache[page, width] = Visit(browser, site, page, width)
        return cache[page, width]
    return open_page


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
@pytest.mark.parametrize("page", PAGES)
def test_page_asks_no_outside_host_and_logs_no_error(visit, page, width):
    seen = visit(page, width)
    hosts = sorted({urlsplit(u).netloc or u for u in seen.outside})
    assert not seen.outside, f"{page} requested outside hosts {hosts}: {seen.outside[:5]}"
    assert not seen.failed, f"{page}: requests that failed: {seen.failed[:5]}"
    assert not seen.errors, f"{page}: JavaScript console errors: {seen.errors[:5]}"


@pytest.mark.parametrize("page", PAGES)
def test_equations_are_typeset(visit, page):
    facts = visit(page).facts
    assert not facts["untypeset"], f"{page}: equations left as raw TeX: {facts['untypeset'][:3]}"
    assert facts["typeset"] >= facts["math"], f"{page}: {facts}"
    assert facts["rawDelimiters"] == 0, f"{page}: raw TeX delimiters left in the text"


@pytest.mark.parametrize("page", PAGES)
def test_every_image_loads(visit, page):
    broken = visit(page).facts["brokenImages"]
    assert not broken, f"{page}: images that did not load: {broken}"


@pytest.mark.parametrize("page", PAGES)
def test_internal_links_and_anchors_resolve(visit, site, page):
    broken = []
    for url in visit(page).facts["links"]:
        if not url.startswith(site):
            continue  # a link to the literature is not a request: the reader follows it or not
        parts = urlsplit(url)
        target = HTML / unquote(parts.path.removeprefix(urlsplit(site).path))
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            broken.append(f"{url} (no such page)")
        elif parts.fragment and target.suffix == ".html" \
                and unquote(parts.fragment) not in _scan(target).ids:
            broken.append(f"{url} (no anchor #{parts.fragment})")
    assert not broken, f"{page}: links that lead nowhere: {broken[:10]}"


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
@pytest.mark.parametrize("page", PAGES)
def test_code_is_not_hidden(visit, page, width):
    facts = visit(page, width).facts
    assert not facts["hiddenCode"], \
        f"{page} at {width}px: code blocks with lines cut off: {facts['hiddenCode'][:3]}"


def test_a_code_line_of_the_longest_allowed_length_fits_at_laptop_width(visit):
    capacity = visit(SEARCH_PAGE).facts["codeCapacity"]
    assert capacity is not None, f"{SEARCH_PAGE} shows no code cell"
    assert capacity >= CODE_LINE_LIMIT, (
        f"a code cell at {WIDTHS['laptop']}px holds {capacity} characters a line, fewer than the "
        f"{CODE_LINE_LIMIT} the chapters may use (see _static/code-wrap.css)")


WITH_SOLUTIONS = [p for p in PAGES if 'class="solution' in (HTML / p).read_text("utf-8")]


@pytest.mark.parametrize("page", WITH_SOLUTIONS)
def test_solutions_are_folded_and_open_on_click(visit, page):
    solutions = visit(page).solutions
    assert solutions, f"{page}: no solution found to open"
    assert all(not before for before, _ in solutions), f"{page}: a solution is shown unfolded"
    assert all(after for _, after in solutions), f"{page}: a solution did not open on click"


def test_search_finds_a_chapter_by_a_word(browser, site):
    context = browser.new_context(viewport={"width": WIDTHS["laptop"], "height": HEIGHT})
    try:
        tab = context.new_page()
        tab.goto(f"{site}search.html?q={SEARCH_WORD}", wait_until="load")
        tab.wait_for_selector("#search-results ul.search li a", timeout=20_000)
        hits = tab.eval_on_selector_all("#search-results ul.search li a",
                                        "links => links.map(a => a.href)")
    finally:
        context.close()
    assert any(SEARCH_PAGE in h for h in hits), f"searching {SEARCH_WORD!r} found {hits}"
