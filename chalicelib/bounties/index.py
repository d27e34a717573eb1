"""Listing index items: small items written in the same transaction as the bounty they index.

An index item holds only the bounty's id; listings read the bounty item itself for anything
else, so counters that change on every accept or payment never have to be copied around. The
state-index entry is the one exception that moves: it lives in the bucket of the bounty's
current (write-determined) state, and each transition that changes the bucket deletes the old
entry and puts the new one in the same transaction as the bounty update.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.bounties.status import Facts, bucket_of
from chalicelib.core.store import Item, Key, Op, delete_op, key, put_op

ALL = "bounties#all"
TIME_DIGITS = 13  # epoch milliseconds fit 13 digits until the year 2286


def by_poster(address: str) -> str:
    return f"bounties#by-poster#{address.lower()}"


def by_tag(tag: str) -> str:
    return f"bounties#by-tag#{tag}"


def by_submitter(address: str) -> str:
    return f"bounties#by-submitter#{address.lower()}"


def by_state(bucket: str) -> str:
    return f"bounties#state#{bucket}"


def sort_key(when_ms: int, bounty_id: str) -> str:
    return f"{max(0, when_ms):0{TIME_DIGITS}d}#{bounty_id}"


def time_of(sk: str) -> int:
    return int(sk[:TIME_DIGITS])


def bound(when_ms: int) -> str:
    """A sort key that sorts before every entry at `when_ms` and after every earlier one."""
    return f"{max(0, when_ms):0{TIME_DIGITS}d}"


def _entry(pk: str, sk: str, bounty_id: str) -> Item:
    return {"pk": pk, "sk": sk, "bounty_id": bounty_id}


def state_key(facts: Facts, bounty_id: str) -> Key:
    bucket, when = bucket_of(facts)
    return key(by_state(bucket), sort_key(when, bounty_id))


def created_ops(bounty: Mapping[str, Any]) -> list[Op]:
    """Index entries of a new bounty: all, by poster, by each tag, and its state entry."""
    bid = bounty["id"]
    sk = sort_key(int(bounty["created_at"]), bid)
    pks = [ALL, by_poster(bounty["poster"]), *(by_tag(t) for t in bounty.get("tags") or [])]
    ops = [put_op(_entry(pk, sk, bid), name=f"index:{pk}") for pk in pks]
    state = state_key(Facts.of(bounty), bid)
    ops.append(put_op(_entry(state["pk"], state["sk"], bid), name="index:state"))
    return ops


def submitter_op(bounty: Mapping[str, Any], submitter: str, sid: str, name: str) -> Op:
    """The submitter's entry for this bounty; its key is unique per (wallet, bounty), so the
    conditional put is also the one-submission-per-wallet guard."""
    item = {
        **_entry(by_submitter(submitter), sort_key(int(bounty["created_at"]), bounty["id"]),
                 bounty["id"]),
        "submission_id": sid,
    }
    return put_op(item, if_absent=True, name=name)


def submitter_entry_key(bounty: Mapping[str, Any], submitter: str) -> Key:
    return key(by_submitter(submitter), sort_key(int(bounty["created_at"]), bounty["id"]))


def move_ops(before: Facts, after: Facts, bounty_id: str) -> list[Op]:
    """Move the state entry when a transition changes its bucket or sort time."""
    old, new = state_key(before, bounty_id), state_key(after, bounty_id)
    if old == new:
        return []
    return [
        delete_op(old, name="index:state-old"),
        put_op(_entry(new["pk"], new["sk"], bounty_id), name="index:state"),
    ]
