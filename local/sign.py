"""Sign a request body for a signed action, the way any wallet would (local tooling only).

    python -m local.sign --key 0xac09... create_bounty '{"poster": "0xf39F...", ...}'
    python -m local.sign --key 0xac09... --id bty_... accept_submission '{"poster": ..., ...}'

Fetches `{domain, types, primaryType}` from `GET /v1/typed-data/{action}` of the running API
(`--api`, default http://127.0.0.1:$API_PORT), adds `deadline` (now + `--ttl` seconds) and the
path id (`--id`, e.g. the bounty id), signs the EIP-712 message with eth_account and prints the
JSON body to POST (the fields, `deadline` and `signature`; never the key).

The served domain carries the deployment's `salt`, so a body signed against one deployment is
refused by every other (staging vs production on the same chain). `--uint-strings` writes the
uint256 fields and the deadline as decimal strings, the way ethers serializes them.

Any failure (unknown action, malformed JSON, API unreachable, bad key, a field the action does
not take) prints one line on stderr, nothing on stdout, and exits with status 2, so
`curl -d "$(python -m local.sign ...)"` never silently sends an empty body after a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any

EXIT_USAGE = 2  # what argparse uses for a bad command line


class SignError(Exception):
    """Signing cannot go on; the message is the one line shown to the user."""


def typed_data(api: str, action: str) -> dict[str, Any]:
    url = f"{api}/v1/typed-data/{urllib.request.quote(action, safe='')}"
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - a local tool
            data: dict[str, Any] = json.load(resp)
            return data
    except urllib.error.HTTPError as exc:
        known = _known_actions(exc)
        if exc.code == 404 and known:
            raise SignError(f"unknown action {action!r}; known: {', '.join(known)}") from exc
        raise SignError(f"GET {url} answered {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise SignError(f"cannot reach the API at {api} (is `make dev` running? --api)") from exc
    except ValueError as exc:
        raise SignError(f"GET {url} did not answer JSON") from exc


def _known_actions(exc: urllib.error.HTTPError) -> list[str]:
    try:
        details = json.loads(exc.read()).get("details") or {}
        return [str(a) for a in details.get("actions") or []]
    except (ValueError, AttributeError, OSError):
        return []


def parse_body(text: str) -> dict[str, Any]:
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise SignError(f"the body is not valid JSON ({exc})") from exc
    if not isinstance(body, dict):
        raise SignError("the body must be a JSON object, e.g. '{\"poster\": \"0x...\"}'")
    return body


def signed_body(
    td: dict[str, Any],
    body: dict[str, Any],
    key: str,
    path_id: str | None,
    ttl: int,
    *,
    uint_strings: bool = False,
) -> dict[str, Any]:
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    if "salt" not in td["domain"]:
        raise SystemExit("the API serves a domain without a deployment salt; upgrade it")
    out = {**body, "deadline": int(time.time()) + ttl}
    message = dict(out)
    if td.get("path_field"):
        if not path_id:
            raise SignError(f"this action needs --id (its {td['path_field']})")
        message[td["path_field"]] = path_id
    # Optional fields left out of the body are signed with their defaults, as the API does.
    for name, value in (td.get("defaults") or {}).items():
        message.setdefault(name, value)
    full = {
        "types": td["types"],
        "primaryType": td["primaryType"],
        "domain": td["domain"],
        "message": message,
    }
    try:
        signable = encode_typed_data(full_message=full)
    except Exception as exc:  # noqa: BLE001 - eth_account raises many types for a bad message
        raise SignError(f"cannot sign this body as {td['primaryType']}: {exc}") from exc
    try:
        signed = Account.sign_message(signable, private_key=key)
    except Exception as exc:  # noqa: BLE001 - and as many for a bad key
        raise SignError("--key is not a valid private key (0x and 64 hex digits)") from exc
    if uint_strings:
        uints = {m["name"] for m in td["types"][td["primaryType"]] if m["type"] == "uint256"}
        out = {k: str(v) if k in uints and isinstance(v, int) else v for k, v in out.items()}
    return {**out, "signature": "0x" + bytes(signed.signature).hex()}


def main(argv: list[str] | None = None) -> int:
    default_api = f"http://127.0.0.1:{os.environ.get('API_PORT', '8000')}"
    parser = argparse.ArgumentParser(
        prog="python -m local.sign", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("action", help="e.g. create_bounty (GET /v1/typed-data lists them)")
    parser.add_argument("body", help="the action's fields as a JSON object")
    parser.add_argument("--key", required=True, help="the acting wallet's private key")
    parser.add_argument("--id", help="the id in the URL path (e.g. the bounty id)")
    parser.add_argument("--api", default=default_api, help=f"API URL (default {default_api})")
    parser.add_argument("--ttl", type=int, default=300, help="seconds until the deadline")
    parser.add_argument(
        "--uint-strings", action="store_true", help="send uint256 values as decimal strings"
    )
    args = parser.parse_args(argv)
    try:
        body = parse_body(args.body)
        td = typed_data(args.api.rstrip("/"), args.action)
        out = signed_body(td, body, args.key, args.id, args.ttl, uint_strings=args.uint_strings)
    except SignError as exc:
        print(f"local.sign: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
