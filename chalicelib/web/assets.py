"""Static assets under content-hashed names, and the HTML pages that point at them.

A module's hashed name covers its own text after its imports were rewritten to their hashed
names, so changing any module changes the name of every module that imports it: browsers may
cache every asset forever, and a deploy never mixes old and new modules.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from chalicelib.web import layout

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
}
# 10 hex digits = 40 bits: collisions between a deploy's few dozen assets are out of reach.
HASH_DIGITS = 10
IMPORT_RE = re.compile(r"""(\bfrom\s*|\bimport\s*)(["'])\./([A-Za-z0-9_.-]+\.js)\2""")
PLACEHOLDER_RE = re.compile(r"\{\{(asset|config|base):?([A-Za-z0-9_.-]*)\}\}")


@dataclass(frozen=True)
class Asset:
    name: str  # the source file's name, e.g. "claim.js"
    hashed: str  # e.g. "claim.3f2a1b9c04.js"
    body: str
    content_type: str


class AssetError(Exception):
    """A page or module names an asset that does not exist (a packaging mistake)."""


def _hashed_name(name: str, body: str) -> str:
    stem, dot, ext = name.rpartition(".")
    digest = hashlib.sha256(body.encode()).hexdigest()[:HASH_DIGITS]
    return f"{stem}.{digest}{dot}{ext}"


@cache
def assets() -> dict[str, Asset]:
    """Every static asset by its source name (built once per process)."""
    sources = {p.name: p.read_text(encoding="utf-8") for p in sorted(STATIC.iterdir())}
    built: dict[str, Asset] = {}

    def build(name: str, trail: tuple[str, ...]) -> Asset:
        if name in built:
            return built[name]
        if name not in sources:
            raise AssetError(f"{trail[-1] if trail else 'a page'} imports missing {name}")
        if name in trail:
            raise AssetError(f"import cycle through {name}")

        def rewrite(m: re.Match[str]) -> str:
            dep = build(m.group(3), (*trail, name))
            return f"{m.group(1)}{m.group(2)}./{dep.hashed}{m.group(2)}"

        body = IMPORT_RE.sub(rewrite, sources[name]) if name.endswith(".js") else sources[name]
        ext = "." + name.rpartition(".")[2]
        asset = Asset(name, _hashed_name(name, body), body, CONTENT_TYPES.get(ext, "text/plain"))
        built[name] = asset
        return asset

    for name in sources:
        build(name, ())
    return built


@cache
def by_hashed_name() -> dict[str, Asset]:
    return {a.hashed: a for a in assets().values()}


def page_names() -> list[str]:
    return sorted(layout.PAGES)


def render_page(name: str, base: str, config: dict[str, Any]) -> str:
    """The page's HTML with hashed asset URLs, the path prefix and the pages' public config."""
    template = layout.compose(name)
    table = assets()

    def fill(m: re.Match[str]) -> str:
        kind, arg = m.group(1), m.group(2)
        if kind == "asset":
            if arg not in table:
                raise AssetError(f"page {name} names missing asset {arg}")
            return f"{base}/assets/{table[arg].hashed}"
        if kind == "base":
            return html.escape(base)
        # The config rides in a <meta> attribute: no inline script, and escaped as text.
        return html.escape(json.dumps(config, separators=(",", ":")), quote=True)

    return PLACEHOLDER_RE.sub(fill, template)
