"""Page weight (bytes on the wire, cold and cached) and time to first render of every page, in
headless Chromium against `make dev`'s stack; and the cold-start cost of serving a page.

    .venv/bin/python -m bench.bench_pages
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from local.browser import launch_chromium
from local.devstack import dev_stack
from local.processes import ROOT

PAGES = ["/", "/claim/MEETUP-EXAMPLE", "/faucet", "/organizer", "/bounties", "/otc", "/anchors"]
RUNS = 3  # loads per page and cache state; the median is printed
COLD_PROCESSES = 5
COLD_SCRIPT = """
import time
t0 = time.perf_counter()
import app
from chalice.test import Client
t1 = time.perf_counter()
with Client(app.app) as c:
    r = c.http.get("/claim/MEETUP-EXAMPLE")
    assert r.status_code == 200
    t2 = time.perf_counter()
    a = c.http.get(r.body.decode().split('src="')[1].split('"')[0])
    assert a.status_code == 200
    t3 = time.perf_counter()
    assert c.http.get("/faucet").status_code == 200
print(" ".join(f"{x * 1000:.1f}" for x in (t1 - t0, t2 - t1, t3 - t2, time.perf_counter() - t3)))
"""


def _load(page: Any, cdp: Any, url: str) -> tuple[int, int, float]:
    """(bytes on the wire, requests that hit the network, first contentful paint in ms)."""
    wire: dict[str, int] = {}
    cached: set[str] = set()
    cdp.on("Network.loadingFinished",
           lambda e: wire.__setitem__(e["requestId"], int(e["encodedDataLength"])))
    cdp.on("Network.requestServedFromCache", lambda e: cached.add(e["requestId"]))
    page.goto(url, wait_until="networkidle")
    fcp = page.evaluate("""() => new Promise((ok) => {
        const find = () => performance.getEntriesByName('first-contentful-paint')[0];
        const e = find();
        if (e) return ok(e.startTime);
        new PerformanceObserver(() => { const f = find(); if (f) ok(f.startTime); })
          .observe({ type: 'paint', buffered: true });
    })""")
    fetched = [r for r in wire if r not in cached]
    return sum(wire[r] for r in fetched), len(fetched), float(fcp)


def browser_figures(api: str) -> None:
    from playwright.sync_api import sync_playwright

    print(f"{'page':<24} {'cold bytes':>10} {'reqs':>4} {'cached bytes':>12} {'reqs':>4}"
          f" {'first render cold':>18} {'cached':>8}")
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        for path in PAGES:
            cold, warm = [], []
            for _ in range(RUNS):
                context = browser.new_context()
                page = context.new_page()
                cdp = context.new_cdp_session(page)
                cdp.send("Network.enable")
                cold.append(_load(page, cdp, api + path))
                warm.append(_load(page, cdp, api + path))  # same context: the cache is warm
                context.close()
            c = [statistics.median(x) for x in zip(*cold, strict=True)]
            w = [statistics.median(x) for x in zip(*warm, strict=True)]
            print(f"{path:<24} {c[0]:>10,.0f} {c[1]:>4.0f} {w[0]:>12,.0f} {w[1]:>4.0f}"
                  f" {c[2]:>15.0f} ms {w[2]:>5.0f} ms")
        browser.close()


def cold_start_figures() -> None:
    runs = []
    for _ in range(COLD_PROCESSES):
        out = subprocess.run([sys.executable, "-c", COLD_SCRIPT], cwd=ROOT, check=True,  # noqa: S603
                             capture_output=True, text=True).stdout.split()
        runs.append([float(x) for x in out])
    imp, page, asset, second = (statistics.median(x) for x in zip(*runs, strict=True))
    print(f"cold process, median of {COLD_PROCESSES}: import app {imp:.0f} ms; first page "
          f"(hashes every asset once) {page:.1f} ms; its first asset {asset:.1f} ms; "
          f"a second page {second:.1f} ms")


def main() -> None:
    cold_start_figures()
    with tempfile.TemporaryDirectory() as tmp, dev_stack(
        Path(tmp) / "dev.log", "bench-pages-admin-token-0123456789"
    ) as banner:
        browser_figures(banner["API URL"])


if __name__ == "__main__":
    main()
