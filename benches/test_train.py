"""The packaged train benchmark (twinbench.benches.test_train), run here by `pytest benches`."""

from twinbench.benches.test_train import test_train

__all__ = ["test_train"]
