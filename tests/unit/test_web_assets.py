"""The pages' static assets: hashed names, import rewriting, and the safety rules of the sources."""

from __future__ import annotations

import re

import pytest

from chalicelib.web import assets, layout

STATIC_JS = sorted(assets.STATIC.glob("*.js"))


def test_every_page_renders_with_hashed_assets_that_exist() -> None:
    served = assets.by_hashed_name()
    for name in assets.page_names():
        html = assets.render_page(name, "", {"base": ""})
        urls = re.findall(r'(?:src|href)="/assets/([^"]+)"', html)
        assert urls and all(u in served for u in urls), name
        assert "{{" not in html


def test_module_imports_point_at_hashed_names_and_a_change_renames_its_importers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    built = assets.assets()
    claim = built["claim.js"]
    assert f'from "./{built["api.js"].hashed}"' in claim.body
    assert './api.js"' not in claim.body

    # Change api.js only: its own name and the names of the modules importing it change.
    from pathlib import Path

    copy = Path(str(tmp_path))
    for src in assets.STATIC.iterdir():
        (copy / src.name).write_text(src.read_text())
    (copy / "api.js").write_text(built["api.js"].body.replace("Something went wrong.", "Oops."))
    monkeypatch.setattr(assets, "STATIC", copy)
    assets.assets.cache_clear()
    try:
        changed = assets.assets()
        assert changed["api.js"].hashed != built["api.js"].hashed
        assert changed["claim.js"].hashed != claim.hashed  # imports api.js
        assert changed["app.css"].hashed == built["app.css"].hashed
    finally:
        assets.assets.cache_clear()


def test_the_page_config_is_escaped_inside_its_attribute() -> None:
    html = assets.render_page("claim", "", {"explorer_tx_url": '"><script>alert(1)</script>'})
    assert "<script>alert" not in html
    assert "&quot;&gt;&lt;script&gt;" in html


@pytest.mark.parametrize("page", assets.page_names())
def test_pages_have_no_inline_script_style_or_handlers(page: str) -> None:
    html = layout.compose(page)
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+=", html)
    assert "http://" not in html and "https://" not in html  # nothing from elsewhere


@pytest.mark.parametrize("path", STATIC_JS, ids=lambda p: p.name)
def test_scripts_never_insert_markup(path: object) -> None:
    text = path.read_text()  # type: ignore[attr-defined]
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function"):
        assert sink not in text, sink
