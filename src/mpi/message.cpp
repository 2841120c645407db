#include "mpp/mpi/detail/message.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <stdexcept>
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

void Message::borrow(std::span<const char> data, std::shared_ptr<const void> owner,
                     std::uint32_t type) {
  blocks.push_back({bytes.size(), data, type});
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

std::vector<Message::Segment> Message::segments() const {
  std::vector<Segment> out;
  const auto add = [&](std::span<const char> data, std::uint32_t type) {
    if (!data.empty()) out.push_back({data, type});
  };
  std::size_t at = 0;
  for (const Block& block : blocks) {
    add(std::span<const char>(bytes).subspan(at, block.at - at), 0);
    add(block.data, block.type);
    at = block.at;
  }
  add(std::span<const char>(bytes).subspan(at), 0);
  return out;
}

std::string Message::flatten() && {
  if (blocks.empty()) return std::move(bytes);
  std::string out;
  out.reserve(size());
  for (const auto& segment : segments()) out.append(segment.data.data(), segment.data.size());
  return out;
}

Received Message::received() && {
  Received out;
  std::size_t owned = bytes.size();
  for (const Block& block : blocks) owned += block.type == 0 ? block.data.size() : 0;
  out.bytes.reserve(owned);
  std::size_t at = 0;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const Block& block = blocks[i];
    out.bytes.append(bytes, at, block.at - at);
    at = block.at;
    if (block.type == 0) {
      out.bytes.append(block.data.data(), block.data.size());
    } else {
      out.blocks.push_back({out.bytes.size(),
                            {const_cast<char*>(block.data.data()), block.data.size()},
                            block.type,
                            std::const_pointer_cast<void>(std::move(owners[i]))});
    }
  }
  out.bytes.append(bytes, at);
  return out;
}

namespace {

// Posts `segments` to `dest`: one MPI message when they make one piece of plain bytes;
// otherwise their layout (size and type of each), kept in `layout` until sent, on the side
// communicator, then an empty marker and the pieces of each segment on the data communicator.
void post_segments(Channel channel, int dest, int tag,
                   const std::vector<Message::Segment>& segments,
                   std::vector<std::uint64_t>& layout, std::vector<MPI_Request>& requests) {
  const auto post = [&](const void* data, int count, MPI_Datatype type, MPI_Comm comm) {
    requests.push_back(MPI_REQUEST_NULL);
    check_mpi(MPI_Isend(data, count, type, dest, tag, comm, &requests.back()), "MPI_Isend");
  };
  const bool alone =
      segments.size() == 1 && segments[0].type == 0 && segments[0].data.size() <= piece_bytes();
  if (!alone) {
    layout.clear();
    for (const auto& segment : segments) {
      layout.push_back(segment.data.size());
      layout.push_back(segment.type);
    }
    post(layout.data(), static_cast<int>(layout.size()), MPI_UINT64_T, channel.side);
    post(nullptr, 0, MPI_BYTE, channel.data);
  }
  for (const auto& segment : segments) {
    for_each_piece(segment.data.size(), [&](std::size_t at, int count) {
      post(segment.data.data() + at, count, MPI_BYTE, channel.data);
    });
  }
}

// Has the kernel map the pages of fresh memory at `data` before it is first written. Faulting
// them in one at a time from user space (as the zeroing of a new vector does) cost 3 to 6 s per
// GiB on virtual machines, where the kernel maps them for MPI's own copy at a fraction of that.
// Best effort: a kernel without MADV_POPULATE_WRITE (before Linux 5.14) faults them as before.
void prefault(void* data, std::size_t bytes) {
#ifdef MADV_POPULATE_WRITE
  const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = (reinterpret_cast<std::uintptr_t>(data) + page - 1) / page * page;
  const auto end = (reinterpret_cast<std::uintptr_t>(data) + bytes) / page * page;
  if (end > begin) {
    (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
  }
#else
  (void)data;
  (void)bytes;
#endif
}

// A zeroed V (std::string or std::vector) of `count` values, its pages mapped by the kernel
// when they are many.
template <class V>
V fresh_value(std::size_t count) {
  V out;
  const std::size_t bytes = count * sizeof(typename V::value_type);
  if (bytes >= borrow_min_bytes) {
    out.reserve(count);
    prefault(out.data(), bytes);
  }
  out.resize(count);
  return out;
}

// A value of the block_values type `type`, of `bytes` bytes, to receive a block into.
template <class V>
ReceivedBlock make_block_value(std::size_t bytes) {
  using U = typename V::value_type;
  if (bytes % sizeof(U) != 0) {
    throw std::runtime_error("mpp::mpi: a received block of " + std::to_string(bytes) +
                             " bytes is not a whole number of its values; the message is corrupt");
  }
  auto value = std::make_shared<V>(fresh_value<V>(bytes / sizeof(U)));
  return {0, {reinterpret_cast<char*>(value->data()), bytes}, block_type<V>, value};
}

template <std::size_t... I>
ReceivedBlock make_block(std::uint32_t type, std::size_t bytes, std::index_sequence<I...>) {
  ReceivedBlock block;
  const bool known =
      ((type == I + 1 &&
        (block = make_block_value<std::tuple_element_t<I, block_values>>(bytes), true)) ||
       ...);
  if (!known) {
    throw std::runtime_error("mpp::mpi: a received message has a block of unknown type " +
                             std::to_string(type) + "; are all ranks running the same mpp?");
  }
  return block;
}

}  // namespace

void Outgoing::post(Channel channel, int dest, int tag) {
  post_segments(channel, dest, tag, message_.segments(), layout_, requests_);
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
  Message view;
  view.borrow(bytes, nullptr);
  post_segments(channel, dest, tag, view.segments(), layout, requests);
  wait_all(requests);
}

Received receive_message(Channel channel, const MPI_Status& first) {
  const int source = first.MPI_SOURCE, tag = first.MPI_TAG;
  int count = 0;
  check_mpi(MPI_Get_count(&first, MPI_BYTE, &count), "MPI_Get_count");
  Received message;
  if (count != 0) {  // the whole message
    message.bytes = fresh_value<std::string>(static_cast<std::size_t>(count));
    check_mpi(MPI_Recv(message.bytes.data(), count, MPI_BYTE, source, tag, channel.data,
                       MPI_STATUS_IGNORE),
              "MPI_Recv");
    return message;
  }
  // A marker: the layout is on the side communicator.
  check_mpi(MPI_Recv(nullptr, 0, MPI_BYTE, source, tag, channel.data, MPI_STATUS_IGNORE),
            "MPI_Recv");
  MPI_Status status;
  check_mpi(MPI_Probe(source, tag, channel.side, &status), "MPI_Probe");
  check_mpi(MPI_Get_count(&status, MPI_UINT64_T, &count), "MPI_Get_count");
  std::vector<std::uint64_t> layout(static_cast<std::size_t>(count));
  check_mpi(
      MPI_Recv(layout.data(), count, MPI_UINT64_T, source, tag, channel.side, MPI_STATUS_IGNORE),
      "MPI_Recv");
  // Where each segment goes: the owned bytes, or a value of its type.
  std::uint64_t owned = 0;
  for (std::size_t i = 0; i + 1 < layout.size(); i += 2) {
    if (layout[i + 1] == 0) owned += layout[i];
  }
  message.bytes = fresh_value<std::string>(static_cast<std::size_t>(owned));
  std::vector<std::span<char>> targets;
  std::size_t at = 0;
  for (std::size_t i = 0; i + 1 < layout.size(); i += 2) {
    const auto size = static_cast<std::size_t>(layout[i]);
    const auto type = static_cast<std::uint32_t>(layout[i + 1]);
    if (type == 0) {
      targets.emplace_back(message.bytes.data() + at, size);
      at += size;
    } else {
      ReceivedBlock block =
          make_block(type, size, std::make_index_sequence<std::tuple_size_v<block_values>>{});
      block.at = at;
      targets.push_back(block.data);
      message.blocks.push_back(std::move(block));
    }
  }
  std::vector<MPI_Request> requests;
  for (const std::span<char> target : targets) {
    post_receive(channel.data, source, tag, target.data(), target.size(), requests);
  }
  wait_all(requests);
  return message;
}

}  // namespace mpp::mpi::detail
