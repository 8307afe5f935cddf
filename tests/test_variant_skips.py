"""An unsupported variant skips with the reason, and only that variant (DESIGN decision 8).

The compiler-less PyTorch half lives in test_variants.py (a real missing C++ compiler); here
XLA is taken away at TensorFlow's boundary, since a CPU TensorFlow cannot be made to lack it.
"""

from __future__ import annotations

import pytest

from twinbench.core.cases import Case
from twinbench.core.status import Status
from twinbench.execute.worker import measure_one

REQUEST = {"timing": {"warmup_s": 0.0, "min_sample_s": 0.001, "rounds": 1}}


@pytest.fixture
def keras_without_xla(monkeypatch):
    """The real Keras runner, on a TensorFlow whose jit_compile fails as a build without XLA."""
    from twinbench.runners import keras_tf

    real_function = keras_tf.tf.function

    def function(*args, **kwargs):
        if kwargs.get("jit_compile"):
            raise keras_tf.tf.errors.UnimplementedError(None, None, "XLA is not linked in")
        return real_function(*args, **kwargs)

    keras_tf._try_xla.cache_clear()
    monkeypatch.setattr(keras_tf.tf, "function", function)
    yield keras_tf.KerasRunner()
    keras_tf._try_xla.cache_clear()


def test_xla_unavailable_skips_xla_cases_with_the_reason(keras_without_xla):
    case = Case("mlp", "keras", "cpu", "infer", 1, "xla")
    result = measure_one(keras_without_xla, case, REQUEST)
    assert result.status == Status.SKIPPED
    assert (result.reason or "").startswith("XLA (jit_compile=True) does not work here:")
    assert "XLA is not linked in" in (result.reason or "")
    assert not result.device_missing  # a missing compiler is no missing GPU (--require-gpu)


def test_xla_unavailable_leaves_the_graph_variant_runnable(keras_without_xla):
    graph = Case("mlp", "keras", "cpu", "infer", 1, "graph")
    assert keras_without_xla.variant_available(graph) is None
