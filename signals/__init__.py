"""attune.signals: beats → 5 s ticks (HR, lnRMSSD), a personal baseline, an activation
score, steady states and activation episodes — one pipeline for live and batch.

See docs/activation.md for every definition, threshold and its source.

Live::

    from attune.signals.live import LivePipeline
    live = LivePipeline(conn); recorder.add_listener(live.push); live.add_listener(on_events)

Batch::

    from attune.signals.batch import analysis_file, analysis_store_span
"""

from attune.signals.pipeline import AnalysisConfig, Analyzer

__all__ = ["AnalysisConfig", "Analyzer"]
