"""Run every benchmark: ``python -m benchmarks [--quick] [--only NAME ...]``.

Each in its own process (threads, imported frameworks and peak memory never leak into the next),
writing ``benchmarks/results/bench_NAME.json``; a summary of every goal closes the run.
"""

import argparse
import json
import subprocess
import sys
import time

from benchmarks.common import RESULTS_DIR, ROOT, SWITCHES, goal_table

#: Benchmark name (of its results file, bench_NAME.json) -> its module and arguments.
BENCHES = {"nielsen": "bench_nielsen --profile", "overhead": "bench_overhead --profile",
           "deep": "bench_deep", "fashion": "bench_nielsen --fashion",
           "memory": "bench_deep --memory", "adam": "bench_compile --adam",
           "cnn": "bench_compile --cnn",
           "compile": "bench_compile --profile"}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    for flag, help in (SWITCHES | {"--no-profile": "skip the profiles"}).items():
        parser.add_argument(flag, action="store_true", help=help)
    parser.add_argument("--only", action="append", metavar="NAME", help=f"of {', '.join(BENCHES)}")
    args = parser.parse_args(argv)
    names = [n.strip().removeprefix("bench_") for o in args.only or BENCHES for n in o.split(",")]
    if unknown := [n for n in names if n not in BENCHES]:
        raise SystemExit(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHES)}")
    flags = [f"--{f.replace('_', '-')}" for f in ("quick", "no_torch", "no_jax") if vars(args)[f]]
    statuses, goals, started = {}, [], time.perf_counter()
    skip = ["--profile"] if args.no_profile else []
    for name in names:
        module, *cmd = BENCHES[name].split() + flags
        cmd = ["-m", f"benchmarks.{module}", *(a for a in cmd if a not in skip)]
        print(f"\n{'=' * 100}\n$ python {' '.join(cmd)}\n{'=' * 100}", flush=True)
        t0 = time.perf_counter()  # python -m from the root: this package importable
        code = subprocess.run([sys.executable, *cmd], cwd=ROOT, check=False).returncode
        statuses[name] = (code, time.perf_counter() - t0)
        if code == 0 and (path := RESULTS_DIR / f"bench_{name}.json").exists():
            goals += json.loads(path.read_text()).get("goals", [])
    print(f"\n{'=' * 100}\nSummary ({time.perf_counter() - started:.0f} s in all)")
    for name, (code, seconds) in statuses.items():
        print(f"  bench_{name}: {'ok' if code == 0 else f'exit {code}'}, {seconds:.0f} s")
    if goals:
        print("\nGoals (met = wall and CPU time both within; see docs/performance.md)")
        print(goal_table(goals))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    runs = {k: {"exit": c, "seconds": s} for k, (c, s) in statuses.items()}
    (RESULTS_DIR / "summary.json").write_text(json.dumps({"benchmarks": runs, "goals": goals}))
    return 0 if all(code == 0 for code, _ in statuses.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
