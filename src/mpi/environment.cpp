#include "mpp/mpi/environment.hpp"

#include <mpi.h>

#include <cstdio>
#include <exception>
#include <string>

#include "mpp/mpi/errors.hpp"

namespace mpp::mpi {

namespace {

int to_mpi(thread_level level) {
  switch (level) {
    case thread_level::single:
      return MPI_THREAD_SINGLE;
    case thread_level::funneled:
      return MPI_THREAD_FUNNELED;
    case thread_level::serialized:
      return MPI_THREAD_SERIALIZED;
    case thread_level::multiple:
      break;
  }
  return MPI_THREAD_MULTIPLE;
}

}  // namespace

Environment::Environment(int& argc, char**& argv, thread_level requested) {
  init(&argc, &argv, requested);
}

Environment::Environment(thread_level requested) {
  init(nullptr, nullptr, requested);
}

void Environment::init(int* argc, char*** argv, thread_level requested) {
  uncaught_ = std::uncaught_exceptions();
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) {
    detail::throw_usage(
        "Environment: MPI was already finalized, and MPI cannot be initialized twice in one "
        "process");
  }
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) return;  // the application's; it finalizes it
  int provided = MPI_THREAD_SINGLE;
  const int code = MPI_Init_thread(argc, argv, to_mpi(requested), &provided);
  if (code != MPI_SUCCESS) detail::throw_mpi_failed("MPI_Init_thread", code);
  owns_ = true;
}

Environment::~Environment() {
  if (!owns_ || !active()) return;
  if (std::uncaught_exceptions() > uncaught_) {
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    detail::abort_job("mpp::mpi::Environment: rank " + std::to_string(rank) +
                      " leaves its MPI scope through an exception; aborting the job so that the "
                      "other ranks do not wait for it forever");
  }
  MPI_Finalize();
}

thread_level Environment::provided() const {
  int provided = MPI_THREAD_SINGLE;
  MPI_Query_thread(&provided);
  if (provided >= MPI_THREAD_MULTIPLE) return thread_level::multiple;
  if (provided >= MPI_THREAD_SERIALIZED) return thread_level::serialized;
  if (provided >= MPI_THREAD_FUNNELED) return thread_level::funneled;
  return thread_level::single;
}

bool Environment::active() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

std::string Environment::processor_name() {
  char name[MPI_MAX_PROCESSOR_NAME] = {};
  int length = 0;
  MPI_Get_processor_name(name, &length);
  return std::string(name, static_cast<std::size_t>(length));
}

}  // namespace mpp::mpi
