# Throughput of tiny tasks at chunksize 1 with mpi4py.futures.MPIPoolExecutor.map, the peer of
# tiny_tasks.cpp.  mpirun -np 3 /usr/bin/python3 -m mpi4py.futures tiny_tasks.py [tasks] [reps]
import sys
import time
from mpi4py.futures import MPIPoolExecutor


def tiny(x):
    return x + 1


if __name__ == "__main__":
    tasks = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with MPIPoolExecutor() as executor:
        times = []
        for r in range(reps + 1):
            start = time.perf_counter()
            out = list(executor.map(tiny, range(tasks), chunksize=1))
            seconds = time.perf_counter() - start
            assert len(out) == tasks and out[-1] == tasks
            if r > 0:
                times.append(seconds / tasks * 1e6)
        times.sort()
        size = executor._num_workers + 1 if hasattr(executor, "_num_workers") else 0
        print("mpi4py MPIPoolExecutor.map chunksize 1: %.2f us per task (median of %d)"
              % (times[len(times) // 2], reps))
