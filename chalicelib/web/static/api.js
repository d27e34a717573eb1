// The one module that talks to the Settlekit API and turns its error shape into plain words.
const meta = document.querySelector('meta[name="settlekit-config"]');
export const config = meta ? JSON.parse(meta.getAttribute("content")) : { base: "", rpc_urls: [] };
export const base = config.base || "";

const ADMIN_KEY = "settlekit.adminToken";

// What a person should read for each error code; anything else falls back to the server's text.
const MESSAGES = {
  already_claimed: "This code has already been claimed by another wallet.",
  code_expired: "This code has expired and can no longer be claimed.",
  revoked: "This code was cancelled by the organizer.",
  event_disabled: "The organizer has paused this event: its codes cannot be claimed now.",
  event_expired: "This event has ended.",
  events_disabled: "Claim codes are switched off on this service.",
  invalid_code: "We do not know this code. Check it for typos.",
  invalid_code_format: "A code is made of letters, digits, '-' and '_' only.",
  claim_not_found: "This code has not been claimed yet.",
  too_many_invalid_codes: "Too many unknown codes were tried from your network. Wait a while and try again.",
  wallet_claim_limit: "This wallet has already claimed as many codes of this event as allowed.",
  claim_conflict: "Someone else was claiming this code at the same moment. Try again.",
  drip_rate_limited: "You have had your drip for now.",
  invalid_address: "That is not a wallet address (0x followed by 40 hexadecimal digits).",
  invalid_checksum: "That address has a typo: its upper/lower case letters do not match its checksum.",
  wallet_blocked: "This wallet cannot receive payouts from this faucet.",
  wallet_not_allowed: "This wallet is not on the faucet's list.",
  admin_token_missing: "Enter the organizer token first.",
  admin_token_invalid: "The organizer token is not valid.",
  signature_expired: "The signature expired before it reached the service. Try again.",
  signer_mismatch: "The wallet that signed is not the one named in the request.",
  user_rejected: "You declined the request in your wallet.",
  network_error: "The service could not be reached. Check your connection and try again.",
};

export class ApiError extends Error {
  constructor(status, code, message, details, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }
}

function whenText(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function humanMessage(err) {
  if (!(err instanceof ApiError)) {
    if (err && err.code === 4001) return MESSAGES.user_rejected;
    return (err && err.message) || "Something went wrong.";
  }
  let text = MESSAGES[err.code] || err.message || "Something went wrong.";
  const next = err.details && err.details.next_available_at;
  if (next) text += ` Next one allowed at ${whenText(next)}.`;
  else if (err.status === 429 && err.retryAfter) text += ` Try again in ${err.retryAfter} s.`;
  if (err.status >= 500 && !MESSAGES[err.code]) text = "The service is having trouble. Try again in a moment.";
  return text;
}

export function adminToken() {
  return sessionStorage.getItem(ADMIN_KEY) || "";
}

export function setAdminToken(token) {
  if (token) sessionStorage.setItem(ADMIN_KEY, token);
  else sessionStorage.removeItem(ADMIN_KEY);
}

// `admin: true` is the only way the token leaves the tab: it goes to admin routes alone.
export async function request(path, { method = "GET", body, admin = false, accept } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (admin) headers.Authorization = `Bearer ${adminToken()}`;
  if (accept) headers.Accept = accept;
  let res;
  try {
    res = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch (e) {
    throw new ApiError(0, "network_error", MESSAGES.network_error);
  }
  const type = res.headers.get("content-type") || "";
  if (!res.ok) {
    let data = {};
    if (type.includes("json")) data = await res.json().catch(() => ({}));
    throw new ApiError(res.status, data.error || `http_${res.status}`, data.message || res.statusText,
      data.details, res.headers.get("retry-after"));
  }
  if (type.includes("json")) return { status: res.status, data: await res.json() };
  return { status: res.status, data: await res.text(), type };
}

export async function get(path, opts) {
  return (await request(path, opts)).data;
}

export async function post(path, body, opts = {}) {
  return (await request(path, { ...opts, method: "POST", body })).data;
}

// The service may see the chain a block behind the wallet's node: a refused "not confirmed yet"
// does not use the signature up, so the same signed body is sent again a moment later.
export async function postWhenConfirmed(path, body, tries = 15) {
  for (let i = 1; ; i++) {
    try {
      return await post(path, body);
    } catch (e) {
      if (e.code !== "tx_not_confirmed" || i >= tries) throw e;
      await new Promise((ok) => setTimeout(ok, 1000));
    }
  }
}

let infoPromise;
export function info() {
  infoPromise = infoPromise || get("/v1/info");
  return infoPromise;
}

export function explorerLink(txHash) {
  if (!config.explorer_tx_url || !/^0x[0-9a-fA-F]{64}$/.test(txHash || "")) return null;
  return config.explorer_tx_url.replace("{tx}", txHash);
}
