# pragma version 0.4.3
"""
@title TestToken
@notice Local stand-in for the community ERC-20. Only for dev chains and tests:
        the minter can mint freely and pause all transfers, which lets tests
        force an on-chain payout to revert.
"""
from ethereum.ercs import IERC20

implements: IERC20

# Field names differ from some ERC-20 texts, but topic0 depends only on the
# types: keccak("Transfer(address,address,uint256)") etc.
event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256

name: public(String[32])
symbol: public(String[16])
decimals: public(uint8)
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
minter: public(address)
paused: public(bool)


@deploy
def __init__(name: String[32], symbol: String[16], decimals: uint8):
    self.name = name
    self.symbol = symbol
    self.decimals = decimals
    self.minter = msg.sender


@internal
def _transfer(sender: address, receiver: address, amount: uint256):
    assert not self.paused, "paused"
    assert receiver != empty(address), "zero receiver"
    # Checked explicitly for a readable reason; underflow would revert anyway.
    assert self.balanceOf[sender] >= amount, "insufficient balance"
    self.balanceOf[sender] -= amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=sender, receiver=receiver, value=amount)


@external
def transfer(_to: address, _value: uint256) -> bool:
    self._transfer(msg.sender, _to, _value)
    return True


@external
def transferFrom(_from: address, _to: address, _value: uint256) -> bool:
    assert self.allowance[_from][msg.sender] >= _value, "insufficient allowance"
    self.allowance[_from][msg.sender] -= _value
    self._transfer(_from, _to, _value)
    return True


@external
def approve(_spender: address, _value: uint256) -> bool:
    self.allowance[msg.sender][_spender] = _value
    log Approval(owner=msg.sender, spender=_spender, value=_value)
    return True


@external
def mint(to: address, amount: uint256):
    assert msg.sender == self.minter, "only minter"
    assert to != empty(address), "zero receiver"
    self.totalSupply += amount
    self.balanceOf[to] += amount
    log Transfer(sender=empty(address), receiver=to, value=amount)


@external
def set_paused(paused: bool):
    assert msg.sender == self.minter, "only minter"
    self.paused = paused
