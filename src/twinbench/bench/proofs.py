"""The session's parity proofs: every selected model pair is proven once, before any timing.

Built-in models and users' twins take the same path (DESIGN decisions 1 and 12). The proof of
all selected models runs in one child process when the first case is about to be measured
(`pytest --collect-only` proves nothing); a model that is not identical, or whose proof could
not run, gets no timing: its cases end as that status, with the check, the output or tensor
that differs and the largest difference.
"""

from __future__ import annotations

from twinbench.core.cases import Case, Selection, build_matrix
from twinbench.execute.proof import Proof, prove_in_child


class ProofLedger:
    """Proves the selection's models on first use and answers per case."""

    def __init__(self, selection: Selection) -> None:
        self._models = list(dict.fromkeys((c.model, c.size) for c in build_matrix(selection)))
        self._proofs: dict[tuple[str, str], Proof] | None = None

    def proof(self, case: Case) -> Proof:
        """The proof of the case's model at its size (proving the selection the first time)."""
        key = (case.model, case.size)
        if self._proofs is None:
            self._proofs = prove_in_child(self._models)
        if key not in self._proofs:  # a case outside the selection (a confirmation round)
            self._proofs.update(prove_in_child([key]))
        return self._proofs[key]

    def summary(self) -> dict[str, str]:
        """Each proven model's status, for the run file's settings."""
        proofs = self._proofs or {}
        return {f"{m}.{s}" if s != "tiny" else m: p.status for (m, s), p in proofs.items()}
