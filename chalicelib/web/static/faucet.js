// Faucet page: ask for a drip, see when the next one is allowed, and the faucet's figures.
import { get, humanMessage, post } from "./api.js";
import { $, el, field, replace, say, whenText } from "./dom.js";
import { walletPanel } from "./wallet.js";

const POLL_MS = 2000;

async function figures(box) {
  try {
    const s = await get("/v1/faucet/status");
    const row = (label, v) => [el("dt", { text: label }), el("dd", { text: v })];
    replace(box, el("h2", { text: "The faucet" }), el("dl", { class: "facts" },
      row("One drip", `${s.drip_amount} ${s.asset}`),
      row("Allowed", s.enabled ? `${s.max_requests} per ${Math.round(s.window_seconds / 60)} min per wallet` : "drips are switched off"),
      row("Drips, last 24 h", `${s.last_24h.drips} (${s.last_24h.amount} ${s.asset})`),
      row("Drips, all time", `${s.totals.drips} (${s.totals.amount} ${s.asset})`),
      row("Last drip", s.last_drip_at ? whenText(s.last_drip_at) : "none yet")));
  } catch (e) {
    replace(box, el("p", { class: "status", "data-kind": "error", text: humanMessage(e) }));
  }
}

async function watch(out, drip) {
  const line = el("p", { id: "drip-status", class: "big" });
  replace(out, el("h2", { text: "Your drip" }), el("p", { text: `${drip.amount} ${drip.asset} to ${drip.wallet}` }), line,
    el("p", { text: `Next drip allowed from ${whenText(drip.next_available_at)}.` }));
  out.hidden = false;
  for (;;) {
    let payout;
    try { payout = await get(`/v1/payouts/${encodeURIComponent(drip.payout_id)}`); } catch (e) { line.textContent = humanMessage(e); }
    if (payout) {
      const done = payout.status === "confirmed";
      line.textContent = done ? "Sent: confirmed on chain." : `On its way (${payout.status}).`;
      if (done || payout.status === "failed") return;
    }
    await new Promise((ok) => setTimeout(ok, POLL_MS));
  }
}

function render(root) {
  const wallet = el("input", { id: "wallet", autocomplete: "off", spellcheck: "false", placeholder: "0x…" });
  const message = el("p", { class: "status", role: "alert" });
  const out = el("section", { class: "panel", hidden: true, "aria-live": "polite" });
  const stats = el("section", { class: "panel" });
  const walletBox = el("div", { class: "row" });
  walletPanel(walletBox, (w) => { if (w) wallet.value = w.address; });
  const button = el("button", { type: "submit", text: "Request a drip" });
  const form = el("form", { novalidate: true }, walletBox,
    field("Wallet address", wallet, "Connect a wallet, or paste an address."), button, message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!wallet.value.trim()) { say(message, "Enter or connect your wallet address.", "error"); return; }
    button.disabled = true;
    try {
      const drip = await post("/v1/faucet/drip", { wallet: wallet.value.trim() });
      say(message, "Drip requested.", "ok");
      watch(out, drip).then(() => figures(stats));
    } catch (e) {
      say(message, humanMessage(e), "error");
    } finally {
      button.disabled = false;
    }
  });
  replace(root, el("section", { class: "panel" }, form), out, stats);
  figures(stats);
}

render($("#app"));
