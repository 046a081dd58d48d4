"""attune: a local-first wearable biosignal regulation monitor."""

__version__ = "0.1.0"
