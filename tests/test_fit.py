"""The fit mode: digits mapped onto the zoo's inputs, which cases run, and comparable learning.

The accuracy test trains the mlp with the runners' own fit code, in both frameworks, for the
epochs a benchmark process trains (the first epoch plus FIT_ROUNDS timed ones).
"""

from __future__ import annotations

import numpy as np
import pytest

from twinbench.core.cases import Case
from twinbench.core.status import Status
from twinbench.execute.case import CaseResult, CaseRun
from twinbench.execute.fit import (
    FIT_ROUNDS,
    FIT_TIMING,
    MAX_ACCURACY_GAP,
    MIN_ACCURACY,
    accuracy_verdict,
    fit_summary,
    fit_unsupported,
    learning_problem,
)
from twinbench.measure.timing import Measurement, measure
from twinbench.zoo import load_spec
from twinbench.zoo.digits import (
    TEST_SIZE,
    TRAIN_SIZE,
    load_digits,
    read_bundled_digits,
    to_model_input,
)


def test_an_image_is_padded_around_its_centre():
    image = np.arange(64, dtype=np.float32).reshape(1, 8, 8) + 1  # no zero pixel
    flat = to_model_input(image, (784,)).reshape(28, 28)
    np.testing.assert_array_equal(flat[10:18, 10:18], image[0])
    assert flat.sum() == image.sum()  # zeros everywhere else
    rgb = to_model_input(image, (3, 32, 32))
    assert rgb.shape == (1, 3, 32, 32) and rgb.sum() == 3 * image.sum()
    for channel in rgb[0]:
        np.testing.assert_array_equal(channel[12:20, 12:20], image[0])


@pytest.mark.parametrize("shape", [(10,), (3, 4, 4), (5, 7)])
def test_an_input_that_cannot_hold_a_digit_is_refused(shape):
    with pytest.raises(ValueError):
        to_model_input(np.zeros((1, 8, 8), np.float32), shape)


def test_the_bundled_file_holds_what_scikit_learn_loads():
    from sklearn.datasets import load_digits as sklearn_digits

    images, labels = read_bundled_digits()
    expected = sklearn_digits()
    np.testing.assert_array_equal(images, expected.images)
    np.testing.assert_array_equal(labels, expected.target)


def test_digits_split_is_seeded_and_standardised():
    digits = load_digits((784,), seed=0)
    assert digits.x_train.shape == (TRAIN_SIZE, 784) and digits.x_test.shape == (TEST_SIZE, 784)
    assert digits.x_train.dtype == np.float32 and digits.y_train.dtype == np.int64
    assert np.bincount(digits.y_test, minlength=10).min() >= 20  # every class is tested
    assert abs(digits.x_train.mean()) < 1e-4 and abs(digits.x_train.std() - 1) < 1e-4
    again, other = load_digits((784,), seed=0), load_digits((784,), seed=1)
    np.testing.assert_array_equal(digits.y_test, again.y_test)
    assert not np.array_equal(digits.y_test, other.y_test)


def test_fit_runs_image_models_at_epoch_sized_batches_only():
    assert fit_unsupported(Case("mlp", "keras", "cpu", "fit", 64)) is None
    assert fit_unsupported(Case("lstm", "keras", "cpu", "infer", 1)) is None  # not fit
    reason = fit_unsupported(Case("lstm", "torch", "cpu", "fit", 64))
    assert reason and "token ids" in reason
    reason = fit_unsupported(Case("cnn", "torch", "cuda", "fit", 64))
    assert reason and "learns digits too slowly" in reason
    reason = fit_unsupported(Case("mlp", "torch", "cpu", "fit", 1))
    assert reason and "1437 steps" in reason


def test_fit_timing_is_one_epoch_per_sample_after_the_first():
    calls: list[int] = []

    def epochs(loops: int) -> float:
        calls.append(loops)
        return 0.1

    measurement = measure(epochs, FIT_TIMING)
    assert calls == [1] * FIT_ROUNDS  # no warm-up or calibration epochs beyond the first call
    assert (measurement.loops, len(measurement.samples)) == (1, FIT_ROUNDS)


def test_accuracy_verdict_needs_both_high_and_close():
    assert accuracy_verdict([0.95, 0.96]) == "ok"
    assert accuracy_verdict([0.97, 0.97 - MAX_ACCURACY_GAP - 0.01]) == "apart"
    assert accuracy_verdict([0.97, MIN_ACCURACY - 0.01]) == "did not learn"


def fit_run(framework: str, accuracies: list[float]) -> CaseRun:
    case = Case("mlp", framework, "cpu", "fit", 64)
    measured = Measurement(warmup_s=0.0, loops=1, samples=[0.1])
    processes = [
        CaseResult(case, Status.OK, measurement=measured, fit={"accuracy": a, "epochs": 4})
        for a in accuracies
    ]
    return CaseRun(case=case, status=Status.OK, processes=processes)


def test_learning_problem_names_a_model_that_did_not_learn_or_its_distant_twin():
    keras_run = fit_run("keras", [0.98, 0.97])
    assert learning_problem(keras_run, [keras_run]) is None
    assert learning_problem(fit_run("torch", [0.93]), [keras_run]) is None
    problem = learning_problem(fit_run("torch", [0.99, 0.91]), [keras_run])
    assert problem and "0.910 against 0.970 for keras" in problem
    problem = learning_problem(fit_run("torch", [0.5]), [keras_run])
    assert problem and "did not learn" in problem


def test_fit_summary_records_the_lowest_accuracy_and_the_epochs():
    summary = fit_summary([{"accuracy": 0.96, "epochs": 4}, {"accuracy": 0.95, "epochs": 4}])
    assert summary is not None
    assert (summary["accuracy"], summary["accuracies"], summary["epochs"]) == (
        0.95,
        [0.96, 0.95],
        4,
    )
    assert fit_summary([None, None]) is None


def test_one_epoch_in_the_same_order_gives_the_same_model():
    """Unshuffled, fit and the DataLoader loop take the same steps, the short last batch too."""
    import torch

    from twinbench.runners import keras_tf, pytorch

    spec, digits = load_spec("mlp"), load_digits((784,), seed=0)
    x, y = digits.x_train[:200], digits.y_train[:200]  # batches of 64, 64, 64 and 8
    torch_model = spec.build_torch(0)
    keras_model = spec.build_keras("float32")
    spec.transfer(torch_model, keras_model)
    keras_tf.make_fit_epoch(keras_model, x, y, 64, shuffle=False)()
    loader = pytorch.make_fit_loader(x, y, 64, seed=0, pin=False, shuffle=False)
    optimizer = pytorch.make_optimizer(torch_model)
    pytorch.make_fit_epoch(torch_model, optimizer, loader, torch.device("cpu"))()
    with torch.no_grad():
        torch_logits = torch_model(torch.from_numpy(digits.x_test)).numpy()
    keras_logits = np.asarray(keras_model(digits.x_test, training=False))
    # float32 after 4 SGD steps: seen 1.6e-7; without the short last batch it is 0.16
    np.testing.assert_allclose(keras_logits, torch_logits, rtol=1e-5, atol=1e-5)


def trained_accuracy(framework: str) -> dict:
    """Test accuracy of the mlp after a benchmark process' epochs, with the runner's fit code."""
    from twinbench.runners import load_runner

    runner = load_runner(framework)
    prepared = runner.prepare(load_spec("mlp"), Case("mlp", framework, "cpu", "fit", 64), seed=0)
    prepared.run_once()  # the first epoch, timed apart in a benchmark
    prepared.time_loops(FIT_ROUNDS)
    assert prepared.evaluate is not None
    return prepared.evaluate()


def test_both_frameworks_learn_digits_to_comparable_accuracy():
    keras_fit, torch_fit = trained_accuracy("keras"), trained_accuracy("torch")
    assert keras_fit["epochs"] == torch_fit["epochs"] == 1 + FIT_ROUNDS
    accuracies = [keras_fit["accuracy"], torch_fit["accuracy"]]
    assert min(accuracies) >= MIN_ACCURACY, accuracies
    assert abs(accuracies[0] - accuracies[1]) <= MAX_ACCURACY_GAP, accuracies
