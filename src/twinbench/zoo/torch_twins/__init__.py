"""The PyTorch twins of the zoo models, one module per model, kept apart from the models' own
modules so that loading a ModelSpec (config, Keras twin, weight map) never imports torch.

`twinbench.zoo.<model>` names its builder here through spec.TorchBuilder; only a PyTorch worker,
the FLOP counter, the parity proof and the torch-only weight export (runners/twin_export.py)
import these modules. Each mirrors its model's module: the same names, the same config.
"""
