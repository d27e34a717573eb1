"""Anchoring: apps post message hashes, batches of them are anchored on chain as Merkle roots,
and every message gets a receipt anyone can verify with a JSON-RPC endpoint alone."""
