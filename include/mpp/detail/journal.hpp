#pragma once
// The checkpoint journal of a map (MapOptions::checkpoint): finished chunks are appended as
// checksummed cereal records, so a rerun after a crash or kill recomputes only what is missing.

#include <cereal/archives/binary.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/vector.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "mpp/detail/serializable.hpp"

namespace mpp::detail {

// FNV-1a, 64 bits: record checksums and input fingerprints.
std::uint64_t fnv1a(const void* data, std::size_t size,
                    std::uint64_t hash = 14695981039346656037ull) noexcept;

// A value cereal can write and read back with its binary archives.
template <class T>
concept journalable = cereal_serializable<T>;

// What a journal records about the computation that made it, so that a rerun never reads back
// another computation's results: the result type always, and the function's type unless the
// user names the computation with MapOptions::checkpoint_tag.
struct JournalIdentity {
  std::string result_type;  // typeid(R).name()
  std::string function;     // typeid(F).name(): tells lambdas and function objects apart
  std::string tag;          // MapOptions::checkpoint_tag; when set, it names the computation
};

template <class R, class F>
JournalIdentity journal_identity(const std::string& tag) {
  return {typeid(R).name(), typeid(std::remove_cvref_t<F>).name(), tag};
}

// What a map asks of its journal.
struct JournalSpec {
  std::string path;
  std::uint64_t items = 0;
  std::uint64_t fingerprint = 0;  // of the inputs
  std::uint64_t chunksize = 0;    // used only when creating
  JournalIdentity identity;
};

// The journal file: a header naming the map (items, input fingerprint, chunk size, identity),
// then one record per finished chunk. Each append reaches the kernel at once (write(2)), so a
// killed process loses no finished chunk; a timer thread syncs it to the disk (fdatasync) every
// `sync_interval`, so a node crash loses at most that much. The file is locked (flock(2)) while
// open: a second writer, in this process or another, is refused. Appends are thread-safe.
class JournalFile {
 public:
  static constexpr std::chrono::milliseconds default_sync_interval{1000};

  // Opens `spec.path`, or creates it when missing or empty. A journal of another map, another
  // computation or another format is refused with CheckpointError; a torn or corrupted tail is
  // cut off.
  explicit JournalFile(const JournalSpec& spec,
                       std::chrono::milliseconds sync_interval = default_sync_interval);
  ~JournalFile();
  JournalFile(const JournalFile&) = delete;
  JournalFile& operator=(const JournalFile&) = delete;

  const std::string& path() const noexcept { return path_; }
  std::uint64_t chunksize() const noexcept { return chunksize_; }
  // Chunks read back from an existing journal: (chunk index, payload).
  std::vector<std::pair<std::uint64_t, std::string>>& recovered() noexcept { return recovered_; }

  // Writes one record to the kernel before returning. Throws CheckpointError when the write
  // fails (disk full, EIO) or an earlier write or sync failed; the journal takes no more records
  // after a failure, so none follows a torn one.
  void append(std::uint64_t chunk, const std::string& payload);
  // Syncs every record appended so far to the disk; throws CheckpointError on failure.
  void flush();
  // Bytes of the file known to be on the disk (synced), for tests of the timer.
  std::uint64_t durable_size() const noexcept { return durable_.load(); }

 private:
  void create(const JournalSpec& spec);
  void recover(const std::string& bytes, const JournalSpec& spec);
  void write_all(const std::string& bytes);  // mutex_ held
  void sync();
  [[noreturn]] void fail(const std::string& what);  // mutex_ held

  std::string path_;
  std::uint64_t chunksize_;
  int fd_ = -1;
  std::mutex mutex_;        // the file's end: size_ and failure_
  std::uint64_t size_ = 0;  // bytes written
  std::string failure_;     // the first write or sync error; every later call reports it
  std::mutex sync_mutex_;   // one fdatasync at a time, so durable_ only grows
  std::atomic<std::uint64_t> durable_{0};
  std::vector<std::pair<std::uint64_t, std::string>> recovered_;
  // The timer thread that syncs.
  std::mutex timer_mutex_;
  std::condition_variable timer_wake_;
  bool closing_ = false;
  std::thread timer_;
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
