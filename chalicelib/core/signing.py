"""Wallet-signed user actions (EIP-712), shared by every flow that takes them (bounties, OTC).

One wire format for the whole service. The JSON body of a signed request carries the action's
fields, `deadline` (unix seconds) and `signature` (0x + 65 bytes hex). The typed message is
exactly the body minus `signature`, plus the id from the URL path where the action has one
(`bounty_id`), with each optional field's default filled in. `GET /v1/typed-data/{action}` serves
`{domain, types, primaryType}`, so a wallet can sign without reading this code.

A flow registers its actions at import time:

    CREATE = register(Action("create_bounty", "CreateBounty", signer_field="poster", fields=(...)))

and in a request handler:

    signed = verify(rt.settings, rt.clock.now_ms(), CREATE, body)      # 400/401/403
    ensure_unused(rt.store, signed)                                     # 409 early, cheap
    rt.store.transact([...own state change..., replay_guard_op(signed, now)])
    # on TransactionFailed: raise_if_replayed(exc) first, then the flow's own failures

The replay guard is a conditional put keyed by the EIP-712 digest (not by the signature bytes: a
signature has a second valid form, (r, n-s), that recovers the same signer). Putting it in the
same transaction as the action's state change means a refused action does not burn the
signature, and two concurrent replays cannot both pass.

The domain is `{name, version, chainId, salt}`: the salt (DEPLOYMENT_SALT) binds a signature to
one deployment. uint256 fields (and `deadline`) arrive as JSON integers or decimal strings.

Rule 12: eth_account is imported inside `verify` (and `sign`, for tests and tools) only; listing
actions and serving typed data import nothing from web3 or eth_account.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.core.addresses import normalize_address
from chalicelib.core.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from chalicelib.core.hashing import keccak
from chalicelib.core.settings import Settings
from chalicelib.core.store import DynamoStore, Item, Op, TransactionFailed, key, put_op

DOMAIN_NAME = "Settlekit"
# A signature is good until its deadline; one dated further ahead than this is refused, so a
# leaked signature cannot stay usable for long.
MAX_DEADLINE_AHEAD_S = 600
# The replay guard is garbage once its signature's deadline has passed (an expired signature is
# refused anyway); TTL deletes it a day later.
GUARD_GC_AFTER_S = 86_400
REPLAY_GUARD_OP = "signature"
SIGNATURE_FIELD = "signature"
DEADLINE_FIELD = "deadline"
SIGNATURE_RE = re.compile(r"^0x[0-9a-fA-F]{130}$")
# secp256k1 group order: EIP-2 accepts only the lower half of s (no malleable twins).
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
FIELD_TYPES = ("string", "address", "uint256", "string[]")
MAX_UINT256 = 2**256 - 1
_REQUIRED = object()

DOMAIN_TYPES = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "salt", "type": "bytes32"},
]
# uint256 values arrive as JSON integers or as decimal strings (ethers serializes BigInt so).
UINT_TEXT_RE = re.compile(r"0|[1-9][0-9]{0,77}")


class InvalidSignature(BadRequest):
    """The signature (or a signed field's type) is malformed (400)."""

    code = "invalid_signature"


class SignatureExpired(Unauthorized):
    """The deadline has passed, or lies more than 10 minutes ahead (401)."""

    code = "signature_expired"


class SignerMismatch(Forbidden):
    """The signature does not recover to the wallet the body names as acting (403)."""

    code = "signer_mismatch"


class SignatureReplayed(Conflict):
    """This exact signed message was already used (409)."""

    code = "signature_replayed"


class UnknownAction(NotFound):
    """No signed action by that name (404)."""

    code = "unknown_action"


@dataclass(frozen=True)
class Field:
    """One typed field of an action's body; `default` makes it optional on the wire."""

    name: str
    type: str
    default: Any = _REQUIRED

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED


@dataclass(frozen=True)
class Action:
    """A signed action: its EIP-712 struct and which field names the wallet that must sign it.

    `path_field` is taken from the URL (e.g. `bounty_id`) and signed, but not sent in the body.
    """

    name: str
    primary_type: str
    signer_field: str
    fields: tuple[Field, ...]
    path_field: str | None = None
    description: str = ""

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        reserved = {SIGNATURE_FIELD, DEADLINE_FIELD, self.path_field}
        if len(set(names)) != len(names) or reserved & set(names):
            raise ValueError(f"{self.name}: duplicate or reserved field names")
        if self.signer_field not in names:
            raise ValueError(f"{self.name}: signer field {self.signer_field} is not a field")
        signer = next(f for f in self.fields if f.name == self.signer_field)
        if signer.type != "address" or not signer.required:
            raise ValueError(f"{self.name}: the signer field must be a required address")
        for f in self.fields:
            if f.type not in FIELD_TYPES:
                raise ValueError(f"{self.name}.{f.name}: unsupported type {f.type}")

    def struct(self) -> list[dict[str, str]]:
        """The EIP-712 member list, in signing order: path id, body fields, deadline."""
        members = [{"name": self.path_field, "type": "string"}] if self.path_field else []
        members += [{"name": f.name, "type": f.type} for f in self.fields]
        members.append({"name": DEADLINE_FIELD, "type": "uint256"})
        return members


@dataclass(frozen=True)
class SignedAction:
    """A verified request: who signed what.

    `message` is the typed message as signed: the path id, the body's fields (addresses
    checksummed, optional fields defaulted) and the deadline.
    """

    action: str
    signer: str
    digest: str
    deadline: int
    message: dict[str, Any] = field(repr=False)


_registry: dict[str, Action] = {}


def register(action: Action) -> Action:
    """Add an action to the registry (idempotent for an identical definition)."""
    existing = _registry.get(action.name)
    if existing is not None and existing != action:
        raise ValueError(f"signed action {action.name} is already registered differently")
    if any(a.primary_type == action.primary_type and a.name != action.name
           for a in _registry.values()):
        raise ValueError(f"primary type {action.primary_type} is already used")
    _registry[action.name] = action
    return action


def registered() -> list[Action]:
    return sorted(_registry.values(), key=lambda a: a.name)


def get_action(name: str) -> Action:
    action = _registry.get(name)
    if action is None:
        raise UnknownAction(
            "no signed action by that name",
            details={"actions": [a.name for a in registered()]},
        )
    return action


def domain(settings: Settings) -> dict[str, Any]:
    return {
        "name": DOMAIN_NAME,
        "version": settings.signing_version,
        "chainId": settings.chain_id,
        "salt": settings.deployment_salt,
    }


def typed_data(settings: Settings, action: Action | str) -> dict[str, Any]:
    """`{domain, types, primaryType}` for a wallet's `eth_signTypedData_v4` (plus hints)."""
    act = get_action(action) if isinstance(action, str) else action
    return {
        "domain": domain(settings),
        "types": {"EIP712Domain": DOMAIN_TYPES, act.primary_type: act.struct()},
        "primaryType": act.primary_type,
        # Not part of EIP-712: which member comes from the URL, which wallet must sign, and the
        # value signed for an optional field the body leaves out.
        "path_field": act.path_field,
        "signer_field": act.signer_field,
        "defaults": {f.name: f.default for f in act.fields if not f.required},
    }


def catalogue(settings: Settings) -> dict[str, Any]:
    """What `GET /v1/typed-data` lists."""
    return {
        "domain": domain(settings),
        "actions": [
            {
                "name": a.name,
                "primaryType": a.primary_type,
                "signer_field": a.signer_field,
                "path_field": a.path_field,
                "description": a.description,
            }
            for a in registered()
        ],
    }


# -- verification ------------------------------------------------------------------------------


def verify(
    settings: Settings,
    now_ms: int,
    action: Action | str,
    body: Mapping[str, Any],
    path_value: str | None = None,
) -> SignedAction:
    """Check a signed request's shape, deadline and signer; return what was signed.

    Order: malformed (400) before expired (401) before a wrong signer (403), so the cheapest,
    most precise answer wins. Changes nothing; the caller records the replay guard.
    """
    act = get_action(action) if isinstance(action, str) else action
    signature = _signature_bytes(body.get(SIGNATURE_FIELD))
    deadline = _deadline(body.get(DEADLINE_FIELD), now_ms)
    allowed = {f.name for f in act.fields} | {SIGNATURE_FIELD, DEADLINE_FIELD}
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequest(
            f"unknown field(s): {', '.join(unknown)}",
            code="unknown_field",
            details={"fields": unknown, "allowed": sorted(allowed)},
        )
    message: dict[str, Any] = {}
    if act.path_field:
        if not isinstance(path_value, str) or not path_value:
            raise BadRequest(f"{act.path_field} is required", code="invalid_path")
        message[act.path_field] = path_value
    for f in act.fields:
        if f.name in body:
            message[f.name] = _typed_value(f, body[f.name])
        elif f.required:
            raise BadRequest(
                f"{f.name} is required", code="missing_field", details={"field": f.name}
            )
        else:
            message[f.name] = copy.deepcopy(f.default)
    message[DEADLINE_FIELD] = deadline
    signable = _signable(settings, act, message)
    digest = "0x" + keccak(b"\x19" + signable.version + signable.header + signable.body).hex()
    signer = _recover(signable, signature)
    claimed = message[act.signer_field]
    if signer != claimed:
        raise SignerMismatch(
            f"the signature is not by {act.signer_field} {claimed}",
            details={"field": act.signer_field, "claimed": claimed},
        )
    return SignedAction(act.name, signer, digest, deadline, message)


def _signature_bytes(value: Any) -> bytes:
    if not isinstance(value, str) or not SIGNATURE_RE.match(value):
        raise InvalidSignature("signature must be 0x followed by 65 bytes of hex (130 digits)")
    raw = bytes.fromhex(value[2:])
    r, s, v = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big"), raw[64]
    if v not in (0, 1, 27, 28):
        raise InvalidSignature("signature's v must be 27 or 28")
    if not (0 < r < SECP256K1_N and 0 < s <= SECP256K1_N // 2):
        raise InvalidSignature("signature's r or s is out of range (high s is refused, EIP-2)")
    return raw[:64] + bytes([v if v >= 27 else v + 27])


def _uint(value: Any) -> int | None:
    """A JSON integer or a decimal string of ASCII digits as an int; None for anything else."""
    if isinstance(value, str) and UINT_TEXT_RE.fullmatch(value):
        return int(value, 10)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _deadline(raw: Any, now_ms: int) -> int:
    value = _uint(raw)
    if value is None or not 0 < value < 2**40:
        raise BadRequest(
            "deadline must be an integer of unix seconds",
            code="invalid_deadline",
            details={"field": DEADLINE_FIELD},
        )
    if value * 1000 < now_ms:
        raise SignatureExpired(
            "the signature's deadline has passed",
            details={"deadline": value, "now": now_ms // 1000},
        )
    if value * 1000 > now_ms + MAX_DEADLINE_AHEAD_S * 1000:
        raise SignatureExpired(
            f"the signature's deadline is more than {MAX_DEADLINE_AHEAD_S} s ahead",
            details={"deadline": value, "now": now_ms // 1000, "max_ahead": MAX_DEADLINE_AHEAD_S},
        )
    return value


def _typed_value(f: Field, value: Any) -> Any:
    """Check a body value against its EIP-712 type (the encoder alone coerces too much)."""
    bad = BadRequest(
        f"{f.name} must be {_describe(f.type)}", code="invalid_field", details={"field": f.name}
    )
    if f.type == "string":
        if not isinstance(value, str) or not _utf8(value):
            raise bad
        return value
    if f.type == "address":
        return normalize_address(value, field=f.name)
    if f.type == "uint256":
        number = _uint(value)
        if number is None or not 0 <= number <= MAX_UINT256:
            raise bad
        return number
    if f.type == "string[]":
        if not isinstance(value, list) or not all(isinstance(v, str) and _utf8(v) for v in value):
            raise bad
        return list(value)
    raise bad  # pragma: no cover - Action validates types at registration


def _utf8(text: str) -> bool:
    """JSON can carry lone surrogates ("\\ud800") that no UTF-8 encoder (EIP-712's) accepts."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _describe(type_: str) -> str:
    return {
        "string": "a string",
        "address": "an address",
        "uint256": "a non-negative integer (a JSON integer or a decimal string)",
        "string[]": "a list of strings",
    }[type_]


def full_message(settings: Settings, action: Action, message: Mapping[str, Any]) -> dict[str, Any]:
    td = typed_data(settings, action)
    return {
        "types": td["types"],
        "primaryType": td["primaryType"],
        "domain": td["domain"],
        "message": dict(message),
    }


def _signable(settings: Settings, action: Action, message: Mapping[str, Any]) -> Any:
    from eth_account.messages import encode_typed_data

    return encode_typed_data(full_message=full_message(settings, action, message))


def _recover(signable: Any, signature: bytes) -> str:
    from eth_account import Account

    try:
        return str(Account.recover_message(signable, signature=signature))
    except Exception as exc:  # noqa: BLE001 - eth_keys raises several types for a bad curve point
        raise InvalidSignature("the signature does not recover to any wallet") from exc


def sign(settings: Settings, action: Action | str, message: Mapping[str, Any], key: str) -> str:
    """Sign a full typed message with a private key (tests and the local CLI; never a route)."""
    from eth_account import Account

    act = get_action(action) if isinstance(action, str) else action
    signed = Account.sign_message(_signable(settings, act, message), private_key=key)
    return "0x" + bytes(signed.signature).hex()


# -- replay guard ------------------------------------------------------------------------------


def guard_key(digest: str) -> dict[str, str]:
    return key(f"sig#{digest}", "sig")


def ensure_unused(store: DynamoStore, signed: SignedAction) -> None:
    """409 now if the message was already used (the transaction's guard stays authoritative)."""
    used = store.get(**guard_key(signed.digest))
    if used is not None:
        raise _replayed(used)


def replay_guard_op(signed: SignedAction, now_ms: int, ref: str | None = None) -> Op:
    """A put that fails if this message was used before; `ref` names what it did (an id)."""
    item: Item = {
        **guard_key(signed.digest),
        "action": signed.action,
        "signer": signed.signer,
        "used_at": now_ms,
        "ref": ref,
        "gc_at": signed.deadline + GUARD_GC_AFTER_S,
    }
    return put_op(item, if_absent=True, name=REPLAY_GUARD_OP)


def raise_if_replayed(exc: TransactionFailed) -> None:
    """Translate a lost replay guard into 409 `signature_replayed` (reporting what used it)."""
    failure = exc.failed(REPLAY_GUARD_OP)
    if failure is not None and failure.reason == "ConditionalCheckFailed":
        raise _replayed(failure.item) from exc


def _replayed(used: Item | None) -> SignatureReplayed:
    details = None
    if used:
        details = {"action": used.get("action"), "ref": used.get("ref")}
    return SignatureReplayed("this signed request was already used", details=details)
