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
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.request
from typing import Any


def typed_data(api: str, action: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{api}/v1/typed-data/{action}", timeout=10) as resp:  # noqa: S310
        data: dict[str, Any] = json.load(resp)
        return data


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
            raise SystemExit(f"this action needs --id (its {td['path_field']})")
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
    signed = Account.sign_message(encode_typed_data(full_message=full), private_key=key)
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
    body = json.loads(args.body)
    td = typed_data(args.api.rstrip("/"), args.action)
    out = signed_body(td, body, args.key, args.id, args.ttl, uint_strings=args.uint_strings)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
