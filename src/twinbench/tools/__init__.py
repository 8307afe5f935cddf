"""Tools for experiments with the gate; they import nothing else from twinbench."""
