"""The packaged fit benchmark (twinbench.benches.test_fit), run here by `pytest benches`."""

from twinbench.benches.test_fit import test_fit

__all__ = ["test_fit"]
