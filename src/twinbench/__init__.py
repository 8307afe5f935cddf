"""twinbench: identical Keras and PyTorch models, benchmarked and gated for regressions."""

__version__ = "0.1.0"
