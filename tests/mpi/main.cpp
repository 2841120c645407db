// doctest under MPI: every rank runs every test case (the calls are collective), only the root
// reports, a rank that fails prints its own report, and the exit code of every rank says
// whether any rank failed, so mpirun fails when one does.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mpp/mpi/environment.hpp>
#include <sstream>

// MPP_TEST_THREAD_LEVEL=funneled|serialized asks MPI for less than MPI_THREAD_MULTIPLE, to test
// that mpp funnels its MPI calls correctly then.
mpp::mpi::thread_level requested_level() {
  const char* level = std::getenv("MPP_TEST_THREAD_LEVEL");
  if (level != nullptr && std::strcmp(level, "funneled") == 0)
    return mpp::mpi::thread_level::funneled;
  if (level != nullptr && std::strcmp(level, "serialized") == 0) {
    return mpp::mpi::thread_level::serialized;
  }
  return mpp::mpi::thread_level::multiple;
}

int main(int argc, char** argv) {
  mpp::mpi::Environment env(argc, argv, requested_level());
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);

  doctest::Context context(argc, argv);
  std::ostringstream quiet;
  if (rank != 0) context.setCout(&quiet);
  const int failed = context.run() != 0 ? 1 : 0;

  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (failed && rank != 0) {
    std::cerr << "---- report of rank " << rank << " ----\n" << quiet.str() << std::flush;
  }
  if (context.shouldExit()) return failed;
  return any_failed;
}
