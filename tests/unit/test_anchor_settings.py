"""Anchoring settings: defaults, and bad values stop start-up naming the variable."""

from __future__ import annotations

import pytest

from chalicelib import jobs
from chalicelib.core.errors import SettingsError
from chalicelib.core.settings import load_settings


def test_anchoring_is_off_by_default_with_sane_windows() -> None:
    s = load_settings({})
    assert s.anchor_registry_address is None
    assert (s.anchor_max_age_seconds, s.anchor_max_batch, s.anchor_max_attempts) == (300, 1000, 3)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ANCHOR_REGISTRY_ADDRESS", "0x1234"),
        ("ANCHOR_MAX_AGE_SECONDS", "-1"),
        ("ANCHOR_MAX_BATCH", "0"),
        ("ANCHOR_MAX_BATCH", "10001"),
        ("ANCHOR_MAX_ATTEMPTS", "many"),
    ],
)
def test_a_bad_anchoring_setting_is_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({name: value})


def test_the_anchor_job_runs_before_the_payout_engine_in_a_tick() -> None:
    names = [name for name, _ in jobs.SCHEDULED_JOBS]
    assert names.index("anchors") < names.index("payouts")
