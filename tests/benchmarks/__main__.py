"""``.venv/bin/python -m tests.benchmarks [--store sqlite|postgresql|both] [--transitions N]
[--reminders 10000,100000,1000000] [--profile]
[--only transitions|claim|delivery|sweep|http|planner|uploads|throughput]
[--messages 10000] [--workers 1,2,4] [--sweep-messages 2000] [--pending 1000000] [--batch 500]
[--database URL]
[--markets 20000]``: every benchmark, its medians, p99 and ratios."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from tests.benchmarks import claim, delivery, http, planner, throughput, transitions, uploads


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks")
    parser.add_argument("--store", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--transitions", type=int, default=300, help="transactions per side")
    parser.add_argument("--reminders", default="10000,100000", help="pending reminder sizes")
    parser.add_argument("--profile", action="store_true", help="cProfile the engine's side")
    parser.add_argument(
        "--only",
        choices=(
            "transitions",
            "claim",
            "delivery",
            "sweep",
            "http",
            "planner",
            "uploads",
            "throughput",
        ),
        default=None,
        help="sweep: delivery's sweep against raw smtplib only, without the workers",
    )
    parser.add_argument("--messages", type=int, default=10_000, help="reminders for the workers")
    parser.add_argument("--workers", default="1,2,4", help="worker process counts (PostgreSQL)")
    parser.add_argument("--sweep-messages", type=int, default=2_000, help="per sweep-vs-raw repeat")
    parser.add_argument("--batch", type=int, default=500, help="outbox.batch_size")
    parser.add_argument(
        "--markets", type=int, default=20_000, help="national data set (http, planner)"
    )
    parser.add_argument(
        "--pending", type=int, default=0,
        help="sweep: reminders pending but not yet due beside the due ones (1000000)",
    )  # fmt: skip
    parser.add_argument(
        "--database", default=None,
        help="http, planner: a database filled by `clausier demo-data`, not a fresh set",
    )  # fmt: skip
    args = parser.parse_args()
    print(f"nproc {os.cpu_count()}, load {Path('/proc/loadavg').read_text().strip()}")
    kinds = ("sqlite", "postgresql") if args.store == "both" else (args.store,)
    for kind in kinds:
        if args.only in (None, "transitions"):
            transitions.run(kind, count=args.transitions, profile=args.profile)
        if args.only in (None, "claim"):
            claim.run(kind, sizes=[int(size) for size in args.reminders.split(",")])
        if args.only in (None, "http"):
            http.run(kind, markets=args.markets, database=args.database)
        if args.only in (None, "planner"):
            planner.run(kind, markets=args.markets, database=args.database)
        if args.only in (None, "uploads"):
            uploads.run(kind)
        if args.only in (None, "throughput"):
            throughput.cpu(kind)
            throughput.run(kind)
        if args.only in (None, "delivery", "sweep"):
            delivery.sweep_vs_raw(
                kind, messages=args.sweep_messages, batch=args.batch, pending=args.pending
            )
    if args.only in (None, "delivery") and "postgresql" in kinds:
        counts = [int(count) for count in args.workers.split(",")]
        delivery.workers(counts, messages=args.messages, batch=args.batch)


if __name__ == "__main__":
    main()
