#pragma once
// The checkpoint journal of a map (MapOptions::checkpoint): finished chunks are appended as
// checksummed cereal records, so a rerun after a crash or kill recomputes only what is missing.

#include <cereal/archives/binary.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/vector.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace mpp::detail {

// FNV-1a, 64 bits: record checksums and input fingerprints.
std::uint64_t fnv1a(const void* data, std::size_t size,
                    std::uint64_t hash = 14695981039346656037ull) noexcept;

// A value cereal can write and read back with its binary archives.
template <class T>
concept journalable = std::is_default_constructible_v<T> &&
    cereal::traits::is_output_serializable<T, cereal::BinaryOutputArchive>::value &&
    cereal::traits::is_input_serializable<T, cereal::BinaryInputArchive>::value;

// The journal file: a header naming the map (items, input fingerprint, chunk size), then one
// record per finished chunk. Appends are thread-safe and reach the disk at least every 100 ms.
class JournalFile {
 public:
  // Opens `path`, or creates it when missing. An existing journal of another map is refused;
  // a torn or corrupted tail is cut off. `chunksize` is used only when creating.
  JournalFile(std::string path, std::uint64_t items, std::uint64_t fingerprint,
              std::uint64_t chunksize);
  ~JournalFile();
  JournalFile(const JournalFile&) = delete;
  JournalFile& operator=(const JournalFile&) = delete;

  const std::string& path() const noexcept { return path_; }
  std::uint64_t chunksize() const noexcept { return chunksize_; }
  // Chunks read back from an existing journal: (chunk index, payload).
  std::vector<std::pair<std::uint64_t, std::string>>& recovered() noexcept { return recovered_; }

  void append(std::uint64_t chunk, const std::string& payload);
  void flush();  // to the disk (fflush + fsync)

 private:
  void create(std::uint64_t items, std::uint64_t fingerprint);
  void recover(const std::string& bytes, std::uint64_t items, std::uint64_t fingerprint);

  std::string path_;
  std::uint64_t chunksize_;
  std::FILE* file_ = nullptr;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point last_flush_;
  std::vector<std::pair<std::uint64_t, std::string>> recovered_;
};

// Calls `on_signal(signo)` on a background thread when SIGINT or SIGTERM arrives while it
// lives (Boost.Asio signal_set); the signals' previous disposition returns afterwards.
class SignalWatch {
 public:
  explicit SignalWatch(std::function<void(int)> on_signal);
  ~SignalWatch();
  SignalWatch(const SignalWatch&) = delete;
  SignalWatch& operator=(const SignalWatch&) = delete;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

template <class T>
std::string to_record(const std::vector<T>& values) {
  std::ostringstream out(std::ios::binary);
  {
    cereal::BinaryOutputArchive archive(out);
    archive(values);
  }
  return std::move(out).str();
}

template <class T>
std::vector<T> from_record(const std::string& payload) {
  std::istringstream in(payload, std::ios::binary);
  cereal::BinaryInputArchive archive(in);
  std::vector<T> values;
  archive(values);
  return values;
}

// A fingerprint of the map's inputs, so a journal is never mixed with another map's.
template <class Access>
std::uint64_t fingerprint(const Access& items) {
  std::uint64_t hash = fnv1a(nullptr, 0);
  std::string bytes;
  for (std::size_t i = 0; i < items.size(); ++i) {
    using Item = std::remove_cvref_t<decltype(items[i])>;
    const Item& item = items[i];
    if constexpr (std::is_arithmetic_v<Item>) {
      hash = fnv1a(&item, sizeof item, hash);
    } else {
      std::ostringstream out(std::ios::binary);
      {
        cereal::BinaryOutputArchive archive(out);
        archive(item);
      }
      bytes = std::move(out).str();
      hash = fnv1a(bytes.data(), bytes.size(), hash);
    }
  }
  return hash;
}

}  // namespace mpp::detail
