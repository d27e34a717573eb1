# pragma version 0.4.3
"""
@title AnchorRegistry
@notice Append-only chain of Merkle roots. Each batch commits to the previous
        root, so a gap or fork in the off-chain log is rejected on chain.
@dev Gas: `submitter` is an immutable (lives in code, no SLOAD), so a
     steady-state anchor touches exactly two warm-able slots (seq, root):
     2 x (2100 cold read + 2900 rewrite) instead of three cold slots.
"""

event Anchored:
    batch_seq: indexed(uint256)
    root: indexed(bytes32)
    tree_size: uint256
    prev: bytes32

submitter: public(immutable(address))
last_seq: public(uint256)
last_root: public(bytes32)


@deploy
def __init__(_submitter: address):
    submitter = _submitter


@external
def anchor(batch_seq: uint256, prev: bytes32, root: bytes32, tree_size: uint256):
    assert msg.sender == submitter, "only submitter"
    assert batch_seq == self.last_seq + 1, "bad batch_seq"
    # Zero-initialised storage makes the genesis prev 32 zero bytes for free.
    assert prev == self.last_root, "bad prev"
    self.last_seq = batch_seq
    self.last_root = root
    log Anchored(batch_seq=batch_seq, root=root, tree_size=tree_size, prev=prev)
