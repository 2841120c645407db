# The mpi4py.futures prime demo, the twin of mpi_primes.cpp: the same program line by line,
# printing the same lines.
#
#   mpirun -np 3 python3 -m mpi4py.futures mpi_primes.py
from mpi4py import MPI
from mpi4py.futures import MPIPoolExecutor

PRIMES = [112272535095293, 112582705942171, 112272535095293,
          115280095190773, 115797848077099, 1099726899285419]


def is_prime(n):
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    d = 3
    while d * d <= n:
        if n % d == 0:
            return False
        d += 2
    return True


def count_primes(lo, hi):
    return sum(1 for n in range(lo, hi) if is_prime(n))


if __name__ == "__main__":
    with MPIPoolExecutor() as executor:
        limit, step = 200000, 10000
        futures = [executor.submit(count_primes, lo, lo + step) for lo in range(0, limit, step)]
        total = sum(f.result() for f in futures)
        print(f"{total} primes below {limit}")

        for n, prime in zip(PRIMES, executor.map(is_prime, PRIMES)):
            print(f"{n} is prime: {prime}")
    print(f"served by {MPI.COMM_WORLD.Get_size() - 1} worker rank(s)")
