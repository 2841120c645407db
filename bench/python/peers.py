#!/usr/bin/python3
"""Python's multiprocessing.Pool and concurrent.futures.ProcessPoolExecutor on the suite's
workloads, for the report's tables (run with Debian's /usr/bin/python3).

Pure Python is 10-100x slower per item than C++, so the compute-heavy workloads run at reduced
sizes (named in each record); overhead figures are per item. Every run checks its result against
the serial one. Writes a JSON list of records to the file given as the first argument.

Environment: MPP_BENCH_THREADS ("1,2"), MPP_BENCH_PY_REPS (repetitions, median taken; default 3),
MPP_BENCH_SCALE (multiplies the default sizes).
"""

import json
import math
import os
import random
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import Pool

SCALE = float(os.environ.get("MPP_BENCH_SCALE", "1") or 1)
REPS = int(os.environ.get("MPP_BENCH_PY_REPS", "3") or 3)


def sized(n):
    return max(1, int(n * SCALE))


def threads():
    text = os.environ.get("MPP_BENCH_THREADS", "")
    if text:
        return [int(t) for t in text.split(",") if t.strip()]
    cpus = len(os.sched_getaffinity(0))
    counts, p = [], 1
    while p < cpus:
        counts.append(p)
        p *= 2
    return counts + [cpus]


# --- the workloads' functions (module level, so that workers can unpickle them) -------------

def trivial(x):
    return 2 * x + 1


def work(i):
    # A small amount of work; Python's call overhead dominates anyway.
    x = i
    for _ in range(10):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
    return x


def mandel_row(args):
    y, n, iterations = args
    ci = -1.5 + 3.0 * y / n
    total = 0
    for x in range(n):
        cr = -2.0 + 3.0 * x / n
        zr = zi = 0.0
        k = 0
        while k < iterations and zr * zr + zi * zi <= 4.0:
            zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
            k += 1
        total += k
    return total


def is_prime(n):
    if n < 4:
        return n >= 2
    if n % 2 == 0 or n % 3 == 0:
        return False
    d = 5
    while d * d <= n:
        if n % d == 0 or n % (d + 2) == 0:
            return False
        d += 6
    return True


def count_primes(bounds):
    lo, hi = bounds
    return sum(1 for n in range(lo, hi) if is_prime(n))


def pi_sample(task):
    samples, index = task
    rng = random.Random(2024 * 1_000_003 + index)
    hits = 0
    for _ in range(samples):
        x, y = rng.random(), rng.random()
        hits += x * x + y * y <= 1.0
    return hits


def generator(n):
    yield from range(n)


# --- measurement ------------------------------------------------------------------------------

RECORDS = []


def record(workload, contender, p, items, seconds, note="", **extra):
    rec = {"workload": workload, "contender": contender, "threads": p, "items": items,
           "seconds": seconds, "per_item_us": seconds / items * 1e6 if items else None,
           "note": note}
    rec.update(extra)
    RECORDS.append(rec)
    print(f"  {workload:<11} {contender:<40} p={p} {seconds * 1e3:10.2f} ms"
          f"  {rec['per_item_us']:.3f} us/item {note}", flush=True)


def median_time(fn, expected):
    times = []
    for _ in range(REPS):
        start = time.perf_counter()
        got = fn()
        times.append(time.perf_counter() - start)
        if got != expected:
            raise SystemExit(f"wrong result: got {got}, expected {expected}")
    return statistics.median(times)


def run_pool_suite(p):
    n_default = sized(1_000_000)
    n_small = sized(100_000)
    with Pool(p) as pool:
        pool.map(trivial, range(1000))  # warm up: workers started and importing done
        xs = list(range(n_default))
        expected = [trivial(x) for x in xs]
        record("overhead", "mp_pool_map", p, n_default,
               median_time(lambda: pool.map(trivial, xs), expected), "default chunksize")
        small = xs[:n_small]
        expected_small = expected[:n_small]
        for chunksize in (1, 10, 100, 1000, 10000):
            record("overhead", f"mp_pool_map_chunksize:{chunksize}", p, n_small,
                   median_time(lambda: pool.map(trivial, small, chunksize), expected_small))

        n_tasks = sized(10_000)
        expected_tasks = sum(work(i) for i in range(n_tasks))
        record("tasks", "mp_pool_apply_async", p, n_tasks, median_time(
            lambda: sum(r.get() for r in [pool.apply_async(work, (i,)) for i in range(n_tasks)]),
            expected_tasks))

        if p == max(threads()):
            samples = []
            for i in range(sized(1000)):
                time.sleep(100e-6)
                start = time.perf_counter()
                pool.apply_async(work, (i,)).get()
                samples.append((time.perf_counter() - start) * 1e6)
            samples.sort()
            record("latency", "mp_pool_apply_async", p, 1, statistics.median(samples) * 1e-6,
                   p50_us=samples[len(samples) // 2],
                   p99_us=samples[min(len(samples) - 1, int(0.99 * len(samples)))])

        mandel_n, mandel_iters = max(1, int(200 * math.sqrt(SCALE))), 200
        rows = [(y, mandel_n, mandel_iters) for y in range(mandel_n)]
        expected_mandel = MANDEL[(mandel_n, mandel_iters)]
        record("mandelbrot", "mp_pool_map_chunksize:1", p, mandel_n, median_time(
            lambda: sum(pool.map(mandel_row, rows, 1)), expected_mandel),
            f"{mandel_n}x{mandel_n}, {mandel_iters} iterations")
        record("mandelbrot", "mp_pool_map", p, mandel_n, median_time(
            lambda: sum(pool.map(mandel_row, rows)), expected_mandel),
            f"{mandel_n}x{mandel_n}, default chunksize")

        record("primes", "mp_pool_map", p, len(PRIME_RANGES), median_time(
            lambda: sum(pool.map(count_primes, PRIME_RANGES)), PRIME_COUNT),
            f"below {PRIME_LIMIT}")
        record("pi", "mp_pool_map", p, len(PI_TASKS), median_time(
            lambda: sum(pool.map(pi_sample, PI_TASKS)), PI_HITS),
            f"{len(PI_TASKS)} x {PI_TASKS[0][0]} samples")

        n_stream = sized(1_000_000)
        expected_stream = sum(trivial(x) for x in range(n_stream))
        record("streaming", "mp_pool_imap_chunksize:1000", p, n_stream, median_time(
            lambda: sum(pool.imap(trivial, generator(n_stream), 1000)), expected_stream))
        record("streaming", "mp_pool_imap_unordered_chunksize:1000", p, n_stream, median_time(
            lambda: sum(pool.imap_unordered(trivial, generator(n_stream), 1000)), expected_stream))
        n_stream1 = sized(20_000)
        record("streaming", "mp_pool_imap_chunksize:1", p, n_stream1, median_time(
            lambda: sum(pool.imap(trivial, generator(n_stream1))),
            sum(trivial(x) for x in range(n_stream1))))


def run_executor_suite(p):
    with ProcessPoolExecutor(p) as executor:
        list(executor.map(trivial, range(100)))  # warm up
        n1 = sized(10_000)
        xs = list(range(n1))
        expected = [trivial(x) for x in xs]
        record("overhead", "ppe_map_chunksize:1", p, n1,
               median_time(lambda: list(executor.map(trivial, xs)), expected))
        n2 = sized(100_000)
        xs2 = list(range(n2))
        expected2 = [trivial(x) for x in xs2]
        record("overhead", "ppe_map_chunksize:1000", p, n2,
               median_time(lambda: list(executor.map(trivial, xs2, chunksize=1000)), expected2))
        n_tasks = sized(10_000)
        expected_tasks = sum(work(i) for i in range(n_tasks))
        record("tasks", "ppe_submit", p, n_tasks, median_time(
            lambda: sum(f.result() for f in [executor.submit(work, i) for i in range(n_tasks)]),
            expected_tasks))
        record("primes", "ppe_map", p, len(PRIME_RANGES), median_time(
            lambda: sum(executor.map(count_primes, PRIME_RANGES)), PRIME_COUNT),
            f"below {PRIME_LIMIT}")
        record("pi", "ppe_map", p, len(PI_TASKS), median_time(
            lambda: sum(executor.map(pi_sample, PI_TASKS)), PI_HITS),
            f"{len(PI_TASKS)} x {PI_TASKS[0][0]} samples")


def serial_suite():
    n = sized(1_000_000)
    xs = list(range(n))
    record("overhead", "py_serial", 1, n, median_time(lambda: [trivial(x) for x in xs],
                                                       [trivial(x) for x in xs]))
    for (mandel_n, iters) in MANDEL:
        rows = [(y, mandel_n, iters) for y in range(mandel_n)]
        record("mandelbrot", "py_serial", 1, mandel_n, median_time(
            lambda: sum(map(mandel_row, rows)), MANDEL[(mandel_n, iters)]),
            f"{mandel_n}x{mandel_n}, {iters} iterations")
    record("primes", "py_serial", 1, len(PRIME_RANGES), median_time(
        lambda: sum(map(count_primes, PRIME_RANGES)), PRIME_COUNT), f"below {PRIME_LIMIT}")
    record("pi", "py_serial", 1, len(PI_TASKS), median_time(
        lambda: sum(map(pi_sample, PI_TASKS)), PI_HITS), f"{len(PI_TASKS)} x {PI_TASKS[0][0]} samples")


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "python_peers.json"
    _n = max(1, int(200 * math.sqrt(SCALE)))
    MANDEL = {(_n, 200): sum(mandel_row((y, _n, 200)) for y in range(_n))}
    PRIME_LIMIT = sized(1_000_000)
    PRIME_RANGES = [(PRIME_LIMIT * i // 1000, PRIME_LIMIT * (i + 1) // 1000) for i in range(1000)]
    PRIME_COUNT = sum(map(count_primes, PRIME_RANGES))
    PI_TASKS = [(sized(10_000), i) for i in range(100)]
    PI_HITS = sum(map(pi_sample, PI_TASKS))
    print(f"python peers: {sys.version.split()[0]}, threads {threads()}, {REPS} repetitions",
          flush=True)
    serial_suite()
    for p in threads():
        run_pool_suite(p)
        run_executor_suite(p)
    with open(out, "w") as f:
        json.dump({"python": sys.version.split()[0], "records": RECORDS}, f, indent=1)
