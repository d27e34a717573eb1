"""Wallets by purpose: each purpose's key, the shared wallet as an explicit fallback, the
purposes each owner may spend from, and the engine refusing a payout from another purpose's
wallet before anything is written."""

from __future__ import annotations

from typing import Any

import pytest
from chalice.test import Client

from chalicelib.core.errors import SettingsError
from chalicelib.core.outbox import purposes
from chalicelib.core.outbox.intents import Intent, intent_op, make_intent, request_payout
from chalicelib.core.outbox.model import payout_key
from chalicelib.core.outbox.purposes import WrongWallet
from chalicelib.core.runtime import Runtime, set_runtime
from chalicelib.core.settings import load_settings
from chalicelib.core.store import DynamoStore
from chalicelib.core.wallets import ANCHOR, ESCROW, FAUCET, key_for
from chalicelib.otc.model import OWNER_TYPE as OTC_OWNER

# Hardhat's well-known development keys #5..#8 (public test keys, hold nothing real).
ESCROW_KEY = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba"
FAUCET_KEY = "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e"
ANCHOR_KEY = "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356"
SHARED_KEY = "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97"
TOKEN = "0x" + "ab" * 20
TO = "0x" + "cd" * 20


def address_of(key: str) -> str:
    from eth_account import Account

    return str(Account.from_key(key).address)


def test_each_purpose_has_its_own_key_setting_and_none_is_ever_printed() -> None:
    s = load_settings({"ESCROW_PRIVATE_KEY": ESCROW_KEY, "FAUCET_PRIVATE_KEY": FAUCET_KEY,
                       "ANCHOR_PRIVATE_KEY": ANCHOR_KEY})
    assert [key_for(s, p) for p in (ESCROW, FAUCET, ANCHOR)] == [ESCROW_KEY, FAUCET_KEY,
                                                                  ANCHOR_KEY]
    assert key_for(load_settings({"SIGNER_PRIVATE_KEY": SHARED_KEY}), ESCROW) is None
    for key in (ESCROW_KEY, FAUCET_KEY, ANCHOR_KEY):
        assert key[2:] not in repr(s)


@pytest.mark.parametrize("name", ["ESCROW_PRIVATE_KEY", "FAUCET_PRIVATE_KEY", "ANCHOR_PRIVATE_KEY"])
def test_a_malformed_purpose_key_is_refused_by_name_without_echoing_it(name: str) -> None:
    with pytest.raises(SettingsError, match=name) as info:
        load_settings({name: "0x" + "ab" * 31 + "zz"})
    assert "abab" not in str(info.value)


def test_dedicated_wallets_are_three_distinct_addresses_none_shared() -> None:
    s = load_settings({"ESCROW_PRIVATE_KEY": ESCROW_KEY, "FAUCET_PRIVATE_KEY": FAUCET_KEY,
                       "ANCHOR_PRIVATE_KEY": ANCHOR_KEY})
    wallets = Runtime(s).wallets
    assert wallets.public() == [
        {"address": address_of(ESCROW_KEY), "purposes": [ESCROW], "shared": False},
        {"address": address_of(FAUCET_KEY), "purposes": [FAUCET], "shared": False},
        {"address": address_of(ANCHOR_KEY), "purposes": [ANCHOR], "shared": False},
    ]


def test_the_shared_wallet_pays_only_the_purposes_without_a_key_and_says_so() -> None:
    s = load_settings({"ESCROW_PRIVATE_KEY": ESCROW_KEY, "SIGNER_PRIVATE_KEY": SHARED_KEY})
    wallets = Runtime(s).wallets
    assert wallets.address(ESCROW) == address_of(ESCROW_KEY)
    assert wallets.address(FAUCET) == wallets.address(ANCHOR) == address_of(SHARED_KEY)
    assert wallets.public() == [
        {"address": address_of(ESCROW_KEY), "purposes": [ESCROW], "shared": False},
        {"address": address_of(SHARED_KEY), "purposes": [FAUCET, ANCHOR], "shared": True},
    ]


def test_a_purpose_with_no_key_and_no_shared_wallet_is_off() -> None:
    wallets = Runtime(load_settings({"FAUCET_PRIVATE_KEY": FAUCET_KEY})).wallets
    assert wallets.signer(ESCROW) is None and wallets.signer(ANCHOR) is None
    assert [w["purposes"] for w in wallets.public()] == [[FAUCET]]


def test_info_lists_each_wallet_and_takes_the_deposit_address_from_escrow(
    moto_client: Any,
) -> None:
    import app

    settings = load_settings({"TABLE_NAME": "settlekit-test", "TOKEN_ADDRESS": TOKEN,
                              "ESCROW_PRIVATE_KEY": ESCROW_KEY, "SIGNER_PRIVATE_KEY": SHARED_KEY})
    set_runtime(Runtime(settings, dynamodb_client=moto_client))
    try:
        with Client(app.app) as c:
            body = c.http.get("/v1/info").json_body
    finally:
        set_runtime(None)
    assert body["escrow_address"] == address_of(ESCROW_KEY)
    assert body["wallets"] == [
        {"address": address_of(ESCROW_KEY), "purposes": [ESCROW], "shared": False},
        {"address": address_of(SHARED_KEY), "purposes": [FAUCET, ANCHOR], "shared": True},
    ]


# -- the engine refuses a payout from another purpose's wallet ---------------------------------


def test_the_otc_flow_asking_for_a_faucet_payout_is_refused_by_the_engine() -> None:
    with pytest.raises(WrongWallet) as info:
        make_intent("otc:ord_x:base", TOKEN, TO, 10, OTC_OWNER, "ord_x", purpose=FAUCET)
    assert info.value.details == {"owner_type": OTC_OWNER, "purpose": FAUCET}


@pytest.mark.parametrize(
    ("owner", "purpose"),
    [("drip", ESCROW), ("claim", ESCROW), ("anchor", ESCROW), ("admin", ESCROW),
     ("otc", ANCHOR), ("drip", "treasury"), ("nobody_registered", FAUCET)],
)
def test_no_flow_can_spend_from_a_wallet_that_is_not_its_own(owner: str, purpose: str) -> None:
    import chalicelib.jobs

    chalicelib.jobs.register_owners()  # every flow's registration, as in a real tick
    with pytest.raises(WrongWallet):
        make_intent(f"{owner}:1", TOKEN, TO, 10, owner, "1", purpose=purpose)


def test_an_intent_built_by_hand_with_another_purpose_writes_nothing(
    moto_store: DynamoStore,
) -> None:
    # Bypassing make_intent does not help: the engine's own write checks the purpose too.
    forged = Intent("otc:ord_y:base", TOKEN, TO, 10, OTC_OWNER, "ord_y", None, FAUCET)
    with pytest.raises(WrongWallet):
        intent_op(forged, 1)
    with pytest.raises(WrongWallet):
        request_payout(moto_store, forged, 1)
    assert moto_store.get(**payout_key(forged.id)) is None


def test_a_payout_of_its_own_purpose_is_written_with_that_purpose(
    moto_store: DynamoStore,
) -> None:
    intent = make_intent("otc:ord_z:base", TOKEN, TO, 10, OTC_OWNER, "ord_z", purpose=ESCROW)
    payout, created = request_payout(moto_store, intent, 1)
    assert created and payout["purpose"] == ESCROW
    assert moto_store.get(**payout_key(intent.id))["purpose"] == ESCROW  # type: ignore[index]


def test_registering_an_unknown_purpose_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        purposes.register_owner("someone", "treasury")


def test_reserves_without_an_escrow_wallet_say_otc_is_off(moto_client: Any) -> None:
    import app

    settings = load_settings({"TABLE_NAME": "settlekit-test", "TOKEN_ADDRESS": TOKEN,
                              "FAUCET_PRIVATE_KEY": FAUCET_KEY})
    set_runtime(Runtime(settings, dynamodb_client=moto_client))
    try:
        with Client(app.app) as c:
            resp = c.http.get("/v1/otc/reserves")
    finally:
        set_runtime(None)
    assert (resp.status_code, resp.json_body["error"]) == (404, "otc_disabled")


# -- lanes: which wallets each purpose's payout engine works for -------------------------------


def lanes_of(env: dict[str, str]) -> dict[str, list[str]]:
    from chalicelib.core.outbox.jobs import lane_signers

    rt = Runtime(load_settings(env))
    return {lane: [s.address for s in lane_signers(rt, lane)] for lane in (ESCROW, FAUCET, ANCHOR)}


def test_each_lane_works_for_its_own_wallet_only() -> None:
    lanes = lanes_of({"ESCROW_PRIVATE_KEY": ESCROW_KEY, "FAUCET_PRIVATE_KEY": FAUCET_KEY,
                      "ANCHOR_PRIVATE_KEY": ANCHOR_KEY})
    assert lanes == {ESCROW: [address_of(ESCROW_KEY)], FAUCET: [address_of(FAUCET_KEY)],
                     ANCHOR: [address_of(ANCHOR_KEY)]}


def test_a_shared_wallet_is_worked_by_one_lane_and_retiring_ones_by_the_anchor_lane() -> None:
    # Escrow has its own key; faucet and anchor share one: the faucet's lane works for it (the
    # first purpose it pays for), the anchor's lane would only fight it for its lease.
    old = "0x" + "77" * 32
    lanes = lanes_of({"ESCROW_PRIVATE_KEY": ESCROW_KEY, "SIGNER_PRIVATE_KEY": SHARED_KEY,
                      "RETIRING_SIGNER_PRIVATE_KEYS": old})
    assert lanes == {ESCROW: [address_of(ESCROW_KEY)], FAUCET: [address_of(SHARED_KEY)],
                     ANCHOR: [address_of(old)]}
    with pytest.raises(ValueError):
        from chalicelib.core.outbox.jobs import lane_signers

        lane_signers(Runtime(load_settings({"SIGNER_PRIVATE_KEY": SHARED_KEY})), "nope")
