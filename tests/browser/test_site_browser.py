"""The built course website in chromium, with every request to another host aborted.

Each page must load without asking another host for anything, typeset all its math with the
site's own MathJax, and decode every image; search must work offline. Screenshots of the
landing page and of each notebook page's first screen go to ``build/screenshots/``.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

# Sphinx writes math as <span|div class="math notranslate nohighlight"> (MathJax's own output
# uses class "math" too) and loads MathJax only on pages that hold math.
MATH = "'.math.notranslate'"
TYPESET = "e => e.querySelector('.MathJax, .MathJax_Display')"
MATHJAX_DONE = f"""() => {{
  const math = [...document.querySelectorAll({MATH})];
  if (!math.length) return true;
  const hub = window.MathJax && window.MathJax.Hub;
  if (!hub || !hub.queue || hub.queue.pending || hub.queue.running) return false;
  return math.every({TYPESET});
}}"""
STATE = f"""() => ({{
  math: document.querySelectorAll({MATH}).length,
  typeset: [...document.querySelectorAll({MATH})].filter({TYPESET}).length,
  errors: document.querySelectorAll('.MathJax_Error, .merror, .noError').length,
  images: document.querySelectorAll('.bd-article img').length,
  broken: [...document.querySelectorAll('img')].filter(i => !(i.complete && i.naturalWidth > 0))
          .map(i => i.getAttribute('src').slice(0, 80)),
}})"""


def _pages(site_html):
    top = ["index.html", "run-locally.html", "get-graded.html"]
    return top + sorted(str(p.relative_to(site_html)) for p in site_html.glob("notebooks/*/*.html"))


def _offline(page, site_url):
    """Abort every request that does not go to the site's own server; return the list."""
    blocked = []

    def route(request_route):
        url = request_route.request.url
        if url.startswith(site_url + "/") or url.startswith(("data:", "blob:", "about:")):
            request_route.continue_()
        else:
            blocked.append(url)
            request_route.abort()

    page.route("**/*", route)
    return blocked


def test_every_page_renders_math_and_figures_offline(page, site_url, site_html, screenshots):
    blocked = _offline(page, site_url)
    problems = []
    for rel in _pages(site_html):
        page.goto(f"{site_url}/{rel}", wait_until="load")
        page.wait_for_function(MATHJAX_DONE, timeout=180_000, polling=500)
        state = page.evaluate(STATE)
        if state["typeset"] < state["math"] or state["errors"]:
            problems.append(f"{rel}: math {state}")
        if state["broken"]:
            problems.append(f"{rel}: images not loaded {state['broken'][:5]}")
        if rel.startswith("notebooks/"):
            if not state["math"] or not state["images"]:
                problems.append(f"{rel}: a notebook page without math or figures: {state}")
        name = "site-" + rel.removesuffix(".html").replace("/", "-") + ".png"
        page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(path=str(screenshots / name))
    assert not blocked, f"pages asked another host for: {blocked[:10]}"
    assert not problems, "\n".join(problems)


def test_search_works_offline(page, site_url):
    blocked = _offline(page, site_url)
    page.goto(f"{site_url}/search.html?q=im2col", wait_until="load")
    results = page.locator("#search-results li")
    results.first.wait_for(timeout=60_000)
    assert results.count() >= 1
    assert "convolution" in page.locator("#search-results").inner_text().lower()
    assert not blocked, blocked
