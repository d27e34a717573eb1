// Organizer console: events, codes, CSV, a printable QR sheet, counts, the kill switch, and the
// claims that need a human. The admin token lives in this tab's sessionStorage only.
import { adminToken, get, humanMessage, post, setAdminToken } from "./api.js";
import { $, el, field, replace, say, table, whenText } from "./dom.js";

const admin = { admin: true };


const app = $("#app");
const message = el("p", { class: "status", role: "alert" });

function signIn() {
  const token = el("input", { id: "token", type: "password", autocomplete: "off" });
  const form = el("form", {}, field("Organizer token", token, "Kept in this tab only; it is sent to admin routes and nowhere else."),
    el("button", { type: "submit", text: "Sign in" }));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    setAdminToken(token.value.trim());
    try {
      await get("/v1/admin/claims?status=needs_attention&limit=1", admin);
      say(message, "");
      console_();
    } catch (err) {
      setAdminToken("");
      say(message, humanMessage(err), "error");
    }
  });
  replace(app, el("section", { class: "panel" }, form), message);
}

function console_() {
  const eventBox = el("div", { id: "event" });
  const attention = el("section", { class: "panel", id: "attention" });
  const signOut = el("button", { type: "button", class: "secondary", text: "Sign out", onclick: () => { setAdminToken(""); signIn(); } });
  replace(app, el("div", { class: "row no-print" }, signOut), message, createForm(eventBox), openForm(eventBox), eventBox, attention);
  needsAttention(attention);
}

function createForm(eventBox) {
  const name = el("input", { id: "ev-name", maxlength: 100, required: true });
  const amount = el("input", { id: "ev-amount", inputmode: "decimal", required: true });
  const expires = el("input", { id: "ev-expires", type: "datetime-local", required: true });
  const perWallet = el("input", { id: "ev-per-wallet", type: "number", min: 1, max: 1000, value: 1 });
  const d = new Date(Date.now() + 7 * 86400e3);
  expires.value = new Date(d.getTime() - d.getTimezoneOffset() * 60e3).toISOString().slice(0, 16);
  const form = el("form", {}, el("h2", { text: "Create an event" }),
    el("div", { class: "cols" }, field("Event name", name), field("Amount per code", amount, "In tokens, e.g. 25")),
    el("div", { class: "cols" }, field("Codes expire at", expires, "Your local time"), field("Claims per wallet", perWallet)),
    el("button", { type: "submit", text: "Create event" }));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const ev = await post("/v1/events", {
        name: name.value, amount: amount.value.trim(),
        expires_at: new Date(expires.value).toISOString(), max_claims_per_wallet: Number(perWallet.value || 1),
      }, admin);
      await showEvent(eventBox, ev.id);
      say(message, `Event created: ${ev.id}`, "ok");
    } catch (err) {
      say(message, humanMessage(err), "error");
    }
  });
  return el("section", { class: "panel" }, form);
}

function openForm(eventBox) {
  const id = el("input", { id: "ev-id", autocomplete: "off", placeholder: "ev_…" });
  const list = el("div", { id: "events" }, el("p", { class: "hint", text: "Loading your events…" }));
  const form = el("form", {}, el("h2", { text: "Your events" }), list,
    field("Open an event by id", id), el("button", { type: "submit", class: "secondary", text: "Open" }));
  form.addEventListener("submit", (e) => { e.preventDefault(); if (id.value.trim()) showEvent(eventBox, id.value.trim()); });
  get("/v1/events?limit=20", admin).then((page) => {
    replace(list, page.events.length ? table(["event", "status", "per code", "claimed / total", ""], page.events.map((ev) => [
      ev.name, el("span", { class: `badge ${ev.status}`, text: ev.status }), `${ev.amount} ${ev.asset}`,
      `${ev.counts.paid + ev.counts.claimed} / ${ev.counts.total}`,
      el("button", { type: "button", class: "secondary", text: "Open", "aria-label": `Open ${ev.id}`, onclick: () => showEvent(eventBox, ev.id) })]))
      : el("p", { text: "No events yet." }));
  }).catch((err) => replace(list, el("p", { class: "status", "data-kind": "error", text: humanMessage(err) })));
  return el("section", { class: "panel no-print" }, form);
}

async function showEvent(box, id) {
  let ev;
  try { ev = await get(`/v1/events/${encodeURIComponent(id)}`, admin); } catch (err) { say(message, humanMessage(err), "error"); return; }
  const c = ev.counts;
  const counts = table(["available", "claimed", "paid", "needs attention", "revoked", "expired", "total"],
    [[c.available, c.claimed, c.paid, c.needs_attention, c.revoked, c.expired, c.total].map(String)]);
  const count = el("input", { id: "code-count", type: "number", min: 1, max: 500, value: 10 });
  const prefix = el("input", { id: "code-prefix", maxlength: 16, placeholder: "optional" });
  const codesForm = el("form", { class: "no-print" }, el("div", { class: "cols" }, field("How many codes", count), field("Code prefix", prefix)),
    el("button", { type: "submit", text: "Create codes" }));
  const sheet = el("section", { class: "panel print", id: "sheet", hidden: true });
  codesForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const body = { count: Number(count.value) };
      if (prefix.value.trim()) body.prefix = prefix.value.trim();
      const made = await post(`/v1/events/${ev.id}/codes`, body, admin);
      await showEvent(box, ev.id); // the counts and buttons first, then the news
      say(message, `${made.count} codes created.`, "ok");
    } catch (err) { say(message, humanMessage(err), "error"); }
  });
  const disable = ev.status === "disabled"
    ? el("button", { type: "button", class: "secondary", text: "Re-enable event",
      onclick: async () => {
        try { await post(`/v1/events/${ev.id}/enable`, { by: "organizer console" }, admin); await showEvent(box, ev.id); say(message, "Event enabled again.", "ok"); } catch (err) { say(message, humanMessage(err), "error"); }
      } })
    : el("button", { type: "button", class: "secondary", text: "Disable event", disabled: ev.status !== "active",
      onclick: async () => {
        if (!window.confirm(`Disable ${ev.name}? Its codes can no longer be claimed.`)) return;
        try { await post(`/v1/events/${ev.id}/disable`, { by: "organizer console" }, admin); await showEvent(box, ev.id); say(message, "Event disabled.", "ok"); } catch (err) { say(message, humanMessage(err), "error"); }
      } });
  const csv = el("button", { type: "button", class: "secondary", text: "Download codes (CSV)", onclick: () => downloadCsv(ev) });
  const qr = el("button", { type: "button", text: "QR sheet", onclick: () => qrSheet(sheet, ev) });
  replace(box, el("section", { class: "panel no-print" },
    el("h2", {}, "Event: ", el("span", { id: "event-name", text: ev.name })),
    el("p", {}, el("span", { class: `badge ${ev.status}`, text: ev.status }), ` ${ev.amount} ${ev.asset} per code, until ${whenText(ev.expires_at)} · `, el("span", { class: "mono", text: ev.id })),
    counts, codesForm, el("div", { class: "row" }, qr, csv, disable)), sheet);
}

async function allCodes(id) {
  const codes = [];
  let next = null;
  do {
    const page = await get(`/v1/events/${encodeURIComponent(id)}/codes${next ? `?next=${encodeURIComponent(next)}` : ""}`, admin);
    codes.push(...page.codes);
    next = page.next;
  } while (next);
  return codes;
}

function csvCell(v) {
  const s = v === null || v === undefined ? "" : String(v);
  // Quote every cell, and defuse spreadsheet formulas.
  return `"${(/^[=+\-@]/.test(s) ? `'${s}` : s).replace(/"/g, '""')}"`;
}

async function downloadCsv(ev) {
  try {
    const codes = await allCodes(ev.id);
    const lines = [["code", "state", "claim_url", "wallet"], ...codes.map((c) => [c.code, c.state, `${window.location.origin}${window.location.pathname.replace(/\/organizer$/, "")}/claim/${c.code}`, c.wallet])];
    const blob = new Blob([lines.map((l) => l.map(csvCell).join(",")).join("\n") + "\n"], { type: "text/csv" });
    const a = el("a", { href: URL.createObjectURL(blob), download: `${ev.id}-codes.csv` });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (err) { say(message, humanMessage(err), "error"); }
}

async function qrSheet(sheet, ev) {
  const figures = [];
  let next = null;
  try {
    do {
      const page = await get(`/organizer/events/${encodeURIComponent(ev.id)}/qr${next ? `?next=${encodeURIComponent(next)}` : ""}`, admin);
      for (const item of page.items.filter((i) => i.state === "available")) {
        figures.push(el("figure", {},
          el("img", { src: item.qr, alt: `QR code for ${item.claim_url}`, width: 220, height: 220 }),
          el("figcaption", {}, el("strong", { text: ev.name }), el("br"), `${ev.amount} ${ev.asset}`, el("br"), item.code)));
      }
      next = page.next;
    } while (next);
  } catch (err) { say(message, humanMessage(err), "error"); return; }
  replace(sheet, el("div", { class: "row no-print" }, el("h2", { text: `QR sheet: ${figures.length} unclaimed codes` }),
    el("button", { type: "button", text: "Print", onclick: () => window.print() })),
    el("p", { class: "hint", text: "Each code opens its claim page when scanned." }),
    el("div", { class: "sheet" }, figures));
  sheet.hidden = false;
  sheet.scrollIntoView();
}

async function needsAttention(box) {
  let page;
  try { page = await get("/v1/admin/claims?status=needs_attention", admin); } catch (err) { replace(box, el("p", { text: humanMessage(err) })); return; }
  const claims = page.claims || page.items || [];
  const resolve = (code, outcome) => async () => {
    try { await post(`/v1/admin/claims/${encodeURIComponent(code)}/resolve`, { outcome, by: "organizer console" }, admin); needsAttention(box); } catch (err) { say(message, humanMessage(err), "error"); }
  };
  replace(box, el("h2", { text: "Claims that need attention" }),
    claims.length ? table(["code", "wallet", "amount", "since", "decide"], claims.map((c) => [
      c.code, el("span", { class: "mono", text: c.wallet }), `${c.amount} ${c.asset}`, whenText(c.claimed_at),
      el("div", { class: "row" },
        el("button", { type: "button", class: "secondary", text: "Mark paid", "aria-label": `Mark ${c.code} paid`, onclick: resolve(c.code, "paid") }),
        el("button", { type: "button", class: "secondary", text: "Release", "aria-label": `Release ${c.code}`, onclick: resolve(c.code, "release") }))]))
      : el("p", { text: "None: every claim is paid or on its way." }));
}

if (adminToken()) console_(); else signIn();
