"""Commit markers: how a transaction whose answer was lost finds out whether it committed.

Every transaction (store.transact) also creates one small item keyed by its token:

  commit#<token> / commit        gc_at (TTL, a day later)

The token is also the transaction's ClientRequestToken, so in DynamoDB a re-send within ten
minutes is idempotent, and the marker makes it so everywhere else (moto ignores the token): the
marker is created only if absent, so the same transaction can never commit twice, and a re-send
that fails on the marker's condition proves the first send committed. After a timeout, a dropped
connection or a 5xx, one consistent read of the marker tells committed from not committed. The
happy path reads nothing: the marker only costs one more item in the transaction.

The marker is only needed while its own request runs: TTL removes it (garbage only, rule 7).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from chalicelib.core.table import TTL_ATTRIBUTE

OP_NAME = "commit_marker"
# Long past any request and any ClientRequestToken window (10 minutes); then garbage.
MARKER_TTL_S = 24 * 3600


def new_token() -> str:
    """A ClientRequestToken (1..36 characters): one per logical transaction, reused on retry."""
    return uuid.uuid4().hex


def marker_key(token: str) -> dict[str, str]:
    return {"pk": f"commit#{token}", "sk": "commit"}


def marker_item(token: str) -> dict[str, Any]:
    # The TTL attribute only: wall-clock time is right for garbage collection.
    return {**marker_key(token), TTL_ATTRIBUTE: int(time.time()) + MARKER_TTL_S}
