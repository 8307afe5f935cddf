"""The benchmark modules, shipped with the package so they run from anywhere.

``pytest --pyargs twinbench.benches --models mlp`` runs them in any project where twinbench is
installed; the repository's ``benches/`` folder imports these same functions.
"""
