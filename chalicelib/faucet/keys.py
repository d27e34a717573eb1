"""Where each faucet item lives in the one table (pk / sk), in one place.

Drips, their rate-limit slots and their statistics never share a key with events, codes and
claims: event claims cannot touch drip limits or drip figures by construction.
"""

from __future__ import annotations

from chalicelib.core.store import Key, key

# Work-index queues (sparse GSI) for listings.
NEEDS_ATTENTION_QUEUE = "claims#needs_attention"


def drip_key(drip_id: str) -> Key:
    return key(f"drip#{drip_id}", "drip")


def drip_slots_pk(kind: str, subject: str) -> str:
    """The partition holding one wallet's (or one IP's) drip rate-limit slots."""
    return f"ratelimit#drip#{kind}#{subject}"


def drip_slot_key(kind: str, subject: str, index: int) -> Key:
    return key(drip_slots_pk(kind, subject), f"slot#{index:03d}")


def stats_key(shard: int, sk: str) -> Key:
    return key(f"faucet#stats#{shard}", sk)


def event_key(event_id: str) -> Key:
    return key(f"event#{event_id}", "event")


def event_shard_key(event_id: str, shard: int) -> Key:
    return key(f"event#{event_id}", f"shard#{shard}")


def event_codes_queue(event_id: str) -> str:
    """Work-index partition listing one event's codes (the admin's code listing)."""
    return f"event#{event_id}#codes"


def code_key(code: str) -> Key:
    return key(f"code#{code}", "code")


def claim_key(code: str, attempt: int) -> Key:
    """One claim attempt of a code; every attempt is kept (the code's history)."""
    return key(f"code#{code}", f"claim#{attempt:04d}")


def wallet_claims_key(event_id: str, wallet: str) -> Key:
    return key(f"event#{event_id}#wallet#{wallet.lower()}", "claims")


def invalid_attempts_key(ip_subject: str, window: int) -> Key:
    return key(f"ratelimit#claims#ip#{ip_subject}", f"invalid#{window}")
