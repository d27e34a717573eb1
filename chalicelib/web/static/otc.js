// OTC desk: order book and trades per pair, create an order (the wallet sends the deposit, the
// page submits it once confirmed), take, cancel; on an external pair the seller confirms and reads
// the secret. Every write is an EIP-712 signature by the connected wallet.
import { base, get, humanMessage, info, post, postWhenConfirmed } from "./api.js";
import { $, el, field, replace, say, shortHex, table, whenText } from "./dom.js";
import { erc20TransferData, toUnits, walletPanel } from "./wallet.js";

const DEADLINE_S = 300;
const message = el("p", { class: "status", role: "alert" });
let wallet = null;
let pairs = [];
const deadline = () => Math.floor(Date.now() / 1000) + DEADLINE_S;
const same = (a, b) => a && b && a.toLowerCase() === b.toLowerCase();

async function act(label, fn) {
  try { say(message, `${label}…`); await fn(); } catch (e) { say(message, humanMessage(e), "error"); }
}

function needWallet() {
  if (!wallet) throw new Error("Connect your wallet first.");
  return wallet;
}

// Sends `units` of `asset` ("native" or a token address) to the escrow; resolves to the hash once
// the transaction has the service's confirmations.
async function deposit(asset, units) {
  const i = await info();
  const tx = asset === "native"
    ? { to: i.escrow_address, value: `0x${units.toString(16)}` }
    : { to: asset, data: erc20TransferData(i.escrow_address, units) };
  const hash = await wallet.sendTransaction(tx);
  await wallet.waitForConfirmations(hash, i.confirmations, (n) => say(message, `Deposit ${shortHex(hash)}: ${Math.min(n, i.confirmations)} of ${i.confirmations} confirmations…`));
  return hash;
}

function pairOf(name) { return pairs.find((p) => p.pair === name); }

const revealed = {};
let shown = 0; // the latest book requested: an older, slower answer must not overwrite it

function bookView(box, pairName) {
  const pair = pairOf(pairName);
  const mine = ++shown;
  (async () => {
    try {
      const [book, trades, orders] = await Promise.all([
        get(`/v1/orderbook?pair=${encodeURIComponent(pairName)}`),
        get(`/v1/trades?pair=${encodeURIComponent(pairName)}&limit=10`),
        get(`/v1/orders?pair=${encodeURIComponent(pairName)}&limit=50`),
      ]);
      if (mine !== shown) return;
      const levels = (rows) => rows.length ? table(["price", "amount"], rows.map((l) => [l.price, l.amount])) : el("p", { text: "none" });
      const orderRows = orders.orders.map((o) => [
        el("a", { href: `${base}/otc?order=${encodeURIComponent(o.id)}`, text: shortHex(o.id) }), o.side, o.amount, o.price, o.quote_total, whenText(o.expires_at),
        wallet && same(o.maker, wallet.address)
          ? el("button", { type: "button", class: "secondary", text: "Cancel", "aria-label": `Cancel order ${o.id}`, onclick: () => cancel(o.id) })
          : el("button", { type: "button", text: "Take", "aria-label": `Take order ${o.id}`, onclick: () => take(o, pair) })]);
      replace(box,
        el("div", { class: "cols" }, el("div", {}, el("h3", { text: "Bids (buy)" }), levels(book.bids)), el("div", {}, el("h3", { text: "Asks (sell)" }), levels(book.asks))),
        el("h3", { text: "Open orders" }), orderRows.length ? table(["order", "side", "amount", "price", "total", "expires", ""], orderRows) : el("p", { text: "No open orders." }),
        el("h3", { text: "Recent trades" }), trades.trades.length ? table(["when", "amount", "price"], trades.trades.map((t) => [whenText(t.completed_at || t.created_at), t.amount, t.price])) : el("p", { text: "No trades yet." }));
    } catch (e) { replace(box, el("p", { class: "status", "data-kind": "error", text: humanMessage(e) })); }
  })();
}

async function take(order, pair) {
  await act("Taking", async () => {
    const w = needWallet();
    const body = { taker: w.address, deadline: deadline() };
    if (pair.settlement === "on_chain") {
      // The taker gives the other side: QUOTE for a sell order, BASE for a buy order.
      body.deposit_tx = order.side === "sell"
        ? await deposit(pair.quote, toUnits(order.quote_total, pair.quote_decimals))
        : await deposit(pair.base, toUnits(order.amount, pair.base_decimals));
    }
    const res = await postWhenConfirmed(`/v1/orders/${order.id}/match`, await w.signAction("match_order", body, order.id));
    window.location.assign(`${base}/otc?order=${encodeURIComponent(res.id || order.id)}`);
  });
}

async function cancel(id) {
  await act("Cancelling", async () => {
    const w = needWallet();
    await post(`/v1/orders/${id}/cancel`, await w.signAction("cancel_order", { maker: w.address, deadline: deadline() }, id));
    window.location.assign(`${base}/otc?order=${encodeURIComponent(id)}`);
  });
}

function createForm(pairSelect) {
  const side = el("select", { id: "o-side" });
  const amount = el("input", { id: "o-amount", inputmode: "decimal" });
  const price = el("input", { id: "o-price", inputmode: "decimal" });
  const hours = el("input", { id: "o-hours", type: "number", min: 1, max: 720, value: 24 });
  const sides = () => replace(side, (pairOf(pairSelect.value) || { sides: [] }).sides.map((s) => el("option", { value: s, text: s })));
  pairSelect.addEventListener("change", sides);
  sides();
  const form = el("form", {}, el("h2", { text: "Create an order" }),
    el("div", { class: "cols" }, field("Side", side), field("Amount (BASE)", amount)),
    el("div", { class: "cols" }, field("Price (QUOTE per BASE)", price), field("Valid for (hours)", hours)),
    el("p", { class: "hint", text: "Your wallet first sends your side to the escrow; the order is placed once that deposit is confirmed." }),
    el("button", { type: "submit", text: "Deposit and place order" }));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    act("Placing", async () => {
      const w = needWallet();
      const pair = pairOf(pairSelect.value);
      const baseUnits = toUnits(amount.value.trim(), pair.base_decimals);
      const priceUnits = toUnits(price.value.trim(), pair.quote_decimals);
      const scale = 10n ** BigInt(pair.base_decimals);
      const tx = side.value === "sell"
        ? await deposit(pair.base, baseUnits)
        : await deposit(pair.quote, (baseUnits * priceUnits + scale - 1n) / scale);
      const body = { maker: w.address, pair: pair.pair, side: side.value, amount: amount.value.trim(), price: price.value.trim(),
        ttl_seconds: Number(hours.value) * 3600, deposit_tx: tx, deadline: deadline() };
      const order = await postWhenConfirmed("/v1/orders", await w.signAction("create_order", body));
      window.location.assign(`${base}/otc?order=${encodeURIComponent(order.id)}`);
    });
  });
  return el("section", { class: "panel" }, form);
}

// The order page polls its order every 3 s with one timer. It is drawn again only when the order
// (or the connected wallet) changed, so a seller typing the buyer's lock is not wiped by a poll.
const orderPage = { seq: 0, timer: null, drawn: "", ref: "" };
const POLL_MS = 3000;
const FINAL_STATUSES = ["completed", "cancelled", "expired"];

async function orderView(box, id) {
  clearTimeout(orderPage.timer);
  const mine = ++orderPage.seq; // a later call (a wallet connecting) owns the poll from here
  const again = () => { if (mine === orderPage.seq && box.isConnected) orderPage.timer = setTimeout(() => orderView(box, id), POLL_MS); };
  let o;
  try { o = await get(`/v1/orders/${encodeURIComponent(id)}`); } catch (e) {
    if (mine !== orderPage.seq) return;
    if (e.status === 404 || !orderPage.drawn) { orderPage.drawn = ""; replace(box, el("p", { class: "status", "data-kind": "error", text: humanMessage(e) })); }
    if (e.status !== 404) again(); // a passing failure must not stop the watch
    return;
  }
  if (mine !== orderPage.seq) return;
  const key = JSON.stringify([o, wallet && wallet.address]);
  if (key !== orderPage.drawn) { orderPage.drawn = key; drawOrder(box, id, o); }
  if (!FINAL_STATUSES.includes(o.status)) again();
}

function drawOrder(box, id, o) {
  const isSeller = wallet && same(o.seller || (o.side === "sell" ? o.maker : o.taker), wallet.address);
  const ref = el("input", { id: "quote-ref", autocomplete: "off", placeholder: "btc:<txid>:<vout>", value: orderPage.ref,
    oninput: () => { orderPage.ref = ref.value; } });
  // Kept across re-draws (a wallet connecting draws the order again).
  const secretBox = el("p", { id: "secret", class: "mono", text: revealed[o.id] || "" });
  const row = (k, v) => [el("dt", { text: k }), el("dd", { class: "mono", text: v ?? "—" })];
  const actions = [];
  if (o.settlement === "hash_lock" && isSeller && o.status === "matched") {
    const confirm = el("form", {}, field("The buyer's lock on the other chain", ref, "Check it there first: it must lock the price under the secret hash above."),
      el("button", { type: "submit", text: "Confirm and release" }));
    confirm.addEventListener("submit", (e) => {
      e.preventDefault();
      act("Confirming", async () => {
        await post(`/v1/orders/${o.id}/confirm`, await wallet.signAction("confirm_order", { seller: wallet.address, quote_reference: ref.value.trim(), deadline: deadline() }, o.id));
        say(message, "Confirmed: the tokens are on their way to the buyer.", "ok");
        orderView(box, id);
      });
    });
    actions.push(confirm);
  }
  if (o.settlement === "hash_lock" && isSeller && o.status === "completed") {
    actions.push(el("button", { type: "button", text: "Read the secret",
      onclick: () => act("Reading", async () => {
        // The secret is released once the BASE payout is final: sign once, then ask again with
        // the same signed body until it is (a few blocks), instead of leaving the seller to retry.
        const body = await wallet.signAction("read_secret", { seller: wallet.address, deadline: deadline() }, o.id);
        let res;
        for (let tries = 0; ; tries += 1) {
          try { res = await post(`/v1/orders/${o.id}/secret`, body); break; } catch (err) {
            if (err.code !== "secret_not_released" || tries >= 60) throw err;
            say(message, "Waiting until the payout is final on chain…");
            await new Promise((resolve) => setTimeout(resolve, 2000));
          }
        }
        revealed[o.id] = res.secret;
        // The view may have been re-rendered while waiting: fill the box that is on the page now.
        (document.getElementById("secret") || secretBox).textContent = res.secret;
        say(message, "Use this secret to claim the buyer's lock on the other chain.", "ok");
      }) }), secretBox);
  }
  if (wallet && same(o.maker, wallet.address) && o.status === "open") {
    actions.push(el("button", { type: "button", class: "secondary", text: "Cancel order", onclick: () => cancel(o.id) }));
  }
  replace(box, el("section", { class: "panel" }, el("h2", { text: `Order ${o.id}` }),
    el("p", {}, el("span", { class: `badge ${o.status}`, id: "order-status", text: o.status }), ` ${o.side} ${o.amount} at ${o.price} on ${o.pair}`),
    el("dl", { class: "facts" }, row("Maker", o.maker), row("Taker", o.taker), row("Total", o.quote_total), row("Expires", whenText(o.expires_at)),
      row("Secret hash", o.secret_hash), row("Settle by", o.settle_by ? whenText(o.settle_by) : null), row("Trade", o.trade_id)),
    actions));
}

async function main() {
  const root = $("#app");
  const walletBox = el("div", { class: "row" });
  const params = new URLSearchParams(window.location.search);
  const orderId = params.get("order");
  const box = el("div", { id: "book", "aria-live": "polite" });
  let pairSelect = null;
  const rerender = () => (orderId ? orderView(box, orderId) : bookView(box, pairSelect.value));
  replace(root, el("section", { class: "panel" }, el("h2", { text: "Your wallet" }), walletBox), message);
  walletPanel(walletBox, (w) => { wallet = w; rerender(); });
  pairs = (await info()).pairs || [];
  if (orderId) { root.append(box, el("p", {}, el("a", { href: `${base}/otc`, text: "Back to the order book" }))); rerender(); return; }
  pairSelect = el("select", { id: "pair" }, pairs.map((p) => el("option", { value: p.pair, text: `${p.pair} (${p.settlement === "on_chain" ? "on chain" : "external, hash lock"})` })));
  pairSelect.addEventListener("change", rerender);
  root.append(el("section", { class: "panel" }, field("Pair", pairSelect), box), createForm(pairSelect));
  rerender();
}

main();
