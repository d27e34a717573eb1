"""Every page: each control has a label, text meets WCAG AA contrast, nothing overflows 360 px;
and the claim form works from the keyboard alone."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import OpenPage, screenshot, wait_text

PAGES = ["/", "/claim", "/faucet", "/organizer", "/bounties", "/otc", "/anchors"]

# WCAG 2.x relative luminance and contrast of each visible text element against the first
# opaque background found up its ancestors.
AUDIT_JS = """() => {
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const bg = (el) => {
    for (let n = el; n; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const low = [];
  for (const el of document.querySelectorAll('body *')) {
    const text = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!text || !el.offsetParent) continue;
    const a = lum(parse(getComputedStyle(el).color)), b = lum(bg(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const what = `${el.tagName}:${el.textContent.trim().slice(0, 30)}`;
    if (ratio < 4.5) low.push(`${what}:${ratio.toFixed(2)}`);
  }
  const unlabeled = [...document.querySelectorAll('input, select, textarea, button')]
    .filter((el) => el.offsetParent && !(el.labels && el.labels.length)
      && !el.getAttribute('aria-label') && !(el.tagName === 'BUTTON' && el.textContent.trim()))
    .map((el) => el.outerHTML.slice(0, 60));
  const wide = document.documentElement.scrollWidth > window.innerWidth + 1;
  return { low, unlabeled, wide };
}"""


@pytest.mark.parametrize("path", PAGES)
def test_controls_are_labelled_text_has_contrast_and_360_px_fits(
    open_page: OpenPage, path: str
) -> None:
    page, _ = open_page(path, width=360)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(400)  # wallets announce; panels render
    audit: Any = page.evaluate(AUDIT_JS)
    assert audit["unlabeled"] == []
    assert audit["low"] == []
    assert audit["wide"] is False
    screenshot(page, f"page{path.replace('/', '-') or '-home'}-360")


def test_the_claim_form_works_from_the_keyboard(open_page: OpenPage) -> None:
    page, _ = open_page("/claim", account=2)
    page.wait_for_timeout(400)
    while page.evaluate("document.activeElement.id") != "code":
        page.keyboard.press("Tab")
    page.keyboard.type("NO-SUCH-CODE")
    while page.evaluate("document.activeElement.id") != "wallet":
        page.keyboard.press("Tab")
    page.keyboard.type("0x" + "12" * 20)
    page.keyboard.press("Enter")
    wait_text(page, "We do not know this code")
    # The focused control shows a visible focus ring.
    page.keyboard.press("Shift+Tab")
    ring = page.evaluate("[document.activeElement.id, getComputedStyle(document.activeElement)"
                         ".outlineStyle, getComputedStyle(document.activeElement).outlineWidth]")
    assert ring[1] == "solid" and ring[2] == "3px", ring
