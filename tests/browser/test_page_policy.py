"""The Content-Security-Policy holds in the browser: no inline script runs, and the page can
connect to the service and the configured RPC only."""

from __future__ import annotations

from tests.browser.conftest import OpenPage, Stack

PROBE_JS = """async (rpc) => {
  const violations = [];
  document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective));
  const s = document.createElement('script');
  s.textContent = 'window.__inline = 1';
  document.body.append(s);
  const reach = async (url, init) => {
    try { await fetch(url, init); return 'ok'; } catch { return 'blocked'; }
  };
  const rpcBody = { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }) };
  const result = {
    own: await reach('/v1/health'),
    rpc: await reach(rpc, rpcBody),
    elsewhere: await reach('http://127.0.0.2:9/'),
  };
  await new Promise((ok) => setTimeout(ok, 200));
  return { ...result, inline: window.__inline === 1, violations };
}"""


def test_inline_script_and_foreign_connections_are_refused(
    open_page: OpenPage, stack: Stack
) -> None:
    page, _ = open_page("/anchors", wallet=False)
    out = page.evaluate(PROBE_JS, stack.rpc)
    assert out["inline"] is False
    assert (out["own"], out["rpc"], out["elsewhere"]) == ("ok", "ok", "blocked")
    assert {"script-src-elem", "connect-src"} <= set(out["violations"])
