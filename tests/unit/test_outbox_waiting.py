"""When an insolvent wallet's run may read only the intents that arrived since its last run.

The whole flow runs on the chain in tests/integration/test_payout_engine.py; here each condition
that must send the next run back to a full read is checked on its own.
"""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib.core.outbox import waiting

NOW = 10_000_000
TOKEN = "0xToken"


class Funds(SimpleNamespace):
    def token_balance(self, asset: str) -> int:
        return int(self.tokens[asset])

    @property
    def short(self) -> bool:
        return bool(self.need)


def run(now: int = NOW) -> Any:
    return SimpleNamespace(rt=SimpleNamespace(between_runs={}), wallet="0xWALLET", now=lambda: now,
                           summary=Counter())


def funds(native: int = 5, token: int = 7, gas_price: int = 3, flagged: bool = True,
          native_bound: bool = False) -> Funds:
    state = {"insolvent_since": NOW - 1} if flagged else {}
    return Funds(state=state, native=native, tokens={TOKEN: token}, gas_price=gas_price, need={},
                 native_bound=native_bound)


def remembered(r: Any, native_bound: bool = True) -> Any:
    """A full read that ended short: two intents read, both waiting, long before the cutoff."""
    f = funds(native_bound=native_bound)
    f.need = {"native": 100}
    reading = waiting.Reading()
    for wsk in ("0000000000001#a", "0000000000002#b"):
        reading.read({"wsk": wsk})
        reading.skip({"wsk": wsk})
    waiting.finish(r, f, reading)
    return r


def test_an_unchanged_insolvent_wallet_reads_only_after_what_it_read() -> None:
    r = remembered(run())
    f = funds()
    reading = waiting.start(r, f)
    assert reading.after == "0000000000002#b"
    assert r.summary["waiting_for_funds"] == 2 and f.short  # still waiting, still flagged


@pytest.mark.parametrize("changed", [
    {"native": 6}, {"token": 8}, {"gas_price": 2}, {"flagged": False},
])
def test_more_funds_a_lower_gas_price_or_a_cleared_flag_mean_a_full_read(
    changed: dict[str, Any],
) -> None:
    r = remembered(run())
    assert waiting.start(r, funds(**changed)).after is None


@pytest.mark.parametrize("changed", [{"native": 6}, {"gas_price": 2}])
def test_intents_waiting_for_their_token_ignore_coin_and_gas_price(changed: dict[str, Any]) -> None:
    """Nothing waited for native coin alone: more coin or a cheaper gas price funds none of
    them (on an idle chain the base fee falls with every block)."""
    r = remembered(run(), native_bound=False)
    assert waiting.start(r, funds(**changed)).after == "0000000000002#b"
    r = remembered(run(), native_bound=False)
    assert waiting.start(r, funds(token=8)).after is None


@pytest.mark.parametrize("later", [waiting.FULL_READ_EVERY_MS, -1])
def test_a_full_read_every_so_often_and_after_the_clock_went_back(later: int) -> None:
    r = remembered(run())
    r.now = lambda: NOW + later
    assert waiting.start(r, funds()).after is None


def test_nothing_is_kept_when_the_wallet_could_fund_everything() -> None:
    r = run()
    waiting.finish(r, funds(), waiting.Reading())
    assert waiting.start(r, funds()).after is None


def test_intents_created_within_late_ms_are_read_again() -> None:
    r = run()
    f = funds()
    f.need = {"native": 1}
    reading = waiting.Reading()
    recent = f"{NOW - waiting.LATE_MS + 5:013d}#late"
    for wsk in ("0000000000001#a", recent):
        reading.read({"wsk": wsk})
        reading.skip({"wsk": wsk})
    waiting.finish(r, f, reading)
    f2 = funds()
    reading2 = waiting.start(r, f2)
    assert reading2.after is not None and reading2.after < recent
    assert r.summary["waiting_for_funds"] == 1  # only the older one is known to wait
