"""Benchmarks for autograd_lite: the measuring instruments of issue 6 (``docs/performance.md``).

Run all of them with ``python -m benchmarks`` (``--quick``, ``--only NAME``), or one with
``python -m benchmarks.bench_nielsen`` and so on. Each prints its tables and writes
``benchmarks/results/NAME.json`` (git-ignored). Needs the ``bench`` extra (threadpoolctl, psutil).

Importing this package sets ``OPENBLAS_NUM_THREADS`` before NumPy loads (``AL_BENCH_BLAS_THREADS``,
default 1: a second BLAS thread only adds noise for matrices this small on a small shared
machine); every benchmark also pins it with threadpoolctl and prints the count BLAS reports.
PyTorch's threads are set per contender. ``OPENBLAS_CORETYPE`` is left as the environment has it.
"""

import os

#: The number of BLAS threads the benchmark processes use.
BLAS_THREADS = os.environ.get("AL_BENCH_BLAS_THREADS", "1")
os.environ["OPENBLAS_NUM_THREADS"] = BLAS_THREADS
