#pragma once
// A map whose finished chunks stream to the root while the ranks still work: what the
// checkpoint, the progress and imap of mpp::mpi::Pool are built on.
//
// Every rank claims `step` chunks of `todo` at a time from the shared counter, computes them on
// its local pool and sends their results to the root in one message, then a last message saying
// how its part ended. The root computes too, between receiving: nothing waits for a manager.
// With a window (imap), no rank computes a batch ending more than `window` chunks past what the
// root's loop has read, so the root holds at most about that many chunks not yet read.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <optional>
#include <ranges>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "mpp/detail/map.hpp"
#include "mpp/detail/policy.hpp"
#include "mpp/mpi/detail/comm.hpp"
#include "mpp/mpi/detail/wire.hpp"
#include "mpp/pool.hpp"

namespace mpp::mpi::detail {

// The chunks of a streamed map: chunk c holds items [c k, min(n, (c + 1) k)); `todo` lists the
// chunks still to compute, the same on every rank.
struct StreamPlan {
  std::size_t n = 0;
  std::size_t k = 1;
  std::vector<std::uint64_t> todo;
  std::int64_t step = 1;  // chunks this rank claims at a time (its threads)

  std::pair<std::size_t, std::size_t> items(std::uint64_t c) const noexcept {
    const auto first = static_cast<std::size_t>(c) * k;
    return {std::min(n, first), std::min(n, first + k)};
  }
  std::size_t chunks() const noexcept { return (n + k - 1) / k; }
};

template <class R>
class Streamer {
 public:
  using Get = std::function<R(std::size_t)>;
  // Root only: chunk `c` finished with `values`; runs on the root's calling thread.
  using Deliver = std::function<void(std::uint64_t c, std::vector<R>& values)>;

  // `window`: 0 for none; otherwise at least twice the largest step, so that the chunk the
  // root's loop waits for is never in a batch that waits for the loop.
  Streamer(Comm& comm, mpp::Pool& local, StreamPlan plan, Get get, mpp::detail::ItemPolicy policy,
           Deliver deliver, std::size_t window = 0)
      : comm_(comm),
        local_(local),
        plan_(std::move(plan)),
        get_(std::move(get)),
        policy_(std::move(policy)),
        deliver_(std::move(deliver)),
        window_(window) {
    comm_.begin_map(static_cast<std::int64_t>(plan_.todo.size()));
    if (comm_.rank() == 0) {
      ends_.resize(static_cast<std::size_t>(comm_.size()));
      errors_.resize(ends_.size());
    }
  }
  Streamer(const Streamer&) = delete;
  Streamer& operator=(const Streamer&) = delete;

  // This rank claims no more chunks (SIGINT/SIGTERM arrived); thread-safe.
  void interrupt(int signo) noexcept { signal_.store(signo); }
  // This rank claims no more chunks, and no rank will: nobody wants the rest (imap's loop left).
  void abandon() noexcept { abandoned_ = true; }

  // The root: its loop has read the chunks before `chunks`; the other ranks hear of it every
  // quarter window.
  void read(std::size_t chunks) {
    read_ = chunks;
    if (window_ == 0 || released_ || chunks < told_ + std::max<std::size_t>(1, window_ / 4)) {
      return;
    }
    comm_.pacer().send_read(chunks);
    told_ = chunks;
  }

  // The root: nobody waits for the loop any more (it ended, or the map cannot complete): the
  // other ranks compute their share without waiting for it.
  void release() {
    if (window_ == 0 || released_) return;
    released_ = true;
    comm_.pacer().send_read(StreamPacer::no_limit);
  }

  // Not the root: computes this rank's share, sending each batch as it finishes, then the end.
  void run_share() {
    while (std::optional<std::pair<std::size_t, std::size_t>> batch = claim()) {
      wait_for_room(batch->second);
      auto values = compute(*batch);
      send(*batch, values);
    }
    send_end();
  }

  // The root: one round of its work: receives what arrived, collects its own finished batch,
  // claims the next. Returns false once every rank has ended; waits briefly when idle.
  bool pump() {
    bool busy = comm_.receive_stream(
        [&](int rank, std::span<const char> bytes) { on_message(rank, bytes); });
    if (claims_over_ || abandoned_ || failure_.failed() || others_failed_ || signal_.load() != 0) {
      release();
    }
    if (pending_.valid() && pending_.wait(std::chrono::microseconds(busy ? 0 : 200))) {
      auto values = std::move(pending_).get();
      pending_ = {};
      for (std::size_t t = batch_.first; t < batch_.second; ++t) {
        auto& chunk = values[t - batch_.first];
        if (chunk) deliver(plan_.todo[t], *chunk);
      }
      busy = true;
    }
    if (!pending_.valid() && !claims_over_ && room_for_root()) {
      if (auto batch = claim()) {
        batch_ = *batch;
        frontier_ = std::max(frontier_, batch_.second);
        pending_ = local_.map_async([this](std::size_t t) { return compute_chunk(t); },
                                    std::views::iota(batch_.first, batch_.second),
                                    {.chunksize = 1, .schedule = mpp::schedule::dynamic});
      }
      busy = true;
    }
    if (claims_over_ && !pending_.valid() && ended_ == comm_.size() - 1) {
      comm_.claims().end();
      comm_.claims().reset();
      return false;
    }
    if (!busy && !pending_.valid()) std::this_thread::sleep_for(std::chrono::microseconds(200));
    return true;
  }

  // The root, once pump() returned false: whether every chunk was computed.
  bool complete() const noexcept {
    if (failure_.failed() || signal_.load() != 0) return false;
    return std::none_of(ends_.begin(), ends_.end(),
                        [](const StreamEnd& e) { return e.failed || e.signal; });
  }

  // Every rank, after its part: every rank learns the outcome and throws as a map does
  // (mpp::InterruptedError after a signal, naming `journal`). `done` counts the root's chunks.
  void settle(const std::string& journal, std::uint64_t done) {
    StreamVerdict verdict{.done = done, .chunks = plan_.chunks()};
    std::string record;
    if (comm_.rank() == 0) {
      ends_[0] = own_end();
      for (std::size_t r = 0; r < ends_.size(); ++r) {
        const StreamEnd& e = ends_[r];
        if (e.signal != 0) verdict.signal = e.signal;
        if (!e.failed) continue;
        const auto best = static_cast<std::size_t>(verdict.failing_rank);
        if (verdict.failing_rank < 0 ||
            (e.error_item >= 0 &&
             (ends_[best].error_item < 0 || e.error_item < ends_[best].error_item))) {
          verdict.failing_rank = static_cast<std::int64_t>(r);
        }
      }
      if (verdict.failing_rank == 0) record = own_record();
      if (verdict.failing_rank > 0)
        record = errors_[static_cast<std::size_t>(verdict.failing_rank)];
    }
    comm_.settle_stream(verdict, std::move(record), failure_.error(), journal);
  }

 private:
  // A chunk's values, or nothing when one of its items failed. A struct of its own, which cereal
  // cannot write, so the local pool's map compiles no journal for it.
  struct Chunk {
    std::optional<std::vector<R>> values;
    explicit operator bool() const noexcept { return values.has_value(); }
    std::vector<R>& operator*() noexcept { return *values; }
    const std::vector<R>& operator*() const noexcept { return *values; }
  };
  static constexpr std::uint64_t end_marker = ~std::uint64_t{0};

  // The next batch of `todo` indices [first, second) this rank computes, if any.
  std::optional<std::pair<std::size_t, std::size_t>> claim() {
    if (failure_.failed() || signal_.load() != 0 || abandoned_) {
      comm_.claims().stop();  // the other ranks stop claiming too
      claims_over_ = true;
      return std::nullopt;
    }
    const auto todo = static_cast<std::int64_t>(plan_.todo.size());
    const std::int64_t c = comm_.claims().claim(plan_.step);
    if (c >= todo) {
      claims_over_ = true;
      return std::nullopt;
    }
    return std::pair{static_cast<std::size_t>(c),
                     static_cast<std::size_t>(std::min(todo, c + plan_.step))};
  }

  // Not the root: waits until the root's loop has read enough for the batch ending at `end`.
  void wait_for_room(std::size_t end) {
    if (window_ == 0) return;
    while (read_ != StreamPacer::no_limit && end > read_ + window_)
      read_ = comm_.pacer().receive_read(read_, true);
  }

  // The root claims only while the furthest batch it knows of ends within the window (the
  // counter may be further on: then one batch of its own goes beyond it).
  bool room_for_root() const noexcept {
    return window_ == 0 || released_ || frontier_ < read_ + window_;
  }

  // The values of chunk todo[t], or nothing when one of its items failed (recorded).
  Chunk compute_chunk(std::size_t t) {
    const auto [lo, hi] = plan_.items(plan_.todo[t]);
    std::vector<R> values;
    values.reserve(hi - lo);
    for (std::size_t i = lo; i < hi; ++i) {
      try {
        values.push_back(mpp::detail::run_item(policy_, i, [&] { return get_(i); }));
      } catch (...) {
        failure_.record(static_cast<std::int64_t>(i), std::current_exception());
        return {};
      }
    }
    return {std::move(values)};
  }

  std::vector<Chunk> compute(std::pair<std::size_t, std::size_t> batch) {
    return local_.map([this](std::size_t t) { return compute_chunk(t); },
                      std::views::iota(batch.first, batch.second),
                      {.chunksize = 1, .schedule = mpp::schedule::dynamic});
  }

  // One message: the batch's bounds, then per chunk its byte count (end_marker: failed) and bytes.
  void send(std::pair<std::size_t, std::size_t> batch, const std::vector<Chunk>& values) {
    std::string message;
    put(message, batch.first);
    put(message, batch.second);
    std::string storage;
    for (std::size_t t = batch.first; t < batch.second; ++t) {
      const Chunk& chunk = values[t - batch.first];
      std::span<const char> bytes;
      try {
        if (chunk) bytes = encode_all(*chunk, storage);
      } catch (...) {
        // A result that cannot be serialized fails the map like its item would; the message
        // still goes, so the root keeps count of this rank's batches.
        failure_.record(unencodable_item(t, *chunk), std::current_exception());
        put(message, end_marker);
        continue;
      }
      if (!chunk) {
        put(message, end_marker);
        continue;
      }
      put(message, bytes.size());
      message.append(bytes.data(), bytes.size());
    }
    comm_.send_stream({message.data(), message.size()});
  }

  // The index in the input of the first value of chunk todo[t] that cannot be serialized alone,
  // or -1.
  std::int64_t unencodable_item(std::size_t t, const std::vector<R>& values) const {
    const std::size_t lo = plan_.items(plan_.todo[t]).first;
    for (std::size_t j = 0; j < values.size(); ++j) {
      try {
        Writer writer;
        writer.value(values[j]);
      } catch (...) {
        return static_cast<std::int64_t>(lo + j);
      }
    }
    return -1;
  }

  void send_end() {
    std::string message;
    put(message, end_marker);
    const StreamEnd end = own_end();
    message.append(reinterpret_cast<const char*>(&end), sizeof end);
    if (end.failed) message += own_record();
    comm_.send_stream({message.data(), message.size()});
  }

  StreamEnd own_end() const {
    return {.failed = failure_.failed() ? 1 : 0,
            .error_item = failure_.item(),
            .signal = signal_.load()};
  }
  std::string own_record() const {
    return encode(describe(failure_.error(), comm_.rank(), comm_.host(), failure_.item()));
  }

  // The root: a message of another rank.
  void on_message(int rank, std::span<const char> bytes) {
    std::size_t at = 0;
    const std::uint64_t first = take(bytes, at);
    if (first == end_marker) {
      StreamEnd end;
      std::memcpy(&end, bytes.data() + at, sizeof end);
      at += sizeof end;
      ends_[static_cast<std::size_t>(rank)] = end;
      errors_[static_cast<std::size_t>(rank)].assign(bytes.data() + at, bytes.size() - at);
      if (end.failed || end.signal) others_failed_ = true;
      ++ended_;
      return;
    }
    const std::uint64_t last = take(bytes, at);
    frontier_ = std::max(frontier_, static_cast<std::size_t>(last));
    std::vector<R> values;
    for (std::uint64_t t = first; t < last; ++t) {
      const std::uint64_t size = take(bytes, at);
      if (size == end_marker) continue;
      values.clear();
      try {
        decode_all(bytes.subspan(at, size), values);
      } catch (...) {
        // A result the root cannot read back fails the map like an item that throws.
        failure_.record(-1, std::current_exception());
        at += size;
        continue;
      }
      at += size;
      deliver(plan_.todo[t], values);
    }
  }

  // A failure of the root's own work on a result (its journal, the progress callback) fails
  // the map like an item would, so the protocol still ends on every rank.
  void deliver(std::uint64_t c, std::vector<R>& values) {
    try {
      deliver_(c, values);
    } catch (...) {
      failure_.record(-1, std::current_exception());
    }
  }

  static void put(std::string& out, std::uint64_t value) {
    out.append(reinterpret_cast<const char*>(&value), sizeof value);
  }
  static std::uint64_t take(std::span<const char> bytes, std::size_t& at) {
    std::uint64_t value = 0;
    std::memcpy(&value, bytes.data() + at, sizeof value);
    at += sizeof value;
    return value;
  }

  Comm& comm_;
  mpp::Pool& local_;
  StreamPlan plan_;
  Get get_;
  mpp::detail::ItemPolicy policy_;  // retries and deadline of each item
  Deliver deliver_;
  FirstFailure failure_;
  std::atomic<int> signal_{0};
  bool claims_over_ = false;
  bool abandoned_ = false;
  std::size_t window_;
  std::uint64_t read_ = 0;  // chunks the root's loop has read (elsewhere: as last heard)
  // The root's state.
  AsyncResult<std::vector<Chunk>> pending_;  // its own batch on the local pool
  std::pair<std::size_t, std::size_t> batch_{};
  std::vector<StreamEnd> ends_;
  std::vector<std::string> errors_;
  int ended_ = 0;               // ranks whose end arrived
  bool others_failed_ = false;  // an end arrived saying its rank failed or was signalled
  std::size_t frontier_ = 0;    // the furthest end of a batch known to be claimed
  std::uint64_t told_ = 0;      // the last count sent to the other ranks
  bool released_ = false;
};

}  // namespace mpp::mpi::detail
