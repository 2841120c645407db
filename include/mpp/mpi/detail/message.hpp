#pragma once
// Messages of any size between two ranks. MPI counts are `int`, so a message of 2 GiB or more
// cannot be one MPI call: it goes in pieces of at most piece_bytes() (1 GiB) on the same tag,
// which MPI keeps in order. Derived datatypes could describe it as one message, but both Open
// MPI 4.1 and MPICH 4.0 move those at about 0.2 GB/s, against 3 to 6 GB/s for plain pieces.
//
// A message may also borrow blocks it does not own (a large std::vector moved into it), so that
// contiguous data goes to MPI from where it lies instead of being copied into the message first.
//
// Receivers that do not know the size probe the first piece: a non-empty piece is the whole
// message; an empty one is a marker for a message sent in several pieces (large, or with
// borrowed blocks, or empty), whose layout the sender has sent ahead on the side communicator,
// where no probe of the data communicator can mistake it for a message of its own. The layout
// lists the message's segments (its owned stretches and its borrowed blocks) with their sizes and,
// for a block, the type of value that lent it (see block_type): the receiver allocates a value of
// that type and receives the block straight into its storage, where the reader of the message
// takes it (see Received), so that a large vector crosses without a copy at either end.

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
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

// The values whose storage a block may be received into: a std::string, or a std::vector of
// numbers. block_type<V> is V's code on the wire (1 and up), 0 for plain bytes, which the
// receiver puts with the message's owned bytes.
using block_values =
    std::tuple<std::string, std::vector<char>, std::vector<signed char>, std::vector<unsigned char>,
               std::vector<wchar_t>, std::vector<char8_t>, std::vector<char16_t>,
               std::vector<char32_t>, std::vector<short>, std::vector<unsigned short>,
               std::vector<int>, std::vector<unsigned>, std::vector<long>,
               std::vector<unsigned long>, std::vector<long long>, std::vector<unsigned long long>,
               std::vector<float>, std::vector<double>, std::vector<long double>>;

template <class V, class Tuple = block_values, std::size_t I = 0>
constexpr std::uint32_t block_type_code() {
  if constexpr (I == std::tuple_size_v<Tuple>) {
    return 0;
  } else if constexpr (std::is_same_v<V, std::tuple_element_t<I, Tuple>>) {
    return static_cast<std::uint32_t>(I + 1);
  } else {
    return block_type_code<V, Tuple, I + 1>();
  }
}
template <class V>
inline constexpr std::uint32_t block_type = block_type_code<V>();

// Blocks at least this large are borrowed by a Message rather than copied into it: below it, a
// copy costs less than the extra MPI messages.
inline constexpr std::size_t borrow_min_bytes = std::size_t{256} << 10;

// A block of a received message, in the storage of the value that lent it (see block_type).
struct ReceivedBlock {
  std::size_t at = 0;  // where in the owned bytes it goes
  std::span<char> data;
  std::uint32_t type = 0;
  std::shared_ptr<void> value;  // a block_values type, whose storage `data` is
};

// A received message: its owned bytes, and its typed blocks, which the message's content has
// at their `at` (as in Message). A Reader given them takes a block where a value lies in one.
struct Received {
  std::string bytes;
  std::vector<ReceivedBlock> blocks;
};

// The bytes of a message to send: owned bytes with borrowed blocks spliced in. Its content is
// bytes[0, b0.at) + b0 + bytes[b0.at, b1.at) + b1 + ... + bytes[bn.at, end).
struct Message {
  struct Block {
    std::size_t at = 0;  // where in `bytes` the block goes
    std::span<const char> data;
    std::uint32_t type = 0;  // block_type of the value that lent it; 0: plain bytes
  };
  std::string bytes;
  std::vector<Block> blocks;
  // Keep the blocks' storage alive, one per block. A typed block's owner is its value, made
  // non-const (only the message sees it as const), so that received() can hand it over.
  std::vector<std::shared_ptr<const void>> owners;

  Message() = default;
  explicit Message(std::string owned) : bytes(std::move(owned)) {}
  // The length of the content.
  std::size_t size() const noexcept;
  bool empty() const noexcept { return size() == 0; }
  // Borrows `data`, kept alive by `owner`, at the end of the content; `type`: see Block.
  void borrow(std::span<const char> data, std::shared_ptr<const void> owner,
              std::uint32_t type = 0);
  // Appends the content of `other`, its blocks borrowed again, not copied.
  void append(Message&& other);
  // The content as segments, in order: owned stretches (type 0; none empty) and blocks.
  struct Segment {
    std::span<const char> data;
    std::uint32_t type = 0;
  };
  std::vector<Segment> segments() const;
  // The content in one string: the owned bytes themselves when nothing is borrowed.
  std::string flatten() &&;
  // The content as a receiver gets it (see Received): plain blocks copied among the owned
  // bytes, typed blocks handed over as the values that lent them, without a copy. For a
  // message that stays on this rank (the root running a task itself).
  Received received() &&;
};

// A message on its way out, sent without blocking; it must stay where it is until done.
class Outgoing {
 public:
  Outgoing() = default;
  explicit Outgoing(Message message) : message_(std::move(message)) {}
  explicit Outgoing(std::string bytes) : message_(std::move(bytes)) {}
  Outgoing(const Outgoing&) = delete;
  Outgoing& operator=(const Outgoing&) = delete;

  // Starts sending the message to `dest` with `tag`.
  void post(Channel channel, int dest, int tag);
  // Whether every piece has gone (MPI_Testall).
  bool test();
  void wait();

 private:
  Message message_;
  std::vector<std::uint64_t> layout_;  // announced ahead of a message in several pieces
  std::vector<MPI_Request> requests_;
};

// Sends `bytes` to `dest` and returns once they have gone.
void send_message(Channel channel, int dest, int tag, std::span<const char> bytes);

// Encoded values as a Reader reads them: their bytes, and the typed blocks received with them
// (see Received), whose `at` count from `origin` bytes before `bytes`.
struct Encoded {
  std::span<const char> bytes;
  std::span<ReceivedBlock> blocks;
  std::size_t origin = 0;

  Encoded() = default;
  Encoded(std::span<const char> plain) : bytes(plain) {}  // NOLINT: bytes without blocks
  Encoded(std::span<const char> bytes, std::span<ReceivedBlock> blocks, std::size_t origin)
      : bytes(bytes), blocks(blocks), origin(origin) {}
  // The values after the first `n` bytes, which hold no block.
  Encoded after(std::size_t n) const { return {bytes.subspan(n), blocks, origin + n}; }
};

// Receives the message whose first piece `first` describes (from a probe on `first.MPI_TAG`).
Received receive_message(Channel channel, const MPI_Status& first);

// Pieces of a message whose size both sides know: appended to `requests`, to be completed with
// wait_all. Sender and receiver must pass the same size.
void post_send(MPI_Comm comm, int dest, int tag, const char* data, std::size_t bytes,
               std::vector<MPI_Request>& requests);
void post_receive(MPI_Comm comm, int source, int tag, char* data, std::size_t bytes,
                  std::vector<MPI_Request>& requests);
void wait_all(std::vector<MPI_Request>& requests);

}  // namespace mpp::mpi::detail
