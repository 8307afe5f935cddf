"""The packaged infer benchmark (twinbench.benches.test_infer), run here by `pytest benches`."""

from twinbench.benches.test_infer import test_infer

__all__ = ["test_infer"]
