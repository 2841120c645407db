#pragma once
// How values become bytes and back: the bytes themselves for bytes_transferable types (no
// copies for contiguous data), cereal's binary archive otherwise.

#include <cereal/archives/binary.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <istream>
#include <memory>
#include <ostream>
#include <ranges>
#include <span>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "mpp/mpi/detail/message.hpp"
#include "mpp/mpi/transfer.hpp"

namespace mpp::mpi::detail {

template <class T>
inline constexpr bool dependent_false = false;

// Instantiated only for a type that cannot cross ranks, so the compiler's error names it.
template <class T>
struct type_cannot_cross_ranks {
  static_assert(dependent_false<T>,
                "mpp::mpi: the type T in 'type_cannot_cross_ranks<T>' (see the line above) must "
                "cross ranks, but it is neither trivially copyable nor serializable by cereal: "
                "give it a `template <class Archive> void serialize(Archive&)` member, or "
                "include the cereal/types/ header of the standard type it uses");
};

// Fails to compile, naming T, unless T is transferable.
template <class T>
constexpr bool require_transferable() {
  if constexpr (!transferable<T>) {
    return sizeof(type_cannot_cross_ranks<T>) == 0;
  } else {
    return true;
  }
}

// A std::vector of bytes_transferable values or a std::string: Writer and Reader write and read
// a 64-bit count and the values' bytes (as cereal does for numbers), straight from and into the
// value's storage, so that a large one can be sent from where it lies (see Writer). cereal
// itself cannot write a vector of plain structs at all.
template <class T>
struct contiguous_values : std::false_type {};
template <class U>
struct contiguous_values<std::vector<U>> : std::bool_constant<bytes_transferable<U>> {};
template <>
struct contiguous_values<std::string> : std::true_type {};

// A read-only streambuf over bytes already in memory (no copy).
class MemoryBuffer : public std::streambuf {
 public:
  explicit MemoryBuffer(std::span<const char> bytes) {
    char* begin = const_cast<char*>(bytes.data());
    setg(begin, begin, begin + bytes.size());
  }
  // How many bytes were read.
  std::size_t position() const noexcept { return static_cast<std::size_t>(gptr() - eback()); }
};

// A write-only streambuf that appends to a string. std::ostringstream grows its buffer a
// character at a time past its end and copies it out again in str(): encoding 2 GiB through it
// took 40 s and more. Here a large block is one append into a string that grows geometrically.
class StringSink : public std::streambuf {
 public:
  explicit StringSink(std::size_t reserve) : bytes_(reserve, '\0') {}
  std::string take() && { return std::move(bytes_); }
  // Goes on appending to `bytes` (taken before with take()).
  void resume(std::string bytes) { bytes_ = std::move(bytes); }

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    bytes_.append(s, static_cast<std::size_t>(n));
    return n;
  }
  int_type overflow(int_type c) override {
    if (!traits_type::eq_int_type(c, traits_type::eof()))
      bytes_.push_back(traits_type::to_char_type(c));
    return traits_type::not_eof(c);
  }

 private:
  std::string bytes_;
};

// Appends values to a byte string. With `borrow`, a large vector or string given as an rvalue is
// moved into the message and sent from its own storage (see take_message) instead of copied.
class Writer {
 public:
  // `reserve` zero bytes come first, for a header to be written there later.
  explicit Writer(std::size_t reserve = 0, bool borrow = false) : sink_(reserve), borrow_(borrow) {}

  template <class T>
  void value(T&& x) {
    using V = std::remove_cvref_t<T>;
    require_transferable<V>();
    if constexpr (bytes_transferable<V>) {
      archive_(cereal::binary_data(&x, sizeof(V)));
    } else if constexpr (contiguous_values<V>::value) {
      contiguous(std::forward<T>(x));
    } else {
      archive_(x);
    }
  }
  // The count that `Reader::values` reads before the items; follow it with `value` calls.
  void count(std::uint64_t n) { archive_(n); }
  // A count, then the items of a sized range (one block of bytes when contiguous).
  template <class Range>
  void values(const Range& xs) {
    using T = std::ranges::range_value_t<Range>;
    archive_(static_cast<std::uint64_t>(std::ranges::size(xs)));
    if constexpr (bytes_transferable<T> && std::ranges::contiguous_range<Range>) {
      if (std::ranges::size(xs) != 0) {
        archive_(cereal::binary_data(std::ranges::data(xs), std::ranges::size(xs) * sizeof(T)));
      }
    } else if constexpr (std::is_same_v<T, bool>) {
      // The bytes cereal writes for each bool (0 or 1), in one block: vector<bool> packs bits,
      // and a call per value costs more than the value.
      std::string bytes;
      bytes.reserve(std::ranges::size(xs));
      for (const bool x : xs) bytes.push_back(x ? 1 : 0);
      if (!bytes.empty()) archive_(cereal::binary_data(bytes.data(), bytes.size()));
    } else {
      for (const auto& x : xs) value(static_cast<const T&>(x));
    }
  }
  template <class... Ts>
  void tuple(const std::tuple<Ts...>& t) {
    std::apply([&](const auto&... xs) { (value(xs), ...); }, t);
  }
  // Moves the values out of `t`, so that large ones can be borrowed.
  template <class... Ts>
  void tuple(std::tuple<Ts...>&& t) {
    std::apply([&](auto&... xs) { (value(std::move(xs)), ...); }, t);
  }
  // What was written, with the values it borrowed.
  Message take_message() && {
    message_.bytes = std::move(sink_).take();
    return std::move(message_);
  }
  // What was written, in one string.
  std::string take() && { return std::move(*this).take_message().flatten(); }

 private:
  template <class T>
  void contiguous(T&& x) {
    using V = std::remove_cvref_t<T>;
    const std::size_t bytes = x.size() * sizeof(typename V::value_type);
    archive_(static_cast<std::uint64_t>(x.size()));
    if constexpr (!std::is_lvalue_reference_v<T>) {
      if (borrow_ && bytes >= borrow_min_bytes) {
        message_.bytes = std::move(sink_).take();
        auto owner = std::make_shared<V>(std::move(x));  // see Message::owners
        message_.borrow({reinterpret_cast<const char*>(owner->data()), bytes}, owner,
                        block_type<V>);
        sink_.resume(std::move(message_.bytes));
        return;
      }
    }
    if (bytes != 0) archive_(cereal::binary_data(x.data(), bytes));
  }

  StringSink sink_;
  std::ostream stream_{&sink_};
  cereal::BinaryOutputArchive archive_{stream_};
  bool borrow_ = false;
  Message message_;  // the blocks borrowed so far (its bytes are in sink_ until taken)
};

// Reads values written by Writer from bytes in memory. A vector or string that was received
// in a block of its own (see Received) is taken from it: moved out with `take` when nothing else
// holds the block, else copied.
class Reader {
 public:
  explicit Reader(Encoded encoded, bool take = false)
      : buffer_(encoded.bytes), blocks_(encoded.blocks), origin_(encoded.origin), take_(take) {}
  template <class T>
  void value(T& x) {
    require_transferable<T>();
    if constexpr (bytes_transferable<T>) {
      archive_(cereal::binary_data(&x, sizeof(T)));
    } else if constexpr (contiguous_values<T>::value) {
      std::uint64_t n = 0;
      archive_(n);
      if (next_block_ < blocks_.size() && blocks_[next_block_].at == origin_ + buffer_.position()) {
        from_block(x, n, blocks_[next_block_++]);
        return;
      }
      x.clear();
      x.resize(static_cast<std::size_t>(n));
      if (n != 0)
        archive_(cereal::binary_data(x.data(), x.size() * sizeof(typename T::value_type)));
    } else {
      archive_(x);
    }
  }
  template <class T>
  T value() {
    T x{};
    value(x);
    return x;
  }
  // Appends the values of a `Writer::values` call to `out`.
  template <class T>
  void values(std::vector<T>& out) {
    std::uint64_t n = 0;
    archive_(n);
    const std::size_t old = out.size();
    if constexpr (bytes_transferable<T>) {
      out.resize(old + n);
      if (n != 0) archive_(cereal::binary_data(out.data() + old, n * sizeof(T)));
    } else if constexpr (std::is_same_v<T, bool>) {  // one block, as Writer::values writes it
      std::string bytes(n, '\0');
      if (n != 0) archive_(cereal::binary_data(bytes.data(), n));
      out.reserve(old + n);
      for (const char b : bytes) out.push_back(b != 0);
    } else {
      out.reserve(old + n);
      for (std::uint64_t i = 0; i < n; ++i) out.push_back(value<T>());
    }
  }

 private:
  template <class T>
  void from_block(T& x, std::uint64_t n, ReceivedBlock& block) {
    using U = typename T::value_type;
    if (block.value == nullptr) {
      throw std::logic_error(
          "mpp::mpi: a received value was moved out already; a value is read once, when its "
          "result completes");
    }
    if (block.type != block_type<T> || block.data.size() != n * sizeof(U)) {
      throw std::runtime_error(
          "mpp::mpi: a received value does not match the block it came in; are all ranks "
          "running the same program?");
    }
    if (take_ && block.value.use_count() == 1) {
      x = std::move(*static_cast<T*>(block.value.get()));
      block = ReceivedBlock{block.at, {}, block.type, nullptr};
      return;
    }
    const auto* first = reinterpret_cast<const U*>(block.data.data());
    x.assign(first, first + n);
  }

  MemoryBuffer buffer_;
  std::istream stream_{&buffer_};
  cereal::BinaryInputArchive archive_{stream_};
  std::span<ReceivedBlock> blocks_;
  std::size_t origin_ = 0;
  bool take_ = false;
  std::size_t next_block_ = 0;
};

// The bytes of `items` ready to send: their own storage for bytes_transferable T (no copy),
// else their encoding, kept alive in `storage`.
template <class T>
std::span<const char> encode_all(const std::vector<T>& items, std::string& storage) {
  require_transferable<T>();
  if constexpr (bytes_transferable<T>) {
    return {reinterpret_cast<const char*>(items.data()), items.size() * sizeof(T)};
  } else {
    Writer writer;
    writer.values(items);
    storage = std::move(writer).take();
    return {storage.data(), storage.size()};
  }
}

// `items` as a message after frame_prefix reserved bytes: their encoding, or with `borrow` and
// bytes_transferable T, their own storage when large.
template <class T>
Message encode_message(std::vector<T>&& items, std::size_t prefix, bool borrow) {
  Message message(std::string(prefix, '\0'));
  if constexpr (bytes_transferable<T>) {
    const std::size_t bytes = items.size() * sizeof(T);
    if (borrow && bytes >= borrow_min_bytes) {
      auto owner = std::make_shared<const std::vector<T>>(std::move(items));
      message.borrow({reinterpret_cast<const char*>(owner->data()), bytes}, owner);
      return message;
    }
  }
  std::string storage;
  const auto encoded = encode_all(items, storage);
  message.bytes.append(encoded.data(), encoded.size());
  return message;
}

// Appends the items of bytes made by encode_all to `out`.
template <class T>
void decode_all(std::span<const char> bytes, std::vector<T>& out) {
  if constexpr (bytes_transferable<T>) {
    const std::size_t n = bytes.size() / sizeof(T);
    const std::size_t old = out.size();
    out.resize(old + n);
    if (n != 0) std::memcpy(static_cast<void*>(out.data() + old), bytes.data(), n * sizeof(T));
  } else {
    Reader reader(bytes);
    reader.values(out);
  }
}

}  // namespace mpp::mpi::detail
