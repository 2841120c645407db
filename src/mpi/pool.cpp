#include "mpp/mpi/pool.hpp"

#include "mpp/mpi/cpus.hpp"

namespace mpp::mpi {

Pool::Pool(const PoolOptions& options)
    // node_threads is collective, so every rank calls it, even those given their threads.
    : local_(mpp::PoolOptions{.threads =
                                  [&] {
                                    int node = node_threads(options.comm);
                                    return options.threads.value_or(node);
                                  }(),
                              .initializer = options.initializer}),
      comm_(std::make_unique<detail::Comm>(options.comm, /*with_counter=*/true, "mpp::mpi::Pool")) {
}

Pool::~Pool() {
  maps_.finish_open_stream();
  order_.wait_all();  // the map_async calls still in flight use the communicator
}

void Pool::check_async(const char* call) const {
  int provided = MPI_THREAD_SINGLE;
  MPI_Query_thread(&provided);
  if (provided < MPI_THREAD_MULTIPLE) {
    detail::throw_usage(std::string("Pool::") + call +
                        " runs the collective call on a thread of its own, which needs MPI to "
                        "provide MPI_THREAD_MULTIPLE; use map, or ask the Environment for "
                        "thread_level::multiple");
  }
}

}  // namespace mpp::mpi
