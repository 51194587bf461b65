"""Shared test set-up.

``make test`` runs two pytest workers on a 2-core machine; each worker (and every notebook kernel
or sandbox it starts, which inherit the environment) gets one BLAS/OpenMP thread, so the two never
fight over the cores (oversubscribed OpenBLAS threads made training and t-SNE 4-10x slower).
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("MPLBACKEND", "Agg")
