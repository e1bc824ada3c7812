"""Benchmarks for autograd_lite: the measuring instruments of issue 6.

Run all of them with ``python -m benchmarks`` (``--quick``, ``--only NAME``), or one with
``python -m benchmarks.bench_nielsen`` and so on. Results are printed as tables and written as
JSON to ``benchmarks/results/NAME.json`` (git-ignored). See ``docs/performance.md``.

Importing this package pins OpenBLAS (NumPy's BLAS) to one thread *before* NumPy is imported, so
that every benchmark process measures single-threaded BLAS (the machines these numbers come from
are small and shared; a second BLAS thread only adds noise for matrices this small). PyTorch's
threads are set per contender with ``torch.set_num_threads``. Set
``AL_BENCH_BLAS_THREADS`` to another number to override. ``OPENBLAS_CORETYPE`` is left exactly
as the environment has it (it may be set on purpose, for correctness on some CPUs).
"""

from __future__ import annotations

import os

#: The number of BLAS threads the benchmark processes use.
BLAS_THREADS = os.environ.get("AL_BENCH_BLAS_THREADS", "1")

os.environ["OPENBLAS_NUM_THREADS"] = BLAS_THREADS

__all__ = ["BLAS_THREADS"]
