"""Loads the twinbench pytest plugin. Thin on purpose: no TensorFlow or PyTorch import here."""

pytest_plugins = ["twinbench.plugin"]
