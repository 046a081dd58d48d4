"""attune.signals: beats → 5 s ticks (HR, lnRMSSD), a personal baseline, an activation
score, steady states and activation episodes, and the breathing the heart shows (rate, RSA
amplitude, coherence) — one pipeline for live and batch.

See docs/activation.md and docs/breathing.md for every definition, threshold and its source.

Live::

    from attune.signals.live import LivePipeline
    live = LivePipeline(conn); recorder.add_listener(live.push); live.add_listener(on_events)

Batch::

    from attune.signals.batch import analysis_file, analysis_store_span
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from attune.signals.pipeline import AnalysisConfig, Analyzer

__all__ = ["AnalysisConfig", "Analyzer"]


def __getattr__(name: str) -> Any:
    # lazy (PEP 562): importing attune.signals.cli to build the parser must not load numpy
    if name in __all__:
        from attune.signals import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
