"""How deep a transaction is, counted as wallets and explorers count it.

The block that includes the transaction is confirmation 1, each block on top adds one (ethers'
`receipt.confirmations()`, Etherscan). Every place the API says "confirmations" (payouts,
payment checks, OTC deposits, anchors, the offline verifier) uses this one count.
"""

from __future__ import annotations


def count(head: int, block: int) -> int:
    """Confirmations of a transaction mined in `block` when the chain's head is `head`."""
    return max(0, head - block + 1)
