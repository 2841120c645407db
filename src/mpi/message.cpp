#include "mpp/mpi/detail/message.hpp"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <string>

#include "mpp/mpi/errors.hpp"

namespace mpp::mpi::detail {

namespace {

void check(int code, const char* call) {
  if (code != MPI_SUCCESS) throw_mpi_failed(call, code);
}

std::size_t read_piece_bytes() {
  constexpr std::size_t gib = std::size_t{1} << 30;
  const char* text = std::getenv("MPP_MPI_PIECE_BYTES");
  if (text == nullptr || *text == '\0') return gib;
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (*end != '\0' || value == 0 || value > static_cast<unsigned long long>(INT_MAX)) return gib;
  return static_cast<std::size_t>(value);
}

}  // namespace

std::size_t piece_bytes() {
  static const std::size_t bytes = read_piece_bytes();
  return bytes;
}

namespace {

// Calls `post(offset, count)` for each piece of a message of `bytes` bytes: one piece, empty, for
// an empty message, so that sender and receiver always agree on the number of calls.
template <class Post>
void for_each_piece(std::size_t bytes, Post post) {
  const std::size_t piece = piece_bytes();
  std::size_t done = 0;
  do {
    const std::size_t now = std::min(piece, bytes - done);
    post(done, static_cast<int>(now));
    done += now;
  } while (done < bytes);
}

}  // namespace

void post_send(MPI_Comm comm, int dest, int tag, const char* data, std::size_t bytes,
               std::vector<MPI_Request>& requests) {
  for_each_piece(bytes, [&](std::size_t at, int count) {
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Isend(data + at, count, MPI_BYTE, dest, tag, comm, &request), "MPI_Isend");
    requests.push_back(request);
  });
}

void post_receive(MPI_Comm comm, int source, int tag, char* data, std::size_t bytes,
                  std::vector<MPI_Request>& requests) {
  for_each_piece(bytes, [&](std::size_t at, int count) {
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Irecv(data + at, count, MPI_BYTE, source, tag, comm, &request), "MPI_Irecv");
    requests.push_back(request);
  });
}

void wait_all(std::vector<MPI_Request>& requests) {
  if (!requests.empty()) {
    check(MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE),
          "MPI_Waitall");
  }
  requests.clear();
}

void Outgoing::post(Channel channel, int dest, int tag) {
  size_ = bytes_.size();
  if (size_ >= piece_bytes()) {
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Isend(&size_, 1, MPI_UINT64_T, dest, tag, channel.side, &request), "MPI_Isend");
    requests_.push_back(request);
  }
  post_send(channel.data, dest, tag, bytes_.data(), bytes_.size(), requests_);
}

bool Outgoing::test() {
  int done = 1;
  if (!requests_.empty()) {
    check(MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &done,
                      MPI_STATUSES_IGNORE),
          "MPI_Testall");
  }
  if (done) requests_.clear();
  return done != 0;
}

void Outgoing::wait() {
  wait_all(requests_);
}

void send_message(Channel channel, int dest, int tag, std::span<const char> bytes) {
  std::uint64_t size = bytes.size();
  std::vector<MPI_Request> requests;
  if (size >= piece_bytes()) {
    requests.push_back(MPI_REQUEST_NULL);
    check(MPI_Isend(&size, 1, MPI_UINT64_T, dest, tag, channel.side, &requests.back()),
          "MPI_Isend");
  }
  post_send(channel.data, dest, tag, bytes.data(), bytes.size(), requests);
  wait_all(requests);
}

std::string receive_message(Channel channel, const MPI_Status& first) {
  int count = 0;
  check(MPI_Get_count(&first, MPI_BYTE, &count), "MPI_Get_count");
  std::uint64_t size = static_cast<std::uint64_t>(count);
  if (size >= piece_bytes()) {
    check(MPI_Recv(&size, 1, MPI_UINT64_T, first.MPI_SOURCE, first.MPI_TAG, channel.side,
                   MPI_STATUS_IGNORE),
          "MPI_Recv");
  }
  std::string bytes(static_cast<std::size_t>(size), '\0');
  std::vector<MPI_Request> requests;
  post_receive(channel.data, first.MPI_SOURCE, first.MPI_TAG, bytes.data(), bytes.size(), requests);
  wait_all(requests);
  return bytes;
}

}  // namespace mpp::mpi::detail
