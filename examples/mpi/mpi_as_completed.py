# A submit + as_completed loop with mpi4py.futures, the twin of mpi_as_completed.cpp: handle each
# result as it arrives, and keep going past the inputs that fail.
#
#   mpirun -np 3 python3 -m mpi4py.futures mpi_as_completed.py
import time
from concurrent.futures import as_completed
from mpi4py.futures import MPIPoolExecutor


def simulate(seed):
    if seed % 10 == 3:
        raise ValueError(f"seed {seed} diverged")
    time.sleep((seed % 4) / 1000)  # uneven lengths: results complete out of order
    return seed * seed


if __name__ == "__main__":
    with MPIPoolExecutor() as executor:
        futures = [executor.submit(simulate, seed) for seed in range(40)]
        done, failed, total = 0, [], 0
        for future in as_completed(futures):
            try:
                total += future.result()
                done += 1
            except ValueError as error:
                failed.append(str(error))
        print(f"{done} succeeded, {len(failed)} failed, sum of squares {total}")
        for message in sorted(failed):
            print(f"failed: {message}")
