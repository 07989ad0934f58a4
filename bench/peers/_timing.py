# Shared by the PyTorch peers of `tinyseek bench`: the timing loop of bench/_util.ts's timeIt.
import time


def median_ms(step, seconds, warmup=2, min_runs=3):
    """Runs step() `warmup` times, then times it until `seconds` have passed (at least min_runs runs); the median in ms."""
    for _ in range(warmup):
        step()
    times = []
    end = time.perf_counter() + seconds
    while len(times) < min_runs or time.perf_counter() < end:
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return times[len(times) // 2], len(times)
