// Bounty board: list with filters and paging, a bounty's page with winners and payment hints, and
// create / submit / accept / cancel / pay-and-record with a connected wallet (EIP-712 signatures).
import { base, explorerLink, get, humanMessage, info, post, postWhenConfirmed } from "./api.js";
import { $, el, field, replace, say, shortHex, table, whenText } from "./dom.js";
import { erc20TransferData, toUnits, walletPanel } from "./wallet.js";

const DEADLINE_S = 300; // signatures are valid 5 minutes (the service accepts up to 10)
const message = el("p", { class: "status", role: "alert" });
let wallet = null;
const deadline = () => Math.floor(Date.now() / 1000) + DEADLINE_S;
const same = (a, b) => a && b && a.toLowerCase() === b.toLowerCase();

function needWallet() {
  if (!wallet) throw new Error("Connect your wallet first.");
  return wallet;
}

async function act(label, fn) {
  try {
    say(message, `${label}…`);
    await fn();
  } catch (e) {
    say(message, humanMessage(e), "error");
  }
}

async function assetInfo(asset) {
  const assets = (await info()).assets;
  for (const [symbol, a] of Object.entries(assets)) {
    if (same(a.address, asset) || symbol === asset) return { symbol, ...a };
  }
  return { symbol: asset, address: asset, decimals: 18 };
}

// ---- the list ----------------------------------------------------------------------------

function listView(root) {
  const status = el("select", { id: "f-status" }, ["", "open", "judging", "partially-filled", "winner-announced", "paid", "cancelled", "abandoned"]
    .map((s) => el("option", { value: s, text: s || "any" })));
  const tag = el("input", { id: "f-tag", autocomplete: "off" });
  const out = el("div", { id: "list", "aria-live": "polite" });
  let cursor = null;
  const more = el("button", { type: "button", class: "secondary", text: "Next page", hidden: true, onclick: () => load(true) });

  async function load(next) {
    const q = new URLSearchParams({ limit: "10" });
    if (status.value) q.set("status", status.value);
    if (tag.value.trim()) q.set("tag", tag.value.trim());
    if (next && cursor) q.set("next", cursor);
    try {
      const page = await get(`/v1/bounties?${q}`);
      cursor = page.next;
      more.hidden = !cursor;
      replace(out, page.bounties.length ? table(["bounty", "reward", "status", "winners", "expires"], page.bounties.map((b) => [
        el("a", { href: `${base}/bounties?id=${encodeURIComponent(b.id)}`, text: b.title }),
        `${b.reward} ${b.asset === "native" ? "ETH" : shortHex(b.asset)}`, b.status, `${b.winner_count}/${b.max_winners}`, whenText(b.expires_at)]))
        : el("p", { text: "No bounties match." }));
    } catch (e) {
      replace(out, el("p", { class: "status", "data-kind": "error", text: humanMessage(e) }));
    }
  }
  const filters = el("form", {}, el("h2", { text: "Bounties" }), el("div", { class: "cols" }, field("Status", status), field("Tag", tag)),
    el("button", { type: "submit", text: "Show" }));
  filters.addEventListener("submit", (e) => { e.preventDefault(); load(false); });
  root.append(el("section", { class: "panel" }, filters, out, more), createForm());
  load(false);
}

function createForm() {
  const title = el("input", { id: "b-title", maxlength: 120 });
  const description = el("textarea", { id: "b-description", maxlength: 4000 });
  const reward = el("input", { id: "b-reward", inputmode: "decimal" });
  const asset = el("select", { id: "b-asset" });
  const winners = el("input", { id: "b-winners", type: "number", min: 1, max: 1000, value: 1 });
  const expires = el("input", { id: "b-expires", type: "datetime-local" });
  const tags = el("input", { id: "b-tags", autocomplete: "off" });
  const d = new Date(Date.now() + 7 * 86400e3);
  expires.value = new Date(d.getTime() - d.getTimezoneOffset() * 60e3).toISOString().slice(0, 16);
  info().then((i) => replace(asset, Object.entries(i.assets).map(([symbol, a]) => el("option", { value: a.address === "native" ? "native" : symbol, text: symbol }))));
  const form = el("form", {}, el("h2", { text: "Post a bounty" }), field("Title", title), field("Description", description),
    el("div", { class: "cols" }, field("Total reward", reward, "Split evenly between the winners"), field("Asset", asset)),
    el("div", { class: "cols" }, field("Winners", winners), field("Open until", expires, "Your local time")),
    field("Tags", tags, "Up to 5, comma-separated"), el("button", { type: "submit", text: "Sign and post" }));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    act("Posting", async () => {
      const w = needWallet();
      const body = {
        poster: w.address, title: title.value, description: description.value, reward: reward.value.trim(),
        asset: asset.value, max_winners: Number(winners.value), expires_at: new Date(expires.value).toISOString().replace(/\.\d{3}Z$/, "Z"),
        tags: tags.value.split(",").map((t) => t.trim()).filter(Boolean), deadline: deadline(),
      };
      const res = await post("/v1/bounties", await w.signAction("create_bounty", body));
      window.location.assign(`${base}/bounties?id=${encodeURIComponent(res.bounty.id)}`);
    });
  });
  return el("section", { class: "panel" }, form);
}

// ---- one bounty ----------------------------------------------------------------------------

async function detailView(root, id) {
  const box = el("div", { id: "bounty" });
  // The submit form lives outside the re-rendered box: re-rendering must not move the focus
  // or the text out of a field being typed in.
  root.append(box, submitForm().section);
  const refresh = () => showBounty(box, id);
  await refresh();
}

let submitParts = null;
function submitForm() {
  if (!submitParts) {
    const text = el("textarea", { id: "s-message", maxlength: 2000 });
    const url = el("input", { id: "s-url", type: "url" });
    const submit = el("form", {}, el("h2", { text: "Submit a solution" }), field("Your solution", text), field("Link (optional)", url),
      el("button", { type: "submit", text: "Sign and submit" }));
    submitParts = { submit, text, url, section: el("section", { class: "panel", hidden: true }, submit) };
  }
  return submitParts;
}

async function showBounty(box, id) {
  let b; let subs;
  try {
    b = (await get(`/v1/bounties/${encodeURIComponent(id)}`)).bounty;
    subs = (await get(`/v1/bounties/${encodeURIComponent(id)}/submissions?limit=100`)).submissions;
  } catch (e) { replace(box, el("p", { class: "status", "data-kind": "error", text: humanMessage(e) })); return; }
  const asset = await assetInfo(b.asset);
  const isPoster = wallet && same(wallet.address, b.poster);
  const refresh = () => showBounty(box, id);

  const submissions = subs.length ? table(["from", "message", "link", "winner", ""], subs.map((s) => [
    el("span", { class: "mono", text: shortHex(s.submitter) }),
    el("span", { class: "submission-message", text: s.message }),
    /^https?:\/\//.test(s.content_url || "") ? el("a", { href: s.content_url, rel: "noopener noreferrer nofollow", target: "_blank", text: "open" }) : "",
    s.is_winner ? "yes" : "",
    isPoster && !s.is_winner ? el("button", { type: "button", class: "secondary", text: "Accept", "aria-label": `Accept the submission from ${s.submitter}`,
      onclick: () => act("Accepting", async () => {
        await post(`/v1/bounties/${b.id}/accept`, await wallet.signAction("accept_submission", { poster: wallet.address, submission_id: s.id, deadline: deadline() }, b.id));
        say(message, "Accepted.", "ok"); refresh();
      }) }) : ""]))
    : el("p", { text: "No submissions yet." });

  const payments = b.payments.map((p) => el("li", {}, `${p.amount} ${asset.symbol} to `, el("span", { class: "mono", text: p.recipient }), " ",
    isPoster ? el("button", { type: "button", text: "Pay and record", "aria-label": `Pay ${p.recipient}`,
      onclick: () => act("Paying", async () => {
        const units = toUnits(p.amount, asset.decimals);
        const tx = asset.address === "native"
          ? { to: p.recipient, value: `0x${units.toString(16)}` }
          : { to: asset.address, data: erc20TransferData(p.recipient, units) };
        const hash = await wallet.sendTransaction(tx);
        const need = (await info()).confirmations;
        await wallet.waitForConfirmations(hash, need, (n) => say(message, `Sent ${shortHex(hash)}: ${Math.min(n, need)} of ${need} confirmations…`));
        const signed = await wallet.signAction("record_payment", { poster: wallet.address, submission_id: p.submission_id, tx_hash: hash, deadline: deadline() }, b.id);
        await postWhenConfirmed(`/v1/bounties/${b.id}/payments`, signed);
        say(message, "Payment recorded.", "ok"); refresh();
      }) }) : ""));

  const winners = b.winners.map((w) => {
    const link = explorerLink(w.payment_tx);
    return el("li", {}, el("span", { class: "mono", text: w.submitter }), w.paid_at ? " paid " : " not paid yet ",
      w.payment_tx ? (link ? el("a", { href: link, rel: "noopener noreferrer", target: "_blank", text: shortHex(w.payment_tx) }) : el("span", { class: "mono", text: shortHex(w.payment_tx) })) : "");
  });

  // Made once: a re-render (a wallet connecting, say) must not wipe what is being typed.
  const { submit, text, url, section } = submitForm();
  section.hidden = !(b.status === "open" || b.status === "partially-filled");
  submit.onsubmit = (e) => {
    e.preventDefault();
    act("Submitting", async () => {
      const w = needWallet();
      const body = { submitter: w.address, message: text.value, deadline: deadline() };
      if (url.value.trim()) body.content_url = url.value.trim();
      await post(`/v1/bounties/${b.id}/submissions`, await w.signAction("submit_solution", body, b.id));
      text.value = ""; url.value = "";
      say(message, "Submitted.", "ok"); refresh();
    });
  };
  const cancel = isPoster && !b.winner_count ? el("button", { type: "button", class: "secondary", text: "Cancel bounty",
    onclick: () => act("Cancelling", async () => {
      await post(`/v1/bounties/${b.id}/cancel`, await wallet.signAction("cancel_bounty", { poster: wallet.address, deadline: deadline() }, b.id));
      say(message, "Cancelled.", "ok"); refresh();
    }) }) : null;

  replace(box, el("section", { class: "panel" },
    el("h2", { id: "bounty-title", text: b.title }),
    el("p", {}, el("span", { class: `badge ${b.status}`, id: "bounty-status", text: b.status }), ` ${b.reward} ${asset.symbol} for ${b.max_winners} winner(s), ${b.reward_per_winner} each`),
    el("p", { class: "bounty-description", text: b.description }),
    el("dl", { class: "facts" }, el("dt", { text: "Poster" }), el("dd", { class: "mono", text: b.poster }),
      el("dt", { text: "Open until" }), el("dd", { text: whenText(b.expires_at) }),
      el("dt", { text: "Tags" }), el("dd", { text: b.tags.join(", ") || "none" })),
    el("h2", { text: "Winners" }), winners.length ? el("ul", { id: "winners" }, winners) : el("p", { text: "None yet." }),
    payments.length ? el("div", {}, el("h2", { text: "Payments due" }), el("ul", {}, payments)) : null, cancel),
    el("section", { class: "panel" }, el("h2", { text: "Submissions" }), submissions));
}

const root = $("#app");
const walletBox = el("div", { class: "row" });
const id = new URLSearchParams(window.location.search).get("id");
replace(root, el("section", { class: "panel" }, el("h2", { text: "Your wallet" }), walletBox), message);
walletPanel(walletBox, (w) => { wallet = w; if (id && w) showBounty($("#bounty"), id); });
if (id) detailView(root, id); else listView(root);
