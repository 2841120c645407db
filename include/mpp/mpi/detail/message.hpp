#pragma once
// Messages of any size between two ranks. MPI counts are `int`, so a message of 2 GiB or more
// cannot be one MPI call: it goes in pieces of at most piece_bytes() (1 GiB) on the same tag,
// which MPI keeps in order. Derived datatypes could describe it as one message, but both Open
// MPI 4.1 and MPICH 4.0 move those at about 0.2 GB/s, against 3 to 6 GB/s for plain pieces.
//
// Receivers that do not know the size probe the first piece: a piece shorter than
// piece_bytes() is the whole message; a full one announces a large message, whose size the
// sender has sent ahead on the side communicator, where no probe of the data communicator can
// mistake it for a message of its own.

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace mpp::mpi::detail {

// The largest piece of one MPI call: 1 GiB, or MPP_MPI_PIECE_BYTES (at least 1) so that tests
// can cross piece boundaries with small messages.
std::size_t piece_bytes();

// Where a message goes: the data communicator and its side communicator for announcements.
struct Channel {
  MPI_Comm data = MPI_COMM_NULL;
  MPI_Comm side = MPI_COMM_NULL;
};

// A message on its way out, sent without blocking; it must stay where it is until done.
class Outgoing {
 public:
  Outgoing() = default;
  explicit Outgoing(std::string bytes) : bytes_(std::move(bytes)) {}
  Outgoing(const Outgoing&) = delete;
  Outgoing& operator=(const Outgoing&) = delete;

  // Starts sending the bytes to `dest` with `tag`.
  void post(Channel channel, int dest, int tag);
  // Whether every piece has gone (MPI_Testall).
  bool test();
  void wait();

 private:
  std::string bytes_;
  std::uint64_t size_ = 0;  // announced ahead of a large message
  std::vector<MPI_Request> requests_;
};

// Sends `bytes` to `dest` and returns once they have gone.
void send_message(Channel channel, int dest, int tag, std::span<const char> bytes);

// Receives the message whose first piece `first` describes (from a probe on `first.MPI_TAG`).
std::string receive_message(Channel channel, const MPI_Status& first);

// Pieces of a message whose size both sides know: appended to `requests`, to be completed with
// wait_all. Sender and receiver must pass the same size.
void post_send(MPI_Comm comm, int dest, int tag, const char* data, std::size_t bytes,
               std::vector<MPI_Request>& requests);
void post_receive(MPI_Comm comm, int source, int tag, char* data, std::size_t bytes,
                  std::vector<MPI_Request>& requests);
void wait_all(std::vector<MPI_Request>& requests);

}  // namespace mpp::mpi::detail
