"""The pages: one shared shell (head, navigation, main), and what each page puts in it.

Each page names only its title and module; the shell marks the current page in the navigation,
so adding a page is one line here and one route.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PAGES_DIR = Path(__file__).resolve().parent / "pages"
SHELL = "layout"


@dataclass(frozen=True)
class Page:
    title: str
    script: str | None = None  # the page's module under static/; it renders into #app
    nav: str | None = None  # its label in the navigation, if it is listed there
    main: str | None = None  # a template under pages/ for <main>, instead of heading + #app


# In navigation order; each key is the page's name, as its routes name it.
PAGES: dict[str, Page] = {
    "index": Page("Settlekit", main="index"),
    "claim": Page("Claim your tokens", "claim.js", "Claim"),
    "faucet": Page("Faucet", "faucet.js", "Faucet"),
    "bounties": Page("Bounty board", "bounties.js", "Bounties"),
    "otc": Page("OTC desk", "otc.js", "OTC"),
    "anchors": Page("Anchor explorer", "anchors.js", "Anchors"),
    "organizer": Page("Organizer console", "organizer.js", "Organizer"),
}


def _read(name: str) -> str:
    return (PAGES_DIR / f"{name}.html").read_text(encoding="utf-8")


def _nav(current: str) -> str:
    items = []
    for name, page in PAGES.items():
        if page.nav is None:
            continue
        mark = ' aria-current="page"' if name == current else ""
        link = f'<a href="{{{{base}}}}/{name}"{mark}>{html.escape(page.nav)}</a>'
        items.append(f"      <li>{link}</li>\n")
    return "".join(items)


@cache
def compose(name: str) -> str:
    """The page's template: the shell with its parts, asset and config placeholders still open."""
    page = PAGES[name]
    title = page.title if name == "index" else f"{page.title} · Settlekit"
    script = ""
    if page.script:
        script = f'  <script type="module" src="{{{{asset:{page.script}}}}}"></script>\n'
    main = (
        _read(page.main)
        if page.main
        else f'    <h1>{html.escape(page.title)}</h1>\n    <div id="app"></div>\n'
    )
    parts = {"title": html.escape(title), "script": script, "nav": _nav(name), "main": main}
    shell = _read(SHELL)
    for key, value in parts.items():
        shell = shell.replace("{{" + key + "}}", value)
    return shell
