"""``.venv/bin/python -m tests.benchmarks [--store sqlite|postgresql|both] [--transitions N]
[--reminders 10000,100000,1000000] [--profile]``: every benchmark, its medians, p99 and ratios."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from tests.benchmarks import claim, transitions


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks")
    parser.add_argument("--store", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--transitions", type=int, default=300, help="transactions per side")
    parser.add_argument("--reminders", default="10000,100000", help="pending reminder sizes")
    parser.add_argument("--profile", action="store_true", help="cProfile the engine's side")
    parser.add_argument("--only", choices=("transitions", "claim"), default=None)
    args = parser.parse_args()
    print(f"nproc {os.cpu_count()}, load {Path('/proc/loadavg').read_text().strip()}")
    kinds = ("sqlite", "postgresql") if args.store == "both" else (args.store,)
    for kind in kinds:
        if args.only in (None, "transitions"):
            transitions.run(kind, count=args.transitions, profile=args.profile)
        if args.only in (None, "claim"):
            claim.run(kind, sizes=[int(size) for size in args.reminders.split(",")])


if __name__ == "__main__":
    main()
