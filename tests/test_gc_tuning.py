"""The socket processes' garbage-collector settings (pulsera/gc_tuning.py)."""

from __future__ import annotations

import gc

from pulsera.gc_tuning import gc_tune


def test_thresholds_are_set_and_start_up_objects_frozen():
    before = gc.get_threshold()
    try:
        gc_tune((50_000, 20, 100))
        assert gc.get_threshold() == (50_000, 20, 100)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_no_thresholds_leave_the_collector_alone():
    before = gc.get_threshold()
    gc_tune(())
    assert gc.get_threshold() == before


def test_settings_parse_the_documented_default(settings):
    from pulsera import settings as production

    assert production.PULSERA_GC_THRESHOLDS == (50_000, 20, 100)
    assert settings.PULSERA_GC_THRESHOLDS == ()  # tests keep Python's defaults
