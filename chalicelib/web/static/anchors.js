// Anchor explorer: a batch and its leaves, and a verify box that checks a receipt in the browser
// against an RPC endpoint the user chooses (the same verdicts as the offline verifier).
import { config, get, humanMessage, info } from "./api.js";
import { $, el, field, replace, say, whenText } from "./dom.js";
import { DEFAULT_CONFIRMATIONS, jsonRpc, treeRoot, verify } from "./verify.js";

const message = el("p", { class: "status", role: "alert" });

function facts(obj) {
  const rows = [];
  for (const [key, value] of Object.entries(obj)) {
    if (value === null || typeof value !== "object") rows.push(el("dt", { text: key }), el("dd", { class: "mono", text: String(value) }));
    else if (!Array.isArray(value)) rows.push(el("dt", { text: key }), el("dd", {}, facts(value)));
  }
  return el("dl", { class: "facts" }, rows);
}

function batchPanel() {
  const seq = el("input", { id: "batch-seq", inputmode: "numeric", autocomplete: "off" });
  const out = el("div", { "aria-live": "polite" });
  const form = el("form", {}, el("h2", { text: "Look up a batch" }), field("Batch number", seq), el("button", { type: "submit", text: "Show batch" }), out);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const n = encodeURIComponent(seq.value.trim());
      const batch = await get(`/v1/anchors/${n}`);
      const leaves = await get(`/v1/anchors/${n}/leaves`);
      const rebuilt = leaves.next === null && leaves.leaves.length ? treeRoot(leaves.leaves) : null;
      replace(out, facts(batch),
        rebuilt ? el("p", { id: "rebuilt", class: "status", "data-kind": rebuilt === batch.tree_root ? "ok" : "error",
          text: rebuilt === batch.tree_root ? "Rebuilt from its leaves in this browser: the tree root matches." : "The leaves do not rebuild this tree root." }) : null,
        el("h3", { text: `Leaves (${leaves.leaves.length} of ${leaves.tree_size})` }),
        el("ol", { start: leaves.from_index, class: "mono" }, leaves.leaves.map((h) => el("li", { text: h }))));
    } catch (err) {
      replace(out, el("p", { class: "status", "data-kind": "error", text: humanMessage(err) }));
    }
  });
  return el("section", { class: "panel" }, form);
}

async function verifyPanel() {
  const service = await info().catch(() => ({}));
  const receipt = el("textarea", { id: "receipt", spellcheck: "false" });
  const rpc = el("input", { id: "rpc", type: "url", value: (config.rpc_urls || [])[0] || "" });
  const contract = el("input", { id: "contract", autocomplete: "off", value: (service.contracts || {}).anchor_registry || "" });
  const chain = el("input", { id: "chain", inputmode: "numeric", value: service.chain_id || "" });
  const depth = el("input", { id: "depth", type: "number", min: 0, value: service.confirmations ?? DEFAULT_CONFIRMATIONS });
  const out = el("div", { id: "verdict", "aria-live": "polite" });
  const allowed = (config.rpc_urls || []).join(", ") || "none configured";
  const form = el("form", {}, el("h2", { text: "Verify a receipt" }),
    el("p", { class: "hint", text: "Paste a receipt from GET /v1/messages/{id}/proof. The check runs in this browser: the leaf, the audit path and the batch root are recomputed, then the anchor's log is read from the RPC endpoint below. Nothing else is trusted." }),
    field("Receipt (JSON)", receipt),
    field("RPC URL", rpc, `This page may reach: ${allowed}.`),
    el("div", { class: "cols" }, field("Pinned registry", contract, "Blank: the receipt's own"), field("Pinned chain id", chain, "Blank: the receipt's own")),
    field("Confirmations required", depth),
    el("button", { type: "submit", text: "Verify" }), out);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    let parsed;
    try { parsed = JSON.parse(receipt.value); } catch { replace(out, el("p", { class: "status", "data-kind": "error", text: "invalid: the receipt is not valid JSON" })); return; }
    replace(out, el("p", { class: "status", text: "Checking…" }));
    const result = await verify(parsed, jsonRpc(rpc.value.trim()), {
      contract: contract.value.trim() || undefined,
      chainId: chain.value.trim() ? Number(chain.value) : undefined,
      minConfirmations: Number(depth.value || DEFAULT_CONFIRMATIONS),
    });
    const valid = result.verdict.startsWith("valid");
    const fields = parsed && parsed.leaf && parsed.leaf.fields;
    replace(out,
      el("p", { class: "big" }, el("span", { class: `badge ${valid ? "valid" : "invalid"}`, id: "verdict-text", text: result.verdict })),
      result.blockTime ? el("p", { id: "block-time", text: `Anchored in a block of ${whenText(new Date(result.blockTime * 1000).toISOString())}.` }) : null,
      fields && typeof fields === "object" ? el("div", {}, el("h3", { text: "The record" }), facts(fields)) : null);
  });
  return el("section", { class: "panel" }, form);
}

replace($("#app"), message, batchPanel(), await verifyPanel());
say(message, "");
