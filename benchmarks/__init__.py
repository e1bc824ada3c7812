"""Benchmarks for autograd_lite (``docs/performance.md``): ``python -m benchmarks`` runs them all.

Needs the ``bench`` extra. Sets ``OPENBLAS_NUM_THREADS`` (``AL_BENCH_BLAS_THREADS``, default 1).
"""

import os

#: The number of BLAS threads the benchmark processes use.
BLAS_THREADS = os.environ.get("AL_BENCH_BLAS_THREADS", "1")
os.environ["OPENBLAS_NUM_THREADS"] = BLAS_THREADS
