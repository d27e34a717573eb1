"""What an insolvent wallet's last run learned about the intents that wait for its funds.

With the wallet short, every run read its whole waiting queue again to find the few intents it
could fund, although nothing had changed: 1,000 waiting intents cost ten Query pages a run and,
locally, kept the serialized store busy for everyone (claims answered in 161 ms at the median on
`make dev`). A run that read the whole queue and ended short leaves what it learned here, in the
warm container (never in the store: it is only a shortcut):

- the intents up to `through` were read, and those still there could not be funded;
- what was left to fund them (native coin, each token), the gas price it assumed, and whether
  any of them waited for native coin alone.

The wallet's next run reads only the intents after `through` while all of this holds: the wallet
is still flagged insolvent, no token balance grew, and, if an intent waited for native coin
alone, the native balance did not grow and the gas price did not fall (so nothing skipped can
have become fundable); and the last full read is less than FULL_READ_EVERY_MS old. (A token
intent that waits for its token stays unfundable whatever the gas price: on an idle chain the
base fee falls with every block.)
`through` stays LATE_MS behind the run's clock, so an intent that reached the index late (its
transaction committed after its creation time, or the index lagged) is still read. In any other
case the whole queue is read again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Every so often the whole queue is read anyway (belt and braces for an intent indexed late).
FULL_READ_EVERY_MS = 300_000
# Intents created this recently are read again on the next run, in case one was indexed late:
# an intent's creation time is taken when its request starts, and API Gateway ends a request
# after 29 s, so its transaction commits within that (the index follows within a second).
LATE_MS = 30_000
KEPT_UNDER = "outbox.waiting"  # in Runtime.between_runs, by wallet


@dataclass
class Known:
    through: str  # work-index sort key: intents up to here were read
    waiting: int  # how many of them wait for funds
    need: dict[str, int]  # what they need, per asset (for the insolvency alert)
    native: int  # what was left after the run's reservations
    tokens: dict[str, int]
    gas_price: int
    native_bound: bool  # an intent waited for native coin alone
    full_at: int  # when the whole queue was last read (ms)


@dataclass
class Reading:
    """One run's pass over the waiting intents: where it started, what it read and skipped."""

    after: str | None = None  # None: the whole queue
    known: Known | None = None
    last_read: str = ""
    skipped: list[str] = field(default_factory=list)

    def read(self, copy: dict[str, Any]) -> None:
        self.last_read = max(self.last_read, str(copy["wsk"]))

    def skip(self, copy: dict[str, Any]) -> None:
        self.skipped.append(str(copy["wsk"]))


def _kept(rt: Any) -> dict[str, Known]:
    kept: dict[str, Known] = rt.between_runs.setdefault(KEPT_UNDER, {})
    return kept


def start(run: Any, funds: Any) -> Reading:
    """Where this run reads from; what is known to wait is counted in `funds` and the summary."""
    known = _kept(run.rt).pop(run.wallet.lower(), None)
    if known is None or not _still_holds(run, funds, known):
        return Reading()
    for asset, amount in known.need.items():
        funds.need[asset] = funds.need.get(asset, 0) + amount
    run.summary["waiting_for_funds"] += known.waiting
    return Reading(after=known.through, known=known)


def _still_holds(run: Any, funds: Any, known: Known) -> bool:
    if "insolvent_since" not in funds.state:
        return False  # funded (and cleared) by another run meanwhile
    if not 0 <= run.now() - known.full_at < FULL_READ_EVERY_MS:
        return False
    if known.native_bound and (funds.gas_price < known.gas_price or funds.native > known.native):
        return False
    return all(funds.token_balance(asset) <= left for asset, left in known.tokens.items())


def finish(run: Any, funds: Any, reading: Reading) -> None:
    """After a pass that read to the end of the queue: keep what it learned if still short."""
    if not funds.short:
        return
    cutoff = f"{run.now() - LATE_MS:013d}"
    through = max(reading.after or "", min(reading.last_read, cutoff))
    before = reading.known
    _kept(run.rt)[run.wallet.lower()] = Known(
        through=through,
        waiting=(before.waiting if before else 0) + sum(1 for s in reading.skipped if s <= through),
        # Only whether something waits matters once the wallet is flagged (the alert is sent
        # once): the first full read's totals are kept, not re-added for intents read again.
        need=dict(before.need) if before else dict(funds.need),
        native=funds.native,
        tokens=dict(funds.tokens),
        gas_price=funds.gas_price,
        native_bound=funds.native_bound or (before.native_bound if before else False),
        full_at=before.full_at if before else run.now(),
    )
