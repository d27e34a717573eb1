"""Payment verification rules on a fake chain (a Web3Chain whose reads are canned), and the
one-transaction-one-payment guard on moto. The same rules run on the real node in
tests/integration/test_bounty_payments.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.core.chain import Receipt, Web3Chain
from chalicelib.core.errors import ServiceError
from chalicelib.core.payments import (
    TRANSFER_TOPIC,
    Expected,
    ensure_tx_unused,
    normalize_tx_hash,
    raise_if_tx_used,
    tx_guard_op,
    verify_payment,
)
from chalicelib.core.store import DynamoStore, TransactionFailed
from local.processes import free_port

TX = "0x" + "ab" * 32
POSTER = "0x" + "11" * 20
WINNER = "0x" + "22" * 20
OTHER = "0x" + "33" * 20
TOKEN = "0x" + "44" * 20
OTHER_TOKEN = "0x" + "55" * 20
ACCEPTED_S = 1_790_000_000


class FakeChain(Web3Chain):
    """The chain adapter with canned answers instead of JSON-RPC calls."""

    # Mined in block 10 with the head at 11: 2 confirmations (its own block counts).
    def __init__(self, tx: dict[str, Any] | None, receipt: Receipt | None, head: int = 11,
                 mined_s: int = ACCEPTED_S) -> None:
        super().__init__("http://127.0.0.1:9", 31337)
        self.tx, self.rcpt, self.head, self.mined_s = tx, receipt, head, mined_s

    def receipt(self, tx_hash: str) -> Receipt | None:
        return self.rcpt

    def transaction(self, tx_hash: str) -> dict[str, Any] | None:
        return self.tx

    def block_number(self) -> int:
        return self.head

    def rpc(self, method: str, params: list[Any]) -> Any:
        assert method == "eth_getBlockByHash"
        return {"timestamp": hex(self.mined_s)}


def transfer(token: str, sender: str, to: str, amount: int, removed: bool = False
             ) -> dict[str, Any]:
    pad = "0x" + "00" * 12
    return {
        "address": token,
        "topics": [TRANSFER_TOPIC, pad + sender[2:], pad + to[2:]],
        "data": "0x" + amount.to_bytes(32, "big").hex(),
        "removed": removed,
    }


def chain(logs: list[dict[str, Any]] | None = None, *, to: str = TOKEN, value: int = 0,
          sender: str = POSTER, status: int = 1, **kw: Any) -> FakeChain:
    receipt = Receipt(TX, status, 10, "0x" + "cd" * 32, 50_000, logs or [])
    return FakeChain({"from": sender, "to": to, "value": value}, receipt, **kw)


def expect(asset: str = TOKEN, amount: int = 100, not_before_ms: int | None = None) -> Expected:
    return Expected(TX, POSTER, WINNER, asset, amount, not_before_ms)


def refusal(fake: FakeChain, expected: Expected) -> str:
    with pytest.raises(ServiceError) as info:
        verify_payment(fake, expected, confirmations=2)
    assert info.value.status == 422
    return info.value.code


def test_token_transfers_from_sender_to_recipient_are_summed() -> None:
    logs = [transfer(TOKEN, POSTER, WINNER, 60), transfer(TOKEN, POSTER, WINNER, 40)]
    paid = verify_payment(chain(logs), expect(amount=100), confirmations=2)
    assert (paid.amount, paid.confirmations, paid.mined_at_ms) == (100, 2, ACCEPTED_S * 1000)


def test_removed_logs_and_other_tokens_do_not_count() -> None:
    logs = [transfer(TOKEN, POSTER, WINNER, 60), transfer(TOKEN, POSTER, WINNER, 40, True),
            transfer(OTHER_TOKEN, POSTER, WINNER, 1000)]
    assert refusal(chain(logs), expect(amount=100)) == "amount_too_low"


@pytest.mark.parametrize(
    ("logs", "kw", "code"),
    [
        ([transfer(TOKEN, OTHER, WINNER, 100)], {}, "wrong_sender"),
        ([transfer(TOKEN, POSTER, WINNER, 100)], {"sender": OTHER}, "wrong_sender"),
        ([transfer(TOKEN, POSTER, OTHER, 100)], {}, "wrong_recipient"),
        ([transfer(OTHER_TOKEN, POSTER, WINNER, 100)], {}, "wrong_asset"),
        ([], {"to": WINNER, "value": 100}, "wrong_asset"),
        ([], {}, "wrong_recipient"),
        ([transfer(TOKEN, POSTER, WINNER, 100)], {"status": 0}, "tx_failed"),
        ([transfer(TOKEN, POSTER, WINNER, 100)], {"head": 10}, "tx_not_confirmed"),
    ],
)
def test_token_payment_refusals(logs: list[dict[str, Any]], kw: dict[str, Any], code: str) -> None:
    assert refusal(chain(logs, **kw), expect()) == code


def test_native_payment_is_the_transaction_value_to_the_recipient() -> None:
    assert verify_payment(chain(to=WINNER, value=100), expect("native"), 2).amount == 100
    assert refusal(chain(to=WINNER, value=99), expect("native")) == "amount_too_low"
    assert refusal(chain(to=OTHER, value=100), expect("native")) == "wrong_recipient"
    token_paid = chain([transfer(TOKEN, POSTER, WINNER, 100)])
    assert refusal(token_paid, expect("native")) == "wrong_asset"


def test_the_block_time_must_not_be_before_not_before() -> None:
    at = ACCEPTED_S * 1000
    assert verify_payment(chain(to=WINNER, value=1), expect("native", 1, at), 2)
    assert refusal(chain(to=WINNER, value=1), expect("native", 1, at + 1)) == "tx_too_old"


def test_an_unknown_or_pending_transaction_is_refused() -> None:
    assert refusal(FakeChain(None, None), expect()) == "tx_not_found"
    pending = FakeChain({"from": POSTER, "to": WINNER, "value": 1}, None)
    assert refusal(pending, expect()) == "tx_not_confirmed"


def test_an_unreachable_chain_is_503_not_4xx() -> None:
    dead = Web3Chain(f"http://127.0.0.1:{free_port()}", 31337, timeout=1)
    with pytest.raises(ServiceError) as info:
        verify_payment(dead, expect(), confirmations=2)
    assert (info.value.status, info.value.code) == (503, "chain_unavailable")
    with pytest.raises(ServiceError) as info:
        verify_payment(None, expect(), confirmations=2)
    assert info.value.status == 503


@pytest.mark.parametrize("value", [None, 1, "", "0x12", "ab" * 32, "0x" + "zz" * 32])
def test_a_malformed_tx_hash_is_a_400(value: Any) -> None:
    with pytest.raises(ServiceError) as info:
        normalize_tx_hash(value)
    assert (info.value.status, info.value.code) == (400, "invalid_tx_hash")


def test_a_transaction_hash_pays_one_thing_ever_whatever_its_case(
    moto_store: DynamoStore,
) -> None:
    moto_store.transact([tx_guard_op(TX, "bounty:b1:s1", 1)])
    with pytest.raises(TransactionFailed) as info:
        moto_store.transact([tx_guard_op(TX.upper().replace("0X", "0x"), "bounty:b2:s2", 2)])
    with pytest.raises(ServiceError) as err:
        raise_if_tx_used(info.value)
    assert (err.value.status, err.value.code) == (409, "tx_already_used")
    assert err.value.details == {"used_for": "bounty:b1:s1"}
    with pytest.raises(ServiceError):
        ensure_tx_unused(moto_store, TX)


def test_amount_too_low_states_both_amounts_as_decimal_strings_and_base_units() -> None:
    low = Expected(TX, POSTER, WINNER, TOKEN, 2 * 10**18, None, decimals=18)
    fake = chain([transfer(TOKEN, POSTER, WINNER, 15 * 10**17)])
    with pytest.raises(ServiceError) as info:
        verify_payment(fake, low, confirmations=2)
    assert info.value.details["paid"] == "1.5" and info.value.details["required"] == "2"
    assert info.value.details["paid_base_units"] == str(15 * 10**17)
    with pytest.raises(ServiceError) as native:
        verify_payment(chain(to=WINNER, value=10**17), expect("native", amount=10**18), 2)
    assert (native.value.details["paid"], native.value.details["required"]) == ("0.1", "1")
