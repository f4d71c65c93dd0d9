"""Hot-list matching benchmark: PlateIndex against a bare dict on the same machine, same run,
then read-to-alert latency on the RTCC stream at half the peak intake rate (bench_stream.py).

    .venv/bin/python bench/match/bench_index.py [--entries 1000000] [--reads 200000]
        [--no-stream | --stream-entries 100000 --seconds 30 --database-url ...]

Builds the index over generated entries (build seconds, memory as RSS growth), then times
lookups per read (p50/p99, microseconds) for exact hits, confusable hits and misses, and the
same reads against a plain `dict` of plate -> id: the ceiling a hash lookup in Python reaches.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import statistics
import string
import sys
import time
from datetime import UTC, datetime, timedelta

import bench_stream

from alpr_hotlist.alerts.index import CONFUSABLE_CLASSES, PlateIndex

LETTERS = string.ascii_uppercase
DIGITS = string.digits
# Plate shapes seen on US/Canadian lists: TX ABC1234, older ABC123 and 123ABC, CA 1ABC234.
SHAPES = ("LLLDDDD", "LLLDDDD", "LLLDDDD", "LLLDDD", "DDDLLL", "DLLLDDD", "LLDDLLL")
REGIONS = ("US-TX",) * 14 + ("US-OK", "US-LA", "US-NM", "US-AR", "CA-ON") + (None,) * 2
_CLASS_OF = {c: group for group in CONFUSABLE_CLASSES for c in group}


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def make_plate(rnd: random.Random) -> str:
    shape = rnd.choice(SHAPES)
    return "".join(rnd.choice(LETTERS if c == "L" else DIGITS) for c in shape)


def confuse(rnd: random.Random, plate: str) -> str | None:
    """The plate with one or two characters swapped within their OCR class, if it has any."""
    positions = [i for i, c in enumerate(plate) if c in _CLASS_OF]
    if not positions:
        return None
    chars = list(plate)
    for i in rnd.sample(positions, min(len(positions), rnd.choice((1, 2)))):
        chars[i] = rnd.choice([c for c in _CLASS_OF[chars[i]] if c != chars[i]])
    return "".join(chars)


def percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--reads", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=344)
    parser.add_argument(
        "--no-stream", action="store_true", help="skip the read-to-alert stream benchmark"
    )
    bench_stream.add_arguments(parser)
    args = parser.parse_args()
    rnd = random.Random(args.seed)
    now = datetime(2025, 3, 14, 12, tzinfo=UTC)
    # A few hundred shared expiry instants: 60 % never expire, 35 % later, 5 % already expired.
    future = [now + timedelta(hours=h) for h in range(1, 400)]
    past = [now - timedelta(hours=h) for h in range(1, 50)]

    t0 = time.perf_counter()
    plates = [make_plate(rnd) for _ in range(args.entries)]
    regions = [rnd.choice(REGIONS) for _ in range(args.entries)]
    expiries = [
        None if x < 0.60 else rnd.choice(future) if x < 0.95 else rnd.choice(past)
        for x in (rnd.random() for _ in range(args.entries))
    ]
    plate_bytes = sum(sys.getsizeof(p) for p in plates)
    generate_s = time.perf_counter() - t0

    gc.collect()
    rss0 = rss_bytes()
    t0 = time.perf_counter()
    index = PlateIndex()
    index.bulk_load(zip(range(args.entries), plates, regions, expiries, strict=True))
    build_s = time.perf_counter() - t0
    gc.collect()
    index_bytes = rss_bytes() - rss0
    # The index's own objects are long-lived: keep the collector from re-walking them.
    gc.freeze()

    baseline = dict(zip(plates, range(args.entries), strict=True))

    reads: list[tuple[str, str, str | None]] = []
    while len(reads) < args.reads:
        x = rnd.random()
        i = rnd.randrange(args.entries)
        region = regions[i] if rnd.random() < 0.8 else None
        if x < 0.40:
            reads.append(("exact hit", plates[i], region))
        elif x < 0.65:
            confused = confuse(rnd, plates[i])
            if confused is not None:
                reads.append(("confusable hit", confused, region))
        else:
            reads.append(("miss", make_plate(rnd), rnd.choice(REGIONS)))

    lookup = index.lookup
    get = baseline.get
    clock = time.perf_counter_ns
    timings: dict[str, list[int]] = {}
    dict_timings: dict[str, list[int]] = {}
    matched: dict[str, int] = {}
    for kind, plate, region in reads:
        t = clock()
        found = lookup(plate, region, now)
        timings.setdefault(kind, []).append(clock() - t)
        matched[kind] = matched.get(kind, 0) + bool(found)
        t = clock()
        get(plate)
        dict_timings.setdefault(kind, []).append(clock() - t)
    # The timer pair's own cost, included in every per-read figure above.
    pairs = []
    for _ in range(10_000):
        t = clock()
        pairs.append(clock() - t)
    timer_ns = statistics.median(pairs)

    t0 = time.perf_counter()
    for _, plate, region in reads:
        lookup(plate, region, now)
    bulk_index_us = (time.perf_counter() - t0) / len(reads) * 1e6
    t0 = time.perf_counter()
    for _, plate, _ in reads:
        get(plate)
    bulk_dict_us = (time.perf_counter() - t0) / len(reads) * 1e6

    updates = 20_000
    t0 = time.perf_counter()
    for n in range(updates):
        index.add(("bench", n), make_plate(rnd), "US-TX", None)
    for n in range(updates):
        index.remove(("bench", n))
    update_us = (time.perf_counter() - t0) / (2 * updates) * 1e6

    print(f"entries {args.entries:,}  reads {len(reads):,}  python {sys.version.split()[0]}")
    print(f"generate inputs        {generate_s:8.2f} s")
    print(
        f"bulk_load              {build_s:8.2f} s   ({build_s / args.entries * 1e6:.2f} µs/entry)"
    )
    print(
        f"index memory (RSS)     {index_bytes / 2**20:8.1f} MiB ({index_bytes / args.entries:.0f}"
        f" B/entry) + plate strings shared with the caller {plate_bytes / 2**20:.1f} MiB"
    )
    print(f"add+remove             {update_us:8.2f} µs per operation")
    print()
    header = f"{'reads':<16}{'n':>8}{'matched':>9}{'p50 µs':>9}{'p99 µs':>9}"
    header += f"{'dict p50':>10}{'dict p99':>10}{'p50 ratio':>11}"
    print(header)
    print("-" * len(header))
    every: list[int] = []
    every_dict: list[int] = []
    for kind in ("exact hit", "confusable hit", "miss"):
        ns, dns = timings[kind], dict_timings[kind]
        every += ns
        every_dict += dns
        print(
            f"{kind:<16}{len(ns):>8,}{matched[kind] / len(ns):>8.0%} "
            f"{percentile(ns, 0.5):>8.2f}{percentile(ns, 0.99):>9.2f}"
            f"{percentile(dns, 0.5):>10.2f}{percentile(dns, 0.99):>10.2f}"
            f"{percentile(ns, 0.5) / percentile(dns, 0.5):>10.1f}x"
        )
    print(
        f"{'all':<16}{len(every):>8,}{'':>9}"
        f"{percentile(every, 0.5):>9.2f}{percentile(every, 0.99):>9.2f}"
        f"{percentile(every_dict, 0.5):>10.2f}{percentile(every_dict, 0.99):>10.2f}"
        f"{percentile(every, 0.5) / percentile(every_dict, 0.5):>10.1f}x"
    )
    print()
    print(f"per-read figures include the timer pair itself: {timer_ns / 1000:.2f} µs")
    print(
        f"untimed loop over all reads: index {bulk_index_us:.2f} µs/read, "
        f"dict {bulk_dict_us:.2f} µs/read, ratio {bulk_index_us / bulk_dict_us:.1f}x"
    )
    if not args.no_stream:
        del index, baseline, reads, plates, regions, expiries
        gc.unfreeze()
        gc.collect()
        print()
        asyncio.run(bench_stream.run(args))


if __name__ == "__main__":
    main()
