#include "mpp/detail/journal.hpp"

#include <cxxabi.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "mpp/errors.hpp"

namespace mpp::detail {
namespace {

// Format 2 added the identity of the computation to the header; format 1 had none.
constexpr char magic[8] = {'M', 'P', 'P', 'J', 'R', 'N', 'L', '2'};
constexpr std::size_t magic_stem = 7;  // "MPPJRNL", followed by the format's digit

template <class T>
void put(std::string& out, const T& value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

void put_string(std::string& out, const std::string& value) {
  put(out, static_cast<std::uint64_t>(value.size()));
  out += value;
}

std::string header_bytes(const JournalSpec& spec, std::uint64_t chunksize) {
  std::string out(magic, sizeof magic);
  put(out, spec.items);
  put(out, spec.fingerprint);
  put(out, chunksize);
  put_string(out, spec.identity.result_type);
  put_string(out, spec.identity.function);
  put_string(out, spec.identity.tag);
  put(out, fnv1a(out.data(), out.size()));
  return out;
}

std::uint64_t record_checksum(std::uint64_t chunk, const char* payload, std::uint64_t size) {
  return fnv1a(payload, size, fnv1a(&chunk, sizeof chunk));
}

template <class T>
bool read_at(const std::string& bytes, std::size_t& offset, T& value) {
  if (bytes.size() - offset < sizeof value) return false;
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  offset += sizeof value;
  return true;
}

bool read_string(const std::string& bytes, std::size_t& offset, std::string& value) {
  std::uint64_t size = 0;
  if (!read_at(bytes, offset, size) || bytes.size() - offset < size) return false;
  value.assign(bytes.data() + offset, size);
  offset += size;
  return true;
}

// A type's name as the user wrote it, for messages.
std::string demangle(const std::string& name) {
  int status = 0;
  char* readable = abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status);
  std::string out = status == 0 && readable != nullptr ? readable : name;
  std::free(readable);
  return out;
}

std::string errno_text() {
  return std::strerror(errno);
}

}  // namespace

std::uint64_t fnv1a(const void* data, std::size_t size, std::uint64_t hash) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) hash = (hash ^ p[i]) * 1099511628211ull;
  return hash;
}

JournalFile::JournalFile(const JournalSpec& spec, std::chrono::milliseconds sync_interval)
    : path_(spec.path), chunksize_(spec.chunksize) {
  // O_APPEND: every record lands at the end even after the torn tail is cut off.
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw_checkpoint(path_, "cannot open: " + errno_text() +
                                "; check that its directory exists and is writable");
  }
  try {
    struct stat status {};
    if (::fstat(fd_, &status) != 0) throw_checkpoint(path_, "cannot stat: " + errno_text());
    if (!S_ISREG(status.st_mode)) throw_checkpoint(path_, "not a regular file");
    // flock(2), not fcntl(2): its lock belongs to this open file description, so a second open
    // in the same process is refused too, where an fcntl lock would be shared by the process.
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) {
        throw_checkpoint(path_,
                         "in use: another map is writing it (in this process or another; it "
                         "is locked); wait for that map to end or choose another path");
      }
      // A file system without locks (a Lustre mount without -o flock): go on unlocked rather
      // than make checkpoints impossible there.
      if (errno != ENOLCK && errno != ENOSYS && errno != EOPNOTSUPP) {
        throw_checkpoint(path_, "cannot lock: " + errno_text());
      }
    }
    std::string bytes;
    char buffer[1 << 16];
    while (true) {  // read under the lock, so no other writer is halfway through a record
      const ssize_t got = ::read(fd_, buffer, sizeof buffer);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) throw_checkpoint(path_, "cannot read: " + errno_text());
      if (got == 0) break;
      bytes.append(buffer, static_cast<std::size_t>(got));
    }
    if (bytes.empty()) {
      create(spec);
    } else {
      recover(bytes, spec);
    }
  } catch (...) {
    ::close(fd_);
    throw;
  }
  timer_ = std::thread([this, sync_interval] {
    std::unique_lock lock(timer_mutex_);
    while (!timer_wake_.wait_for(lock, sync_interval, [this] { return closing_; })) {
      lock.unlock();
      sync();
      lock.lock();
    }
  });
}

JournalFile::~JournalFile() {
  {
    std::lock_guard lock(timer_mutex_);
    closing_ = true;
  }
  timer_wake_.notify_one();
  timer_.join();
  sync();  // a failure here is recorded but cannot be reported any more
  ::close(fd_);
}

void JournalFile::create(const JournalSpec& spec) {
  {
    std::lock_guard lock(mutex_);
    write_all(header_bytes(spec, chunksize_));
  }
  flush();
  // The new file's directory entry reaches the disk too, or a node crash could lose the file.
  const auto directory = std::filesystem::path(path_).parent_path();
  const int dir = ::open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

void JournalFile::recover(const std::string& bytes, const JournalSpec& spec) {
  if (bytes.compare(0, magic_stem, magic, magic_stem) == 0 && bytes.size() > magic_stem &&
      bytes[magic_stem] != magic[magic_stem]) {
    throw_checkpoint(path_, std::string("written by another version of mpp (journal format ") +
                                bytes[magic_stem] + "; this one reads format " + magic[magic_stem] +
                                "); finish it with that version, or delete it to start afresh");
  }
  std::size_t offset = 0;
  std::uint64_t items = 0, fingerprint = 0, chunksize = 0, checksum = 0;
  JournalIdentity identity;
  const bool parsed = bytes.compare(0, sizeof magic, magic, sizeof magic) == 0 &&
                      (offset = sizeof magic, read_at(bytes, offset, items)) &&
                      read_at(bytes, offset, fingerprint) && read_at(bytes, offset, chunksize) &&
                      read_string(bytes, offset, identity.result_type) &&
                      read_string(bytes, offset, identity.function) &&
                      read_string(bytes, offset, identity.tag);
  const std::size_t checked = offset;
  if (!parsed || !read_at(bytes, offset, checksum) || checksum != fnv1a(bytes.data(), checked)) {
    throw_checkpoint(path_,
                     "not an mpp journal (or its header is damaged); delete it or choose "
                     "another path");
  }
  if (items != spec.items || fingerprint != spec.fingerprint) {
    throw_checkpoint(path_, "written by a different map (" + std::to_string(items) +
                                " items there, " + std::to_string(spec.items) +
                                " here, or other input values); delete it to start afresh or "
                                "choose another path");
  }
  std::string differences;
  const auto differs = [&](const std::string& what, const std::string& here,
                           const std::string& there) {
    differences += (differences.empty() ? "" : "; ") + what + " '" + here + "' here, '" + there +
                   "' in the journal";
  };
  if (identity.result_type != spec.identity.result_type) {
    differs("result type", demangle(spec.identity.result_type), demangle(identity.result_type));
  }
  if (identity.tag != spec.identity.tag) {
    differs("checkpoint_tag", spec.identity.tag, identity.tag);
  } else if (identity.tag.empty() && identity.function != spec.identity.function) {
    differs("function", demangle(spec.identity.function), demangle(identity.function));
  }
  if (!differences.empty()) {
    throw_checkpoint(path_, "written by a different computation over the same inputs (" +
                                differences +
                                "); delete it to start afresh or choose another path (a "
                                "checkpoint_tag, when given, names the computation instead of "
                                "the function's type)");
  }
  chunksize_ = chunksize;
  std::size_t good = offset;
  while (true) {
    std::uint64_t chunk = 0, size = 0;
    if (!read_at(bytes, offset, chunk) || !read_at(bytes, offset, size)) break;
    if (bytes.size() - offset < size) break;
    const char* payload = bytes.data() + offset;
    offset += size;
    if (!read_at(bytes, offset, checksum) || checksum != record_checksum(chunk, payload, size)) {
      break;
    }
    recovered_.emplace_back(chunk, std::string(payload, size));
    good = offset;
  }
  // A torn or corrupted tail (killed mid-write) is cut so new records follow good ones.
  if (good != bytes.size() && ::ftruncate(fd_, static_cast<off_t>(good)) != 0) {
    throw_checkpoint(path_, "cannot cut off its torn tail: " + errno_text());
  }
  size_ = good;
}

void JournalFile::append(std::uint64_t chunk, const std::string& payload) {
  const std::uint64_t size = payload.size();
  std::string record;
  record.reserve(3 * sizeof size + payload.size());
  put(record, chunk);
  put(record, size);
  record += payload;
  put(record, record_checksum(chunk, payload.data(), size));
  std::lock_guard lock(mutex_);
  if (!failure_.empty()) throw_checkpoint(path_, failure_);
  write_all(record);
}

void JournalFile::write_all(const std::string& bytes) {
  // One write(2) per record in the usual case: once it returns, a killed process keeps it.
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t wrote = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) fail("cannot write: " + (wrote < 0 ? errno_text() : "nothing written"));
    done += static_cast<std::size_t>(wrote);
    size_ += static_cast<std::uint64_t>(wrote);
  }
}

void JournalFile::fail(const std::string& what) {
  failure_ = what;
  throw_checkpoint(path_, what);
}

void JournalFile::sync() {
  std::lock_guard one_at_a_time(sync_mutex_);
  std::uint64_t written = 0;
  {
    std::lock_guard lock(mutex_);
    written = size_;
  }
  if (written == durable_.load()) return;
  // fdatasync, not fsync: it writes the data and the file's size, which is all a rerun reads.
  if (::fdatasync(fd_) != 0) {
    const std::string what = "cannot sync to the disk: " + errno_text();
    std::lock_guard lock(mutex_);
    if (failure_.empty()) failure_ = what;
    return;
  }
  durable_.store(written);
}

void JournalFile::flush() {
  sync();
  std::lock_guard lock(mutex_);
  if (!failure_.empty()) throw_checkpoint(path_, failure_);
}

}  // namespace mpp::detail
