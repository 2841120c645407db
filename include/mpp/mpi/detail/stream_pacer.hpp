#pragma once
// imap's bound on what the root holds: the root tells every other rank how many chunks its loop
// has read, or `no_limit` once nobody waits for the loop any more, and a rank waits before
// computing a batch that ends more than its window past that. Messages carry the map's number
// (counted by begin_map, in step on every rank), so a late one of an earlier map is dropped.

#include <mpi.h>

#include <cstdint>

namespace mpp::mpi::detail {

class StreamPacer {
 public:
  static constexpr std::uint64_t no_limit = ~std::uint64_t{0};

  StreamPacer() = default;
  StreamPacer(MPI_Comm comm, int rank, int size, const char* owner)
      : comm_(comm), rank_(rank), size_(size), owner_(owner) {}

  // A map begins: drops what earlier maps' roots sent late, and keeps what this map's root sent
  // already (a rank that lags may find the root's release here).
  void begin_map();
  // Root: sends `read` to every other rank.
  void send_read(std::uint64_t read);
  // Not the root: the latest `read` of the current map, at least `known`; with `wait`, waits
  // until it has grown past `known`.
  std::uint64_t receive_read(std::uint64_t known, bool wait);

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  const char* owner_ = "";
  std::uint64_t maps_ = 0;  // maps begun so far: the current one's number
  std::uint64_t read_ = 0;  // not the root: the latest `read` received for the current map
};

}  // namespace mpp::mpi::detail
