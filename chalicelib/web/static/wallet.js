// Browser wallets through the standard interfaces: EIP-6963 discovery of every injected wallet,
// EIP-1193 requests, and a chain check against the service's /v1/info.
import { get, info } from "./api.js";
import { el, replace, say, shortHex } from "./dom.js";

const providers = new Map(); // uuid -> {info, provider}

window.addEventListener("eip6963:announceProvider", (event) => {
  const detail = event.detail;
  if (detail && detail.info && detail.provider) providers.set(detail.info.uuid, detail);
});

export function discover() {
  window.dispatchEvent(new Event("eip6963:requestProvider"));
  const found = [...providers.values()];
  // A wallet that predates EIP-6963 only sets window.ethereum.
  if (!found.length && window.ethereum) found.push({ info: { uuid: "legacy", name: "Browser wallet" }, provider: window.ethereum });
  return found;
}

const toHex = (n) => `0x${BigInt(n).toString(16)}`;

export class Wallet {
  constructor(provider, name) {
    this.provider = provider;
    this.name = name;
    this.address = null;
  }

  async connect() {
    const accounts = await this.provider.request({ method: "eth_requestAccounts" });
    this.address = accounts[0] || null;
    return this.address;
  }

  async chainId() {
    return Number(BigInt(await this.provider.request({ method: "eth_chainId" })));
  }

  async switchChain(chainId) {
    await this.provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId: toHex(chainId) }] });
  }

  // Signs `body` for a signed action with the typed data the API publishes for it.
  async signAction(action, body, pathId) {
    const td = await get(`/v1/typed-data/${action}`);
    const message = { ...(td.defaults || {}), ...body };
    if (td.path_field && pathId !== undefined) message[td.path_field] = pathId;
    const typed = { types: td.types, primaryType: td.primaryType, domain: td.domain, message };
    const signature = await this.provider.request({
      method: "eth_signTypedData_v4",
      params: [this.address, JSON.stringify(typed)],
    });
    return { ...body, signature };
  }

  async sendTransaction(tx) {
    return this.provider.request({ method: "eth_sendTransaction", params: [{ from: this.address, ...tx }] });
  }

  async receipt(hash) {
    return this.provider.request({ method: "eth_getTransactionReceipt", params: [hash] });
  }

  async blockNumber() {
    return Number(BigInt(await this.provider.request({ method: "eth_blockNumber" })));
  }

  // Resolves once the transaction has `confirmations` blocks (the including block counts 1).
  async waitForConfirmations(hash, confirmations, onProgress) {
    for (;;) {
      const r = await this.receipt(hash);
      if (r && r.blockNumber) {
        if (r.status === "0x0") throw new Error("The transaction failed on chain.");
        const depth = (await this.blockNumber()) - Number(BigInt(r.blockNumber)) + 1;
        if (onProgress) onProgress(depth);
        if (depth >= confirmations) return r;
      }
      await new Promise((ok) => setTimeout(ok, 1000));
    }
  }
}

// ERC-20 transfer(to, amount) calldata.
export function erc20TransferData(to, amount) {
  const addr = to.toLowerCase().replace(/^0x/, "").padStart(64, "0");
  return `0xa9059cbb${addr}${BigInt(amount).toString(16).padStart(64, "0")}`;
}

// Decimal string -> base units (BigInt), exact.
export function toUnits(amount, decimals) {
  const [whole, frac = ""] = String(amount).split(".");
  if (frac.length > decimals) throw new Error(`at most ${decimals} decimals`);
  return BigInt(whole || "0") * 10n ** BigInt(decimals) + BigInt((frac + "0".repeat(decimals)).slice(0, decimals) || "0");
}

// A small panel: choose a wallet, connect it, check its chain. Calls onChange(wallet|null).
export function walletPanel(container, onChange) {
  const status = el("p", { class: "status", role: "status", "aria-live": "polite" });
  let current = null;

  async function checkChain(wallet) {
    const want = (await info()).chain_id;
    const have = await wallet.chainId();
    if (have === want) {
      say(status, `Connected: ${shortHex(wallet.address)} (${wallet.name})`, "ok");
      current = wallet;
      onChange(wallet);
      return;
    }
    onChange(null);
    say(status, `Your wallet is on chain ${have}; this service uses chain ${want}.`, "error");
    const old = container.querySelector("button.switch-network");
    if (old) old.remove();
    const button = el("button", {
      type: "button", class: "switch-network", text: "Switch network",
      onclick: async () => {
        try { await wallet.switchChain(want); await checkChain(wallet); } catch (e) { say(status, e.message || "The wallet did not switch.", "error"); }
      },
    });
    container.append(button);
  }

  function render() {
    const found = discover();
    if (!found.length) {
      replace(container, el("p", { class: "hint", text: "No browser wallet found. You can still paste an address where one is asked for." }), status);
      return;
    }
    const select = el("select", { id: "wallet-choice", "aria-label": "Wallet" },
      found.map((f) => el("option", { value: f.info.uuid, text: f.info.name })));
    const button = el("button", {
      type: "button", text: "Connect wallet",
      onclick: async () => {
        const chosen = found.find((f) => f.info.uuid === select.value) || found[0];
        const wallet = new Wallet(chosen.provider, chosen.info.name);
        try {
          await wallet.connect();
          await checkChain(wallet);
        } catch (e) {
          say(status, e && e.code === 4001 ? "You declined the connection in your wallet." : (e.message || "Could not connect."), "error");
        }
      },
    });
    replace(container, found.length > 1 ? select : null, button, status);
  }
  // A wallet that already allowed this site answers eth_accounts without a prompt: reconnect
  // silently after a page load, as users expect.
  async function resume() {
    for (const f of discover()) {
      try {
        const accounts = await f.provider.request({ method: "eth_accounts" });
        if (accounts && accounts[0] && !current) {
          const wallet = new Wallet(f.provider, f.info.name);
          wallet.address = accounts[0];
          await checkChain(wallet);
          return;
        }
      } catch (e) { /* not allowed yet: the button stays */ }
    }
  }
  render();
  // Wallets announce themselves asynchronously; render again once they had the chance.
  setTimeout(() => { if (!current) { render(); resume(); } }, 300);
  return { get wallet() { return current; } };
}
