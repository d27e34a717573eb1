"""Faucet settings, client IP resolution, code generation and input parsing (no store)."""

from __future__ import annotations

import base64
import re

import pytest

from chalicelib.core.clientip import UNKNOWN, client_ip, ip_subject
from chalicelib.core.errors import BadRequest, NotFound, SettingsError
from chalicelib.core.settings import load_settings
from chalicelib.faucet import codes, config, counters, stats, validate
from chalicelib.faucet.wallets import claim_wallet, drip_wallet
from tests.conftest import START_MS

TOKEN = "0x" + "ab" * 20
ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
BOB = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def test_faucet_settings_have_safe_defaults_with_events_switched_off() -> None:
    s = load_settings({})
    assert (s.drip_amount, s.drip_max_requests, s.drip_window_seconds) == ("10", 1, 86_400)
    assert s.trust_proxy_headers == 0
    assert s.events_enabled is False
    assert s.wallet_allowlist == frozenset() and s.wallet_blocklist == frozenset()
    assert (s.event_max_amount, s.event_max_horizon_days) == ("1000", 90)


@pytest.mark.parametrize(
    ("raw", "hops"), [("true", 1), ("FALSE", 0), ("yes", 1), ("no", 0), ("2", 2), ("0", 0)]
)
def test_trust_proxy_headers_takes_a_flag_or_a_number_of_proxies(raw: str, hops: int) -> None:
    assert load_settings({"TRUST_PROXY_HEADERS": raw}).trust_proxy_headers == hops


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TRUST_PROXY_HEADERS", "maybe"),
        ("TRUST_PROXY_HEADERS", "9"),
        ("EVENTS_ENABLED", "on-ish"),
        ("DRIP_AMOUNT", "0"),
        ("DRIP_AMOUNT", "-1"),
        ("DRIP_AMOUNT", "1e3"),
        ("DRIP_AMOUNT", "NaN"),
        ("EVENT_MAX_AMOUNT", "Infinity"),
        ("DRIP_MAX_REQUESTS", "101"),
        ("DRIP_WINDOW_SECONDS", "0"),
        ("WALLET_ALLOWLIST", "0x123"),
        ("WALLET_BLOCKLIST", f"{ALICE},nope"),
        ("EVENT_MAX_HORIZON_DAYS", "0"),
        ("CLAIM_INVALID_MAX_ATTEMPTS", "0"),
    ],
)
def test_a_bad_faucet_setting_stops_start_up_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({name: value})


def test_wallet_lists_are_parsed_trimmed_and_lower_cased() -> None:
    s = load_settings({"WALLET_ALLOWLIST": f" {ALICE} , {BOB.lower()} "})
    assert s.wallet_allowlist == {ALICE.lower(), BOB.lower()}


def test_allowlist_and_blocklist_are_case_insensitive_and_blocklist_also_guards_claims() -> None:
    s = load_settings({"WALLET_ALLOWLIST": ALICE.upper().replace("0X", "0x"),
                       "WALLET_BLOCKLIST": BOB.lower()})
    assert drip_wallet(s, f"  {ALICE.lower()}  ") == ALICE
    for check in (drip_wallet, claim_wallet):
        with pytest.raises(BadRequest) as info:
            check(s, BOB)
        assert info.value.code == "wallet_blocked"
    stranger = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
    with pytest.raises(BadRequest) as info:
        drip_wallet(s, stranger)
    assert info.value.code == "wallet_not_allowed"
    assert claim_wallet(s, stranger) == stranger  # codes are their holder's credential


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (None, "invalid_address"),
        (12, "invalid_address"),
        ("0x123", "invalid_address"),
        ("70997970C51812dc3A010C7d01b50e0d17dc79C8", "invalid_address"),
        ("0x" + "0" * 40, "invalid_address"),
        (ALICE[:-1] + "c", "invalid_checksum"),  # one letter's case flipped
    ],
)
def test_a_bad_wallet_is_refused_with_a_named_error(value: object, error: str) -> None:
    with pytest.raises(BadRequest) as info:
        drip_wallet(load_settings({}), value)
    assert info.value.code == error


def test_the_source_ip_is_used_and_forwarded_headers_are_ignored_unless_trusted() -> None:
    headers = {"x-forwarded-for": "6.6.6.6, 7.7.7.7"}
    assert client_ip("203.0.113.9", headers, 0) == "203.0.113.9"
    assert client_ip("203.0.113.9", headers, 1) == "7.7.7.7"
    assert client_ip("203.0.113.9", headers, 2) == "6.6.6.6"
    # Fewer entries than trusted proxies, or garbage: fall back to the source IP.
    assert client_ip("203.0.113.9", headers, 3) == "203.0.113.9"
    assert client_ip("203.0.113.9", {"x-forwarded-for": "not-an-ip"}, 1) == "203.0.113.9"
    assert client_ip(None, {}, 0) == UNKNOWN


def test_ipv6_clients_are_limited_per_64_and_no_raw_ip_is_stored() -> None:
    a, b = ip_subject("2001:db8:1:2::1"), ip_subject("2001:db8:1:2:ffff::9")
    assert a == b
    assert ip_subject("2001:db8:1:3::1") != a
    assert ip_subject("198.51.100.7") != ip_subject("198.51.100.8")
    assert re.fullmatch("[0-9a-f]{32}", ip_subject("198.51.100.7"))  # a hash, not the address


def test_codes_carry_at_least_96_random_bits_behind_an_upper_cased_prefix() -> None:
    seen = {codes.new_code() for _ in range(2_000)}
    assert len(seen) == 2_000
    for code in list(seen)[:50]:
        raw = base64.b32decode(code)
        assert len(raw) * 8 >= 96
    prefixed = codes.new_code("summit_26")
    assert prefixed.startswith("SUMMIT_26-")
    assert codes.parse_code(f"  {prefixed.lower()} ") == prefixed


@pytest.mark.parametrize("value", [None, 5, "", "has space", "a" * 65, "semi;colon", "ü"])
def test_a_malformed_code_is_a_400(value: object) -> None:
    with pytest.raises(BadRequest) as info:
        codes.parse_code(value)
    assert info.value.code == "invalid_code_format"


@pytest.mark.parametrize("value", ["", "x" * 17, "bad prefix", "a.b", "ünï", 7, True])
def test_a_bad_prefix_is_a_400(value: object) -> None:
    with pytest.raises(BadRequest) as info:
        validate.prefix(value)
    assert info.value.code == "invalid_prefix"


@pytest.mark.parametrize("value", ["A", "a-b_C", "x" * 16])
def test_a_good_prefix_passes(value: str) -> None:
    assert validate.prefix(value) == value


def test_expiry_must_be_zoned_in_the_future_and_within_the_horizon() -> None:
    day = 86_400_000
    assert validate.expiry("2026-09-22T00:00:00Z", START_MS, 90) > START_MS
    for bad in ("2020-01-01T00:00:00Z", "2027-09-21T00:00:00Z", "2026-09-22T00:00:00",
                "tomorrow", 1790000000, None, "2026-13-01T00:00:00Z"):
        with pytest.raises(BadRequest) as info:
            validate.expiry(bad, START_MS, 90)
        assert info.value.code == "invalid_expires_at"
    assert validate.expiry("2026-09-22T00:00:00+02:00", START_MS, 1) <= START_MS + day


def test_the_faucet_is_absent_without_a_token_and_misconfiguration_is_named() -> None:
    with pytest.raises(NotFound) as info:
        config.drip_units(load_settings({}))
    assert info.value.code == "faucet_disabled"
    with pytest.raises(NotFound):
        config.drip_units(load_settings({"TOKEN_ADDRESS": TOKEN, "DRIP_MAX_REQUESTS": "0"}))
    with pytest.raises(SettingsError, match="DRIP_AMOUNT"):
        config.drip_units(load_settings({"TOKEN_ADDRESS": TOKEN, "TOKEN_DECIMALS": "0",
                                         "DRIP_AMOUNT": "0.5"}))
    native = load_settings({"FAUCET_ASSET": "native", "DRIP_AMOUNT": "0.25"})
    assert config.drip_units(native) == ("native", 18, 25 * 10**16)


def test_counter_moves_add_and_remove_exactly_one() -> None:
    assert counters.move("available", "claimed") == {"available": -1, "claimed": 1}
    assert counters.move("claimed", "available", failed_attempts=1) == {
        "claimed": -1, "available": 1, "failed_attempts": 1}


def test_hour_buckets_sort_by_time() -> None:
    hours = [stats.hour_of(START_MS + h * 3_600_000) for h in range(30)]
    assert hours == sorted(hours) and len(set(hours)) == 30
    assert all(h < "total" for h in hours)  # the total item sorts after every bucket
