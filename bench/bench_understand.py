"""How fast understand() reads messages: throughput on one core and per-message latency.

Run: .venv/bin/python bench/bench_understand.py [--calls N]

Replays tests/utterances.yaml (every labelled message, each in its own locale) until at least
--calls messages have been read, then prints messages per second and p50 / p90 / p99 / max
microseconds per message, overall and per intent. Prints only; the numbers go to bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml

from handlers.understand import understand

UTTERANCES = ROOT / "tests" / "utterances.yaml"


def percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1)))
    return sorted_values[index]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200_000,
                        help="messages to read in total (default 200000)")
    args = parser.parse_args()

    entries = yaml.safe_load(UTTERANCES.read_text(encoding="utf-8"))
    messages = [(e["text"], e.get("read_as", "vi"), e["intent"]) for e in entries]
    rounds = -(-args.calls // len(messages))
    total = rounds * len(messages)

    for text, locale, _ in messages:  # warm up: regex caches, first-call imports
        understand(text, locale)

    # Throughput: a tight loop, no timing calls inside it.
    gc.disable()
    start = time.perf_counter()
    for _ in range(rounds):
        for text, locale, _ in messages:
            understand(text, locale)
    elapsed = time.perf_counter() - start
    gc.enable()

    # Latency: time each call separately (adds the timer's own ~0.1 µs).
    latencies: list[float] = []
    by_intent: dict[str, list[float]] = defaultdict(list)
    clock = time.perf_counter_ns
    for _ in range(max(1, rounds // 4)):
        for text, locale, intent in messages:
            t0 = clock()
            understand(text, locale)
            micros = (clock() - t0) / 1000
            latencies.append(micros)
            by_intent[intent].append(micros)
    latencies.sort()

    print("understand() benchmark")
    print(f"  Python {platform.python_version()} on {platform.machine()}, {platform.system()}, "
          f"pid {os.getpid()}, one core")
    print(f"  {len(messages)} labelled messages x {rounds} rounds = {total:,} calls in {elapsed:.2f} s")
    print(f"  throughput:  {total / elapsed:,.0f} messages/s  ({elapsed / total * 1e6:.1f} µs mean)")
    print(f"  latency µs:  p50 {percentile(latencies, 0.50):.1f}   p90 {percentile(latencies, 0.90):.1f}"
          f"   p99 {percentile(latencies, 0.99):.1f}   max {latencies[-1]:.1f}   "
          f"({len(latencies):,} timed calls)")
    print("  by intent (p50 / p99 µs, messages in the set):")
    for intent, values in sorted(by_intent.items(), key=lambda kv: -statistics.median(kv[1])):
        values.sort()
        count = sum(1 for _, _, i in messages if i == intent)
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        print(f"    {intent:<24} {p50:7.1f} / {p99:7.1f}   ({count})")


if __name__ == "__main__":
    main()
