"""Prepare a fresh local chain: deploy the test token, fund each wallet for its purpose and the
node's accounts.

Uses the node's unlocked, pre-funded account #0 as deployer and minter, so no key is needed.
Each wallet gets what its purpose spends: the faucet native coins and tokens to hand out, the
anchor wallet gas, and the escrow wallet gas only (its tokens are the traders' deposits).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TOKEN_NAME = "Settlekit Test Token"
TOKEN_SYMBOL = "SKT"
TOKEN_DECIMALS = 18
# Enough for a long local session: 1,000 native coins and 1,000,000 tokens for the hot wallet,
# and 10,000 tokens for each of the node's ten well-known accounts.
HOT_WALLET_NATIVE = 1_000 * 10**18
HOT_WALLET_TOKENS = 1_000_000 * 10**TOKEN_DECIMALS
ACCOUNT_TOKENS = 10_000 * 10**TOKEN_DECIMALS
USER_ACCOUNTS = 10
# Gas for the escrow and anchor wallets: thousands of local transactions.
GAS_ONLY_NATIVE = 100 * 10**18


@dataclass(frozen=True)
class LocalChain:
    token_address: str
    deployer: str
    accounts: list[str]
    anchor_registry: str = ""  # AnchorRegistry whose submitter is the hot wallet


def artifact(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "contracts" / "build" / f"{name}.json").read_text())
    return data


def deploy(w3: Any, name: str, *args: Any, sender: str | None = None) -> str:
    art = artifact(name)
    contract = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    tx = contract.constructor(*args).transact({"from": sender or w3.eth.accounts[0]})
    receipt = w3.eth.wait_for_transaction_receipt(tx, timeout=30)
    if receipt["status"] != 1:
        raise RuntimeError(f"deploying {name} failed")
    return str(receipt["contractAddress"])


def token(w3: Any, address: str) -> Any:
    return w3.eth.contract(address=address, abi=artifact("TestToken")["abi"])


def mint(w3: Any, token_address: str, to: str, amount: int) -> None:
    tx = token(w3, token_address).functions.mint(to, amount).transact({"from": w3.eth.accounts[0]})
    w3.eth.wait_for_transaction_receipt(tx, timeout=30)


def fund_native(w3: Any, to: str, amount: int) -> None:
    tx = w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": to, "value": amount})
    w3.eth.wait_for_transaction_receipt(tx, timeout=30)


def fund_for(w3: Any, purpose: str, address: str, token_address: str) -> None:
    """What a wallet of `purpose` starts with (also a rotated-in key, local.rotation)."""
    if purpose == "faucet":
        fund_native(w3, address, HOT_WALLET_NATIVE)
        mint(w3, token_address, address, HOT_WALLET_TOKENS)
    else:
        fund_native(w3, address, GAS_ONLY_NATIVE)


def prepare(w3: Any, wallets: Mapping[str, str] | str) -> LocalChain:
    """Deploy the token and the anchor registry; fund each purpose's wallet; mint to accounts.

    `wallets` maps purpose (escrow, faucet, anchor) to address; one address stands for a single
    wallet shared by every purpose (it then gets all three fundings).
    """
    if isinstance(wallets, str):
        wallets = {"escrow": wallets, "faucet": wallets, "anchor": wallets}
    accounts = list(w3.eth.accounts[:USER_ACCOUNTS])
    token_address = deploy(w3, "TestToken", TOKEN_NAME, TOKEN_SYMBOL, TOKEN_DECIMALS)
    for purpose in ("faucet", "escrow", "anchor"):
        fund_for(w3, purpose, wallets[purpose], token_address)
    for account in accounts:
        mint(w3, token_address, account, ACCOUNT_TOKENS)
    # The service anchors message batches from its anchor wallet, the registry's only submitter.
    registry = deploy(w3, "AnchorRegistry", wallets["anchor"])
    return LocalChain(token_address, accounts[0], accounts, registry)
