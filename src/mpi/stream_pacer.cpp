#include "mpp/mpi/detail/stream_pacer.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include "mpp/mpi/detail/comm.hpp"

namespace mpp::mpi::detail {

void StreamPacer::begin_map() {
  ++maps_;
  read_ = 0;
  if (rank_ != 0) (void)receive_read(0, false);
}

void StreamPacer::send_read(std::uint64_t read) {
  auto lock = mpi_guard(owner_);
  const std::uint64_t message[2] = {maps_, read};
  for (int r = 1; r < size_; ++r) {
    check_mpi(MPI_Send(message, 2, MPI_UINT64_T, r, comm_tag::read, comm_), "MPI_Send");
  }
}

std::uint64_t StreamPacer::receive_read(std::uint64_t known, bool wait) {
  std::uint64_t latest = std::max(known, read_);
  for (;;) {
    {
      auto lock = mpi_guard(owner_);
      for (;;) {
        int waiting = 0;
        check_mpi(MPI_Iprobe(0, comm_tag::read, comm_, &waiting, MPI_STATUS_IGNORE), "MPI_Iprobe");
        if (!waiting) break;
        std::uint64_t message[2] = {0, 0};
        check_mpi(MPI_Recv(message, 2, MPI_UINT64_T, 0, comm_tag::read, comm_, MPI_STATUS_IGNORE),
                  "MPI_Recv");
        if (message[0] == maps_) latest = std::max(latest, message[1]);
      }
    }
    read_ = latest;
    if (!wait || latest != known) return latest;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

}  // namespace mpp::mpi::detail
