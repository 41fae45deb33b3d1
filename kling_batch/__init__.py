"""kling-batch: a declarative batch manifest runner for Kling V3 video models on DashScope."""

__version__ = "0.1.0"
