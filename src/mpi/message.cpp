#include "mpp/mpi/detail/message.hpp"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <string>

#include "mpp/mpi/errors.hpp"

namespace mpp::mpi::detail {

namespace {

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
    check_mpi(MPI_Isend(data + at, count, MPI_BYTE, dest, tag, comm, &request), "MPI_Isend");
    requests.push_back(request);
  });
}

void post_receive(MPI_Comm comm, int source, int tag, char* data, std::size_t bytes,
                  std::vector<MPI_Request>& requests) {
  for_each_piece(bytes, [&](std::size_t at, int count) {
    MPI_Request request = MPI_REQUEST_NULL;
    check_mpi(MPI_Irecv(data + at, count, MPI_BYTE, source, tag, comm, &request), "MPI_Irecv");
    requests.push_back(request);
  });
}

void wait_all(std::vector<MPI_Request>& requests) {
  if (!requests.empty()) {
    check_mpi(MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE),
              "MPI_Waitall");
  }
  requests.clear();
}

std::size_t Message::size() const noexcept {
  std::size_t total = bytes.size();
  for (const Block& block : blocks) total += block.data.size();
  return total;
}

void Message::borrow(std::span<const char> data, std::shared_ptr<const void> owner) {
  blocks.push_back({bytes.size(), data});
  owners.push_back(std::move(owner));
}

void Message::append(Message&& other) {
  if (empty() && blocks.empty()) {
    *this = std::move(other);
    return;
  }
  const std::size_t shift = bytes.size();
  bytes.append(other.bytes);
  for (Block block : other.blocks) {
    block.at += shift;
    blocks.push_back(block);
  }
  for (auto& owner : other.owners) owners.push_back(std::move(owner));
}

std::vector<std::span<const char>> Message::pieces() const {
  std::vector<std::span<const char>> out;
  const auto add = [&](std::span<const char> segment) {
    for_each_piece(segment.size(), [&](std::size_t at, int count) {
      if (count != 0) out.push_back(segment.subspan(at, static_cast<std::size_t>(count)));
    });
  };
  std::size_t at = 0;
  for (const Block& block : blocks) {
    add(std::span<const char>(bytes).subspan(at, block.at - at));
    add(block.data);
    at = block.at;
  }
  add(std::span<const char>(bytes).subspan(at));
  return out;
}

std::string Message::flatten() && {
  if (blocks.empty()) return std::move(bytes);
  std::string out;
  out.reserve(size());
  for (const auto& piece : pieces()) out.append(piece.data(), piece.size());
  return out;
}

namespace {

// Posts `pieces` to `dest`: one MPI message when there is exactly one piece; otherwise their
// sizes, kept in `layout` until sent, on the side communicator, then an empty marker and the
// pieces on the data communicator.
void post_pieces(Channel channel, int dest, int tag,
                 const std::vector<std::span<const char>>& pieces,
                 std::vector<std::uint64_t>& layout, std::vector<MPI_Request>& requests) {
  const auto post = [&](const void* data, int count, MPI_Datatype type, MPI_Comm comm) {
    requests.push_back(MPI_REQUEST_NULL);
    check_mpi(MPI_Isend(data, count, type, dest, tag, comm, &requests.back()), "MPI_Isend");
  };
  if (pieces.size() != 1) {
    layout.clear();
    for (const auto& piece : pieces) layout.push_back(piece.size());
    post(layout.data(), static_cast<int>(layout.size()), MPI_UINT64_T, channel.side);
    post(nullptr, 0, MPI_BYTE, channel.data);
  }
  for (const auto& piece : pieces) {
    post(piece.data(), static_cast<int>(piece.size()), MPI_BYTE, channel.data);
  }
}

// The pieces of `bytes`, none empty.
std::vector<std::span<const char>> pieces_of(std::span<const char> bytes) {
  Message view;
  view.borrow(bytes, nullptr);
  return view.pieces();
}

}  // namespace

void Outgoing::post(Channel channel, int dest, int tag) {
  post_pieces(channel, dest, tag, message_.pieces(), layout_, requests_);
}

bool Outgoing::test() {
  int done = 1;
  if (!requests_.empty()) {
    check_mpi(MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &done,
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
  std::vector<std::uint64_t> layout;
  std::vector<MPI_Request> requests;
  post_pieces(channel, dest, tag, pieces_of(bytes), layout, requests);
  wait_all(requests);
}

std::string receive_message(Channel channel, const MPI_Status& first) {
  const int source = first.MPI_SOURCE, tag = first.MPI_TAG;
  int count = 0;
  check_mpi(MPI_Get_count(&first, MPI_BYTE, &count), "MPI_Get_count");
  if (count != 0) {  // the whole message
    std::string bytes(static_cast<std::size_t>(count), '\0');
    check_mpi(MPI_Recv(bytes.data(), count, MPI_BYTE, source, tag, channel.data, MPI_STATUS_IGNORE),
              "MPI_Recv");
    return bytes;
  }
  // A marker: the piece sizes are on the side communicator.
  check_mpi(MPI_Recv(nullptr, 0, MPI_BYTE, source, tag, channel.data, MPI_STATUS_IGNORE),
            "MPI_Recv");
  MPI_Status status;
  check_mpi(MPI_Probe(source, tag, channel.side, &status), "MPI_Probe");
  check_mpi(MPI_Get_count(&status, MPI_UINT64_T, &count), "MPI_Get_count");
  std::vector<std::uint64_t> layout(static_cast<std::size_t>(count));
  check_mpi(
      MPI_Recv(layout.data(), count, MPI_UINT64_T, source, tag, channel.side, MPI_STATUS_IGNORE),
      "MPI_Recv");
  std::uint64_t total = 0;
  for (const std::uint64_t size : layout) total += size;
  std::string bytes(static_cast<std::size_t>(total), '\0');
  std::vector<MPI_Request> requests;
  std::size_t at = 0;
  for (const std::uint64_t size : layout) {
    requests.push_back(MPI_REQUEST_NULL);
    check_mpi(MPI_Irecv(bytes.data() + at, static_cast<int>(size), MPI_BYTE, source, tag,
                        channel.data, &requests.back()),
              "MPI_Irecv");
    at += static_cast<std::size_t>(size);
  }
  wait_all(requests);
  return bytes;
}

}  // namespace mpp::mpi::detail
