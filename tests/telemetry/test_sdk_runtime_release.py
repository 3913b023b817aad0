"""Releasing the SDK's default runtime at exit (telemetry/sdk_metrics.py) clears a private
slot of temporalio's: these fail on an SDK upgrade that moves it, instead of production
silently losing the release (or raising at exit)."""

import logging
import types

import temporalio.runtime

from telemetry import sdk_metrics
from telemetry.sdk_metrics import forget_default_runtime


def test_the_pinned_sdk_keeps_its_default_runtime_where_we_clear_it():
    holder = getattr(temporalio.runtime, "_runtime_ref", None)
    assert holder is not None and hasattr(
        holder, "_default_runtime"
    ), "temporalio moved its default runtime: update forget_default_runtime"


def test_the_slot_is_cleared_where_it_exists():
    holder = types.SimpleNamespace(_default_runtime=object(), _prevent_default=False)
    forget_default_runtime(holder)
    assert holder._default_runtime is None


def test_a_missing_slot_is_warned_about_once_and_never_raises(caplog, monkeypatch):
    monkeypatch.setattr(sdk_metrics, "_unforgettable", [])
    with caplog.at_level(logging.WARNING, logger=sdk_metrics.__name__):
        forget_default_runtime(types.SimpleNamespace())
        forget_default_runtime(None)
    warnings = [r for r in caplog.records if r.name == sdk_metrics.__name__]
    assert len(warnings) == 1 and "_default_runtime" in warnings[0].getMessage()
