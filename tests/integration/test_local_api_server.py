"""The local API server (`chalice local` as `make dev` runs it) and the `local.sign` tool.

One store server and one API process for the module: a burst of 50 simultaneous connections
must all be accepted at once and answered. With chalice's own listen backlog of 5 the kernel
turns the overflow away: a reset where it aborts on overflow (macOS; Linux with
`tcp_abort_on_overflow`), elsewhere a dropped SYN that the client only retries after a second.
So the test requires no error and every connection established in well under that second.
And `python -m local.sign` must fail with one line and a non-zero exit on bad input, and still
sign good input.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.settings import PURPOSE_KEY_SETTINGS
from local import dev, processes

ROOT = Path(__file__).resolve().parents[2]
BURST = 50
KEY = "0x" + "ab" * 32


@pytest.fixture(scope="module")
def api_url(store_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = dev.service_env(
        store_server,
        "http://127.0.0.1:9",
        dict.fromkeys(PURPOSE_KEY_SETTINGS, KEY),
        "0x" + "cd" * 20,
        "admin-token-0123456789abcdef",
    )
    log = tmp_path_factory.mktemp("api") / "api.log"
    child, url = processes.start_api(processes.free_port(), env, log_path=log)
    yield url
    child.stop()


# The first SYN retransmission comes after 1 s: a connection that took that long was turned away.
SYN_RETRY_S = 1.0


def burst(url: str, count: int) -> tuple[list[bytes], list[str], list[float]]:
    """`count` connections opened at the same instant, each sending one GET /v1/health."""
    host, port = url.removeprefix("http://").split(":")
    start = threading.Barrier(count)
    statuses: list[bytes] = []
    errors: list[str] = []
    connect_s: list[float] = []

    def one() -> None:
        start.wait()
        try:
            began = time.monotonic()
            with socket.create_connection((host, int(port)), timeout=60) as conn:
                connect_s.append(time.monotonic() - began)
                conn.sendall(b"GET /v1/health HTTP/1.1\r\nHost: local\r\nConnection: close\r\n\r\n")
                data = b""
                while chunk := conn.recv(65536):
                    data += chunk
            statuses.append(data.split(b"\r\n", 1)[0])
        except OSError as exc:
            errors.append(type(exc).__name__)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return statuses, errors, connect_s


def test_a_burst_of_50_connections_is_accepted_at_once_and_answered(api_url: str) -> None:
    statuses, errors, connect_s = burst(api_url, BURST)
    assert errors == []
    assert max(connect_s) < SYN_RETRY_S / 2, sorted(connect_s)[-5:]
    assert len(statuses) == BURST
    assert all(s.startswith(b"HTTP/1.1 ") for s in statuses), set(statuses)


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "QUERY", "PROPFIND"])
def test_a_method_no_route_can_have_is_a_json_405_not_a_server_error(
    api_url: str, method: str
) -> None:
    import urllib.error
    import urllib.request

    target = api_url + "/v1/health" if method == "TRACE" else api_url + "/"
    request = urllib.request.Request(target, method=method)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 405
    assert refused.value.headers["Content-Type"] == "application/json"
    assert json.loads(refused.value.read())["error"] == "method_not_allowed"


def sign(api_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "local.sign", "--api", api_url, "--key", KEY, *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["no_such_action", "{}"], "unknown action 'no_such_action'; known: "),
        (["create_bounty", "{poster: 1"], "the body is not valid JSON"),
        (["create_bounty", "[1, 2]"], "the body must be a JSON object"),
        (["create_bounty", '{"nonsense": 1}'], "cannot sign this body as CreateBounty"),
        (["accept_submission", "{}"], "this action needs --id"),
    ],
)
def test_sign_fails_with_one_line_and_a_non_zero_exit(
    api_url: str, args: list[str], says: str
) -> None:
    done = sign(api_url, *args)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("local.sign: ") and says in lines[0], lines


def test_sign_says_when_the_api_is_not_there() -> None:
    done = sign(f"http://127.0.0.1:{processes.free_port()}", "create_bounty", "{}")
    assert (done.returncode, done.stdout) == (2, "")
    assert len(done.stderr.strip().splitlines()) == 1
    assert "cannot reach the API" in done.stderr


def sample(kind: str) -> Any:
    if kind.endswith("[]"):
        return [sample(kind.removesuffix("[]"))]
    if kind == "address":
        return "0x" + "11" * 20
    if kind.startswith(("uint", "int")):
        return "1"
    if kind.startswith("bytes"):
        return "0x" + "00" * int(kind.removeprefix("bytes") or 32)
    return "x"


def test_sign_still_prints_a_signed_body_for_good_input(api_url: str) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{api_url}/v1/typed-data/create_bounty") as resp:  # noqa: S310
        td = json.load(resp)
    fields = {
        f["name"]: sample(f["type"])
        for f in td["types"][td["primaryType"]]
        if f["name"] != "deadline"
    }
    done = sign(api_url, "create_bounty", json.dumps(fields))
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["signature"].startswith("0x") and len(body["signature"]) == 132
    assert KEY.removeprefix("0x") not in done.stdout
