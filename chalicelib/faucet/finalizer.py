"""Registers the faucet's payout finalizers with the payout engine (imported by jobs.py)."""

from __future__ import annotations

from chalicelib.core.outbox.finalize import register_finalizer
from chalicelib.faucet import claim_outcomes, drip_outcomes
from chalicelib.faucet.claimstate import CLAIM_OWNER
from chalicelib.faucet.drips import DRIP_OWNER

register_finalizer(DRIP_OWNER, drip_outcomes.apply)
register_finalizer(CLAIM_OWNER, claim_outcomes.apply)
