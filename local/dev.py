"""`make dev`: the whole service on this machine, on loopback, with embedded defaults.

Starts the serialized DynamoDB-compatible store, a hardhat node, creates the table, deploys the
test token, funds a fresh wallet per purpose (escrow, faucet, anchor), starts `chalice local`,
and runs the scheduled jobs every 2 s. Ctrl-C stops everything it started. State is ephemeral:
each run starts from nothing.
If the store, the chain node or the API dies, the stack says which and stops; a dead job runner
is restarted (`local.supervisor`). Logs go to one folder per API port, emptied at each start.
`python -m local.rotate_key` rotates a hot key of the running stack (`local.rotation`).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from chalicelib.core.settings import PURPOSE_KEY_SETTINGS
from local import bootstrap, processes, supervisor
from local.processes import HOST, Child, StackError
from local.rotation import PID_FILE, Rotator

TABLE_NAME = "settlekit-local"
CHAIN_ID = 31337
# Local blocks come every second, so two confirmations take about two seconds.
CONFIRMATIONS = 2
MINING_INTERVAL_MS = 1000
# Settings an operator may set for `make dev` (e.g. a low fee cap to try the runbook's fee spike).
OVERRIDABLE = ("PAYOUT_MAX_FEE_WEI", "PAYOUT_REBROADCAST_SECONDS", "PAYOUT_FEE_BUMP_PERCENT")


def port_setting(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise StackError(f"{name} must be a port number (1-65535), got {raw!r}")
    return int(raw)


def service_env(
    store_url: str,
    rpc_url: str,
    keys: dict[str, str],
    token: str,
    admin: str,
    anchor_registry: str = "",
    api_url: str = "",
) -> dict[str, str]:
    anchoring = {"ANCHOR_REGISTRY_ADDRESS": anchor_registry} if anchor_registry else {}
    # The pages' own origin may call the API from elsewhere too (both spellings of loopback),
    # and the pages may reach the local node (wallet reads, the anchor verifier).
    web = {
        "WEB_ALLOWED_ORIGINS": ",".join(
            [api_url, api_url.replace(HOST, "localhost")] if api_url else []
        ),
        "WEB_RPC_URLS": rpc_url,
    }
    return {
        **anchoring,
        **web,
        # One wallet per purpose (escrow, faucet, anchor), each with its own local key.
        **{PURPOSE_KEY_SETTINGS[purpose]: key for purpose, key in keys.items()},
        # Local batches are anchored after 5 s, so a demo does not wait the default 5 minutes.
        "ANCHOR_MAX_AGE_SECONDS": "5",
        "STAGE": "local",
        "TABLE_NAME": TABLE_NAME,
        "DYNAMODB_ENDPOINT_URL": store_url,
        "CHAIN_RPC_URL": rpc_url,
        "CHAIN_ID": str(CHAIN_ID),
        "CONFIRMATIONS": str(CONFIRMATIONS),
        # The local node has no finalized tag of its own; 5 blocks (5 s) keeps demos and the
        # finality-gated OTC secret quick. Public chains use the default depth or their tag.
        "FINALITY_DEPTH": "5",
        "TOKEN_ADDRESS": token,
        "TOKEN_SYMBOL": bootstrap.TOKEN_SYMBOL,
        "TOKEN_DECIMALS": str(bootstrap.TOKEN_DECIMALS),
        "ADMIN_TOKEN": admin,
        "PAYOUT_REBROADCAST_SECONDS": "15",
        # A killed job runner's lease frees up quickly, so its restart resumes within seconds.
        "LEASE_TTL_MS": "10000",
        # Faucet: events on, and a few drips a minute (every local request comes from 127.0.0.1,
        # which is one client IP for the per-IP limit).
        "EVENTS_ENABLED": "true",
        "DRIP_MAX_REQUESTS": "5",
        "DRIP_WINDOW_SECONDS": "60",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }


def log_folder_path(api_port: int) -> Path:
    return Path(tempfile.gettempdir()) / f"settlekit-dev-{api_port}"


def log_folder(api_port: int) -> Path:
    """One folder per API port, emptied at each start: runs do not pile up folders in /tmp."""
    logs = log_folder_path(api_port)
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    return logs


def banner(
    api: str,
    rpc: str,
    token: str,
    wallets: dict[str, str],
    admin: str,
    logs: Path,
    pids: dict[str, int],
) -> str:
    return "\n".join(
        [
            "",
            "Settlekit is running (state is in memory and vanishes on Ctrl-C)",
            f"  API URL       {api}",
            f"  RPC URL       {rpc}",
            f"  chain id      {CHAIN_ID}",
            f"  token (SKT)   {token}",
            f"  registry      {os.environ.get('ANCHOR_REGISTRY_ADDRESS', '-')}",
            *(f"  {purpose + ' wallet':<14}{address}" for purpose, address in wallets.items()),
            f"  admin token   {admin}",
            f"  job runner    pid {pids['jobs']}   (kill -9 {pids['jobs']}: it is restarted)",
            f"  other pids    store {pids['store']}, chain {pids['chain']}, API {pids['api']}",
            f"  logs          {logs}",
            "",
            f"  pages         {api}/  (claim, faucet, organizer, bounties, OTC, anchors)",
            f"  try:  curl -s {api}/v1/health",
            "",
            "Press Ctrl-C to stop.",
            "",
        ]
    )


def overrides(environ: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    return {name: environ[name].strip() for name in OVERRIDABLE if environ.get(name, "").strip()}


def start_jobs(env: dict[str, str], logs: Path) -> Child:
    return processes.spawn(
        "jobs",
        [sys.executable, "-m", "local.jobs_loop"],
        env=env,
        log_path=logs / "jobs.log",
        append=True,
    )


def main() -> int:
    children: list[Child] = []

    def shutdown(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, shutdown)
    # SIGUSR1 asks for a key rotation; until the stack is up it is only remembered.
    rotator = Rotator(lambda line: print(line, flush=True))
    signal.signal(signal.SIGUSR1, rotator.ask)
    pid_file: Path | None = None
    try:
        api_port = port_setting("API_PORT", 8000)
        rpc_port = port_setting("RPC_PORT", 8545)
        store_port = port_setting("STORE_PORT", 0) or processes.free_port()
        processes.require_free(api_port, "API", "API_PORT")
        processes.require_free(rpc_port, "chain node", "RPC_PORT")
        processes.require_free(store_port, "store", "STORE_PORT")
        logs = log_folder(api_port)
        pid_file = logs / PID_FILE
        pid_file.write_text(str(os.getpid()))
        admin = os.environ.get("ADMIN_TOKEN", "").strip() or secrets.token_urlsafe(24)
        if len(admin) < 16:
            raise StackError("ADMIN_TOKEN must be at least 16 characters")

        print("starting the store and the chain node ...", flush=True)
        store, store_url = processes.start_store(store_port, log_path=logs / "store.log")
        children.append(store)
        chain, rpc_url = processes.start_chain(
            rpc_port, interval_ms=MINING_INTERVAL_MS, log_path=logs / "chain.log"
        )
        children.append(chain)

        import boto3
        from eth_account import Account
        from web3 import Web3

        from chalicelib.core.table import ensure_table

        keys = {purpose: "0x" + secrets.token_hex(32) for purpose in PURPOSE_KEY_SETTINGS}
        wallets = {purpose: Account.from_key(key).address for purpose, key in keys.items()}
        signer_env: dict[str, str] = {}
        if os.environ.get("LOCAL_SIGNER", "").strip() == "kms":
            from local.kms_key import create_hot_key

            # One KMS key, the shared wallet, pays for every purpose (no local keys then).
            signer_env, hot_wallet = create_hot_key(store_url)
            keys, wallets = {}, dict.fromkeys(PURPOSE_KEY_SETTINGS, hot_wallet)
        w3 = Web3(Web3.HTTPProvider(rpc_url))
        local_chain = bootstrap.prepare(w3, wallets)
        # From now on blocks come only on the interval, as on a real chain: with automine on,
        # hardhat refuses a transaction priced under the base fee instead of keeping it pending.
        w3.provider.make_request("evm_setAutomine", [False])
        env = service_env(
            store_url,
            rpc_url,
            keys,
            local_chain.token_address,
            admin,
            local_chain.anchor_registry,
            api_url=f"http://{HOST}:{api_port}",
        )
        env.update(signer_env)  # the KMS key, when asked for
        env.update(overrides(os.environ))
        os.environ.update(env)
        ensure_table(boto3.client("dynamodb", endpoint_url=store_url), TABLE_NAME)

        print("starting the API ...", flush=True)
        api, api_url = processes.start_api(api_port, env, log_path=logs / "api.log")
        children.append(api)
        jobs = start_jobs(env, logs)
        pids = {c.name: c.proc.pid for c in (store, chain, api, jobs)}
        print(
            banner(api_url, rpc_url, local_chain.token_address, wallets, admin, logs, pids),
            flush=True,
        )
        rotator.attach(
            env,
            logs,
            w3,
            start_api=lambda new_env: processes.start_api(
                api_port, new_env, log_path=logs / "api.log", append=True
            )[0],
            start_jobs=lambda new_env: start_jobs(new_env, logs),
        )
        supervisor.watch(
            supervisor.Stack(children, jobs, lambda: start_jobs(env, logs)),
            logs,
            lambda line: print(line, flush=True),
            control=rotator,
        )
        return 0
    except StackError as exc:
        print(f"make dev: {exc}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
        return 0
    finally:
        for child in reversed(children):
            child.stop()
        if pid_file is not None:
            pid_file.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
