// Claim page: /claim/<CODE> (the URL in an organizer's QR code) or /claim with a field.
import { base, explorerLink, get, humanMessage, post } from "./api.js";
import { $, el, field, replace, say } from "./dom.js";
import { walletPanel } from "./wallet.js";

const POLL_MS = 2000;
const FINAL = new Set(["paid", "failed", "released", "paid_after_release"]);
const STATUS_TEXT = {
  pending: "Pending: the payment is on its way.",
  paid: "Paid: the tokens are in your wallet.",
  failed: "The payment failed and no tokens moved. You can claim this code again.",
  needs_attention: "The payment is delayed; the organizer has been told and will sort it out.",
  released: "The organizer cancelled this payment; no tokens moved.",
  paid_after_release: "Paid (after a delay).",
};

function codeFromPath() {
  const prefix = `${base}/claim/`;
  const path = window.location.pathname;
  return path.startsWith(prefix) ? decodeURIComponent(path.slice(prefix.length)) : "";
}

function render(root) {
  const code = el("input", { id: "code", name: "code", autocomplete: "off", autocapitalize: "characters", spellcheck: "false", required: true, value: codeFromPath() });
  const wallet = el("input", { id: "wallet", name: "wallet", autocomplete: "off", spellcheck: "false", inputmode: "text", placeholder: "0x…", required: true });
  const message = el("p", { class: "status", role: "alert", "aria-live": "assertive" });
  const result = el("section", { class: "panel", id: "result", hidden: true, "aria-live": "polite" });
  const button = el("button", { type: "submit", text: "Claim" });
  const walletBox = el("div", { class: "row" });
  walletPanel(walletBox, (w) => { if (w) wallet.value = w.address; });

  const form = el("form", { novalidate: true },
    field("Claim code", code, "It is printed under your QR code, e.g. MEETUP12-ABCD…"),
    el("h2", { text: "Where should the tokens go?" }),
    walletBox,
    field("Your wallet address", wallet, "Connect a wallet above, or paste an address (0x followed by 40 hex digits)."),
    button, message);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say(message, "");
    if (!code.value.trim()) { say(message, "Enter your claim code.", "error"); code.focus(); return; }
    if (!wallet.value.trim()) { say(message, "Enter or connect your wallet address.", "error"); wallet.focus(); return; }
    button.disabled = true;
    try {
      const claim = await post("/v1/claims", { code: code.value.trim(), wallet: wallet.value.trim() });
      say(message, "Claim accepted.", "ok");
      follow(result, claim);
    } catch (e) {
      say(message, humanMessage(e), "error");
    } finally {
      button.disabled = false;
    }
  });
  replace(root, el("section", { class: "panel" }, form), result);
}

function showClaim(result, claim) {
  const status = claim.status;
  const tx = claim.tx_hash;
  const link = explorerLink(tx);
  replace(result,
    el("h2", { text: "Your claim" }),
    el("p", { class: "big", id: "claim-status" }, el("span", { class: `badge ${status}`, text: status })),
    el("p", { text: STATUS_TEXT[status] || status }),
    el("dl", { class: "facts" },
      el("dt", { text: "Amount" }), el("dd", { text: `${claim.amount} ${claim.asset}` }),
      el("dt", { text: "To" }), el("dd", { class: "mono", text: claim.wallet }),
      el("dt", { text: "Transaction" }),
      el("dd", { class: "mono" }, tx ? (link ? el("a", { href: link, rel: "noopener noreferrer", target: "_blank", text: tx }) : tx) : "not sent yet")));
  result.hidden = false;
}

async function follow(result, claim) {
  showClaim(result, claim);
  while (!FINAL.has(claim.status)) {
    await new Promise((ok) => setTimeout(ok, POLL_MS));
    try {
      claim = await get(`/v1/claims/${encodeURIComponent(claim.code)}`);
      showClaim(result, claim);
    } catch (e) {
      // A transient failure must not stop the watch; say so and keep polling.
      result.append(el("p", { class: "hint", text: humanMessage(e) }));
    }
  }
}

render($("#app"));
