"""FLOPs per step and the matmul peak behind "% of peak"."""

from __future__ import annotations

import pytest

from twinbench.measure.flops import count_step_flops
from twinbench.runners.pytorch import TorchRunner
from twinbench.zoo import load_spec
from twinbench.zoo.digits import TRAIN_SIZE

MLP_MACS_PER_EXAMPLE = 784 * 512 + 512 * 512 + 512 * 10


@pytest.mark.parametrize("batch", [1, 64])
def test_mlp_forward_flops_are_two_per_multiply_add(batch):
    assert count_step_flops(load_spec("mlp"), "infer", batch) == 2 * batch * MLP_MACS_PER_EXAMPLE


def test_training_step_counts_forward_and_backward():
    spec = load_spec("mlp")
    forward = count_step_flops(spec, "infer", 8)
    train = count_step_flops(spec, "train", 8)
    # backward: input and weight gradients (2x forward) minus the first layer's input gradient
    assert train == 3 * forward - 2 * 8 * 784 * 512


def test_fit_step_is_an_epoch_of_training_steps():
    spec = load_spec("mlp")
    per_example = count_step_flops(spec, "train", 1)
    assert count_step_flops(spec, "fit", 64) == per_example * TRAIN_SIZE


def test_cnn_flops_grow_linearly_with_batch():
    spec = load_spec("cnn")
    assert count_step_flops(spec, "infer", 4) == 4 * count_step_flops(spec, "infer", 1)


def test_matmul_peak_is_a_plausible_rate():
    runner = TorchRunner()
    peak = runner.peak_flops("cpu")
    assert 1e8 < peak < 1e14  # between a slow phone and a GPU: catches unit slips (s vs ms)


def test_transformer_attention_is_counted():
    # per example: 2 layers x (q, k, v, out: 4*32*64*64 MACs; scores and mix: 2*32*32*64 MACs;
    # MLP: 2*32*64*256 MACs) + head 64*10 MACs; 2 FLOPs per MAC
    per_layer = 4 * 32 * 64 * 64 + 2 * 32 * 32 * 64 + 2 * 32 * 64 * 256
    expected = 2 * (2 * per_layer + 64 * 10)
    assert count_step_flops(load_spec("transformer"), "infer", 3) == 3 * expected


def test_lstm_gates_are_counted_analytically():
    # embedding lookups are free; per example: 32 steps x 4 gates x (64 + 128) x 128 MACs
    # plus the head 128 x 10; 2 FLOPs per MAC
    expected = 2 * (32 * 4 * (64 + 128) * 128 + 128 * 10)
    assert count_step_flops(load_spec("lstm"), "infer", 2) == 2 * expected


def test_resnet_convolutions_are_counted():
    # per example, each conv: output pixels x c_in x c_out x k^2 MACs; widths 16/32/64/128
    def conv(size, c_in, c_out, k=3):
        return size * size * c_in * c_out * k * k

    macs = conv(32, 3, 16) + 4 * conv(32, 16, 16)  # stem, stage 1 (two blocks, no projection)
    for size, c_in, c_out in ((16, 16, 32), (8, 32, 64), (4, 64, 128)):  # stages 2-4
        macs += conv(size, c_in, c_out) + 3 * conv(size, c_out, c_out) + conv(size, c_in, c_out, 1)
    macs += 128 * 10  # head; BatchNorm, ReLU, additions and pooling are element-wise: not counted
    assert count_step_flops(load_spec("resnet"), "infer", 2) == 2 * 2 * macs
