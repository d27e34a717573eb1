"""Load contract ABIs shipped inside chalicelib (no compiler at run time)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

# Relative to this module so it works from a Lambda zip as well as a checkout.
ABI_DIR = Path(__file__).resolve().parent.parent / "abi"


@cache
def _read_abi(name: str) -> str:
    return (ABI_DIR / f"{name}.abi.json").read_text(encoding="utf-8")


def load_abi(name: str) -> list:
    """ABI for contract `name` (e.g. "AnchorRegistry"); a fresh list per call."""
    # Cache the text, not the parsed list, so callers can't mutate shared state.
    return json.loads(_read_abi(name))
