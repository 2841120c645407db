# multiprocessing.Pool's verbs across ranks with mpi4py.util.pool, the twin of mpi_pool_map.cpp:
# the same program line by line, printing the same lines.
#
#   mpirun -np 3 python3 -m mpi4py.futures mpi_pool_map.py
try:
    from mpi4py.util.pool import Pool  # mpi4py 4.0 and later
except ImportError:  # mpi4py 3 (Debian 12's): the verbs used below, over MPIPoolExecutor
    from mpi4py.futures import MPIPoolExecutor

    class Pool:
        def __init__(self):
            self.executor = MPIPoolExecutor()

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.executor.shutdown()

        def map(self, f, xs, chunksize=1):
            return list(self.executor.map(f, xs, chunksize=chunksize))

        def imap(self, f, xs, chunksize=1):
            return self.executor.map(f, xs, chunksize=chunksize)

        def imap_unordered(self, f, xs, chunksize=1):
            return self.executor.map(f, xs, chunksize=chunksize, unordered=True)

        def starmap(self, f, xs, chunksize=1):
            return list(self.executor.starmap(f, xs, chunksize=chunksize))

        def apply_async(self, f, args=()):
            future = self.executor.submit(f, *args)
            future.get = future.result
            return future


def simulate(seed):
    # A deterministic stand-in for a simulation: 10^4 steps of a 64-bit LCG, folded to 0..999.
    x = seed
    for _ in range(10000):
        x = (x * 6364136223846793005 + 1442695040888963407) % 2**64
    return x % 1000


def area(width, height):
    return width * height


if __name__ == "__main__":
    with Pool() as pool:
        results = pool.map(simulate, range(100), chunksize=4)
        print(f"map: {len(results)} results, sum {sum(results)}, first {results[:3]}")

        pending = pool.apply_async(simulate, (7,))
        print(f"apply_async: {pending.get()}")

        print(f"imap: {list(pool.imap(simulate, range(5)))}")
        print(f"imap_unordered: sum {sum(pool.imap_unordered(simulate, range(100), chunksize=10))}")
        print(f"starmap: {pool.starmap(area, [(1, 2), (3, 4), (5, 6)])}")
