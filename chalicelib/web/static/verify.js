// The receipt verifier of chalicelib/anchoring/verify.py, in the browser: the same checks in the
// same order, and the same verdicts ("valid" or "invalid: <reason>"). Nothing the service says is
// trusted: only the receipt and the JSON-RPC endpoint the user chose.
import { fromHex, keccak256, toHex } from "./keccak.js";

export const DEFAULT_CONFIRMATIONS = 2;
const RECEIPT_VERSIONS = [1, 2];
const SEQ_TEXT_RE = /^(0|[1-9][0-9]{0,77})$/;
const CHAIN_RE = /^eip155:([1-9][0-9]{0,15})$/;
const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;
const MAX_SEQ = (1n << 64n) - 1n;
const enc = new TextEncoder();
// keccak256("Anchored(uint256,bytes32,uint256,bytes32)"), computed at load.
export const ANCHORED_TOPIC = toHex(keccak256(enc.encode("Anchored(uint256,bytes32,uint256,bytes32)")));

class Invalid extends Error {}
class RpcError extends Error {}

const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

function get(obj, name, kind) {
  const value = isObj(obj) ? obj[name] : undefined;
  const ok = kind === "int" ? Number.isInteger(value) : kind === "list" ? Array.isArray(value)
    : kind === "dict" ? isObj(value) : typeof value === kind;
  if (!ok) throw new Invalid(`malformed receipt: ${name} is missing or has the wrong type`);
  return value;
}

function h32(obj, name) {
  const value = get(obj, name, "string");
  if (value.length !== 66 || !value.startsWith("0x") || /[^0-9a-fA-F]/.test(value.slice(2))) {
    throw new Invalid(`malformed receipt: ${name} must be 0x followed by 64 hex digits`);
  }
  return fromHex(value);
}

// Receipt v2 carries seqs as decimal text (exact beyond 2**53); both forms are read.
function uint(obj, name, minimum = 0, text = false) {
  let value = isObj(obj) ? obj[name] : undefined;
  if (text && typeof value === "string") {
    if (!SEQ_TEXT_RE.test(value)) throw new Invalid(`malformed receipt: ${name} must be a decimal integer`);
    value = Number(value);
  } else {
    value = get(obj, name, "int");
  }
  if (value < minimum || !Number.isSafeInteger(value)) throw new Invalid(`malformed receipt: ${name} is out of range`);
  return value;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}

function beBytes(value, size) {
  let v = BigInt(value);
  const out = new Uint8Array(size);
  for (let i = size - 1; i >= 0; i--) { out[i] = Number(v & 0xffn); v >>= 8n; }
  return out;
}

const lp = (part) => concat(beBytes(part.length, 4), part);
const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

export function leafHash(fields) {
  const texts = ["message_id", "conversation_id", "sender", "sent_at"].map((name) => {
    if (typeof fields[name] !== "string") throw new Invalid(`malformed receipt: leaf fields: ${name} must be a string`);
    return enc.encode(fields[name]);
  });
  const seq = fields.seq;
  if (!Number.isInteger(seq) || seq < 0 || BigInt(seq) > MAX_SEQ) {
    throw new Invalid("malformed receipt: leaf fields: seq must be an integer from 0 to 2**64 - 1");
  }
  const c = fields.content_hash;
  if (typeof c !== "string" || c.length !== 66 || !c.startsWith("0x") || /[^0-9a-fA-F]/.test(c.slice(2))) {
    throw new Invalid("malformed receipt: leaf fields: content_hash must be 0x followed by 64 hex digits");
  }
  const parts = [...texts, beBytes(seq, 8), fromHex(c)];
  return keccak256(concat(Uint8Array.of(0), enc.encode("settlekit-leaf-v1"), ...parts.map(lp)));
}

const node = (left, right) => keccak256(concat(Uint8Array.of(1), left, right));

// RFC 9162 section 2.1.3.2, as merkle.root_from_path.
export function rootFromPath(leaf, index, size, path) {
  if (!(index >= 0 && index < size)) return null;
  let fn = index; let sn = size - 1; let r = leaf;
  for (const p of path) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = node(p, r);
      while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = node(r, p);
    }
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

export function batchRoot(chainId, contract, seq, prev, size, treeRoot) {
  return keccak256(concat(Uint8Array.of(2), enc.encode("settlekit-batch-v1"), beBytes(chainId, 32),
    fromHex(contract), beBytes(seq, 32), prev, beBytes(size, 32), treeRoot));
}

export function checkProof(receipt, contract, chainId) {
  if (!RECEIPT_VERSIONS.includes(get(receipt, "version", "int"))) {
    throw new Invalid(`unsupported receipt version (this verifier reads (${RECEIPT_VERSIONS.join(", ")}))`);
  }
  const leaf = get(receipt, "leaf", "dict"); const batch = get(receipt, "batch", "dict"); const anchor = get(receipt, "anchor", "dict");
  const fields = { ...get(leaf, "fields", "dict") };
  if (typeof fields.seq === "string") fields.seq = uint(fields, "seq", 0, true);
  const computed = leafHash(fields);
  if (!equal(computed, h32(leaf, "hash"))) throw new Invalid("the leaf hash does not match the record's fields");
  const index = uint(receipt, "index"); const size = uint(receipt, "tree_size", 1);
  const path = get(receipt, "path", "list").map((p) => h32({ path: p }, "path"));
  const implied = rootFromPath(computed, index, size, path);
  if (implied === null) throw new Invalid("the audit path does not fit this index and tree size");
  const treeRoot = h32(batch, "tree_root");
  if (!equal(implied, treeRoot)) throw new Invalid("the audit path does not lead to the batch's tree root");
  const match = CHAIN_RE.exec(get(anchor, "chain", "string"));
  if (!match) throw new Invalid("malformed receipt: anchor.chain must look like eip155:<chain id>");
  const receiptChain = Number(match[1]);
  const receiptContract = get(anchor, "contract", "string");
  if (!ADDRESS_RE.test(receiptContract)) throw new Invalid("malformed receipt: anchor.contract must be a 20-byte hex address");
  if (chainId !== undefined && chainId !== null && receiptChain !== chainId) {
    throw new Invalid(`the receipt is for chain ${receiptChain}, not the pinned chain ${chainId}`);
  }
  if (contract && receiptContract.toLowerCase() !== contract.toLowerCase()) {
    throw new Invalid(`the receipt names contract ${receiptContract}, not the pinned registry ${contract}`);
  }
  const expected = batchRoot(receiptChain, receiptContract, uint(batch, "seq", 1, true), h32(batch, "prev"), size, treeRoot);
  if (!equal(expected, h32(batch, "root"))) {
    throw new Invalid("the batch root does not match its chain, contract, seq, prev, size and tree root");
  }
}

export function jsonRpc(url) {
  return async (method, params) => {
    let answer;
    try {
      const res = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }), credentials: "omit", cache: "no-store" });
      answer = await res.json();
    } catch (e) {
      throw new RpcError(`${method} failed: ${e.message}`);
    }
    if (answer.error) throw new RpcError(`${method} failed: ${JSON.stringify(answer.error)}`);
    return answer.result;
  };
}

const int = (v) => Number(BigInt(v));
const word = (n) => toHex(beBytes(n, 32));

// Returns the anchor's block timestamp (seconds) for display.
export async function checkChain(receipt, rpc, minConfirmations) {
  const { anchor, batch } = receipt;
  const chain = Number(anchor.chain.split(":")[1]);
  const contract = anchor.contract.toLowerCase();
  const served = int(await rpc("eth_chainId", []));
  if (served !== chain) throw new Invalid(`the RPC endpoint serves chain ${served}, the receipt is for chain ${chain}`);
  const txHash = toHex(h32(anchor, "tx_hash"));
  const blockNumber = uint(anchor, "block_number");
  const blockHash = toHex(h32(anchor, "block_hash"));
  const logIndex = uint(anchor, "log_index");
  const tx = await rpc("eth_getTransactionReceipt", [txHash]);
  if (!tx || tx.blockNumber === null || tx.blockNumber === undefined) {
    throw new Invalid("the anchor transaction is not on this chain (never mined, or re-organised)");
  }
  if (int(tx.status || "0x0") !== 1) throw new Invalid("the anchor transaction reverted (status 0)");
  if (int(tx.blockNumber) !== blockNumber || String(tx.blockHash || "").toLowerCase() !== blockHash) {
    throw new Invalid("the anchor transaction is not in the receipt's block (re-organised?)");
  }
  const log = (tx.logs || []).find((x) => int(x.logIndex ?? -1) === logIndex);
  if (!log) throw new Invalid(`the anchor transaction has no log at index ${logIndex}`);
  if (String(log.address || "").toLowerCase() !== contract) {
    throw new Invalid(`the log at index ${logIndex} was not emitted by the registry ${contract}`);
  }
  if (log.removed) throw new Invalid("the log was removed by a re-organisation");
  const topics = (log.topics || []).map((t) => String(t).toLowerCase());
  const wanted = [ANCHORED_TOPIC, word(uint(batch, "seq", 1, true)), batch.root.toLowerCase()];
  if (topics.length !== 3 || topics.some((t, i) => t !== wanted[i])) throw new Invalid("the log is not Anchored(seq, root) of this batch");
  const data = String(log.data || "0x").toLowerCase();
  if (data !== (word(receipt.tree_size) + toHex(h32(batch, "prev")).slice(2)).toLowerCase()) {
    throw new Invalid("the log's tree size or prev differ from the receipt");
  }
  const depth = int(await rpc("eth_blockNumber", [])) - blockNumber;
  if (depth < minConfirmations) throw new Invalid(`only ${Math.max(depth, 0)} confirmations, ${minConfirmations} required`);
  const block = (await rpc("eth_getBlockByNumber", [`0x${blockNumber.toString(16)}`, false])) || {};
  if (String(block.hash || "").toLowerCase() !== blockHash) throw new Invalid("the receipt's block is no longer on this chain (re-organised?)");
  return int(block.timestamp);
}

// {verdict, blockTime}: the headline of verify.verify() — "valid" when both the registry and the
// chain id are pinned, "valid (unpinned): …" otherwise, "invalid: …", "could not check: …".
export async function verify(receipt, rpc, { contract, chainId, minConfirmations = DEFAULT_CONFIRMATIONS } = {}) {
  const pinned = contract !== undefined && chainId !== undefined;
  try {
    checkProof(receipt, contract, chainId);
    const blockTime = await checkChain(receipt, rpc, minConfirmations);
    if (!pinned) {
      const a = receipt.anchor;
      return { verdict: `valid (unpinned): proven against the registry ${a.contract} on ${a.chain} that the receipt names; pin the operator's with --contract and --chain-id, or --trust`, blockTime };
    }
    return { verdict: "valid", blockTime };
  } catch (e) {
    if (e instanceof Invalid) return { verdict: `invalid: ${e.message}`, blockTime: null };
    return { verdict: `could not check: the RPC endpoint failed: ${e.message}`, blockTime: null };
  }
}

// The tree root of a batch's leaves (RFC 9162 shape: an odd node is carried up unchanged).
export function treeRoot(leaves) {
  let level = leaves.map(fromHex);
  while (level.length > 1) {
    const up = [];
    for (let i = 0; i + 1 < level.length; i += 2) up.push(node(level[i], level[i + 1]));
    if (level.length % 2) up.push(level[level.length - 1]);
    level = up;
  }
  return toHex(level[0]);
}
