#include "mpp/detail/journal.hpp"

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "mpp/errors.hpp"

namespace mpp::detail {
namespace {

constexpr char magic[8] = {'M', 'P', 'P', 'J', 'R', 'N', 'L', '1'};
constexpr auto flush_interval = std::chrono::milliseconds(100);

struct Header {
  char magic[8];
  std::uint64_t items;
  std::uint64_t fingerprint;
  std::uint64_t chunksize;
  std::uint64_t checksum;
};

std::uint64_t header_checksum(const Header& h) {
  return fnv1a(&h, offsetof(Header, checksum));
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

}  // namespace

std::uint64_t fnv1a(const void* data, std::size_t size, std::uint64_t hash) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) hash = (hash ^ p[i]) * 1099511628211ull;
  return hash;
}

JournalFile::JournalFile(std::string path, std::uint64_t items, std::uint64_t fingerprint,
                         std::uint64_t chunksize)
    : path_(std::move(path)), chunksize_(chunksize), last_flush_(std::chrono::steady_clock::now()) {
  std::ifstream in(path_, std::ios::binary);
  if (in) {
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    in.close();
    recover(bytes, items, fingerprint);
    file_ = std::fopen(path_.c_str(), "ab");
  } else {
    create(items, fingerprint);
  }
  if (file_ == nullptr)
    throw_checkpoint(path_, std::string("cannot open: ") + std::strerror(errno));
}

JournalFile::~JournalFile() {
  if (file_ != nullptr) {
    std::fflush(file_);
    ::fsync(::fileno(file_));
    std::fclose(file_);
  }
}

void JournalFile::create(std::uint64_t items, std::uint64_t fingerprint) {
  file_ = std::fopen(path_.c_str(), "wb");
  if (file_ == nullptr) {
    throw_checkpoint(path_, std::string("cannot create: ") + std::strerror(errno) +
                                "; check that its directory exists and is writable");
  }
  Header header{};
  std::memcpy(header.magic, magic, sizeof magic);
  header.items = items;
  header.fingerprint = fingerprint;
  header.chunksize = chunksize_;
  header.checksum = header_checksum(header);
  std::fwrite(&header, sizeof header, 1, file_);
  flush();
}

void JournalFile::recover(const std::string& bytes, std::uint64_t items,
                          std::uint64_t fingerprint) {
  Header header{};
  std::size_t offset = 0;
  if (!read_at(bytes, offset, header) || std::memcmp(header.magic, magic, sizeof magic) != 0 ||
      header.checksum != header_checksum(header)) {
    throw_checkpoint(path_,
                     "not an mpp journal (or its header is damaged); delete it or choose "
                     "another path");
  }
  if (header.items != items || header.fingerprint != fingerprint) {
    throw_checkpoint(path_, "written by a different map (" + std::to_string(header.items) +
                                " items there, " + std::to_string(items) +
                                " here, or other input values); delete it to start afresh or "
                                "choose another path");
  }
  chunksize_ = header.chunksize;
  std::size_t good = offset;
  while (true) {
    std::uint64_t chunk = 0, size = 0, checksum = 0;
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
  if (good != bytes.size()) std::filesystem::resize_file(path_, good);
}

void JournalFile::append(std::uint64_t chunk, const std::string& payload) {
  const std::uint64_t size = payload.size();
  const std::uint64_t checksum = record_checksum(chunk, payload.data(), size);
  std::lock_guard lock(mutex_);
  std::fwrite(&chunk, sizeof chunk, 1, file_);
  std::fwrite(&size, sizeof size, 1, file_);
  std::fwrite(payload.data(), 1, payload.size(), file_);
  std::fwrite(&checksum, sizeof checksum, 1, file_);
  if (std::chrono::steady_clock::now() - last_flush_ >= flush_interval) {
    std::fflush(file_);
    last_flush_ = std::chrono::steady_clock::now();
  }
}

void JournalFile::flush() {
  if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0) {
    throw_checkpoint(path_, std::string("cannot write: ") + std::strerror(errno));
  }
  last_flush_ = std::chrono::steady_clock::now();
}

struct SignalWatch::Impl {
  boost::asio::io_context io;
  boost::asio::signal_set signals{io, SIGINT, SIGTERM};
  std::thread thread;
};

SignalWatch::SignalWatch(std::function<void(int)> on_signal) : impl_(std::make_unique<Impl>()) {
  impl_->signals.async_wait(
      [on_signal = std::move(on_signal)](const boost::system::error_code& error, int signo) {
        if (!error) on_signal(signo);
      });
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

SignalWatch::~SignalWatch() {
  impl_->signals.cancel();
  impl_->io.stop();
  impl_->thread.join();
}

}  // namespace mpp::detail
