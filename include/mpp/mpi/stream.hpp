#pragma once
/// @file
/// `mpp::mpi::Stream`: the results of `mpp::mpi::Pool::imap`, yielded on the root in input
/// order as the chunks of every rank arrive.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "mpp/detail/progress.hpp"
#include "mpp/mpi/detail/outcome_wire.hpp"
#include "mpp/mpi/detail/result_iterator.hpp"
#include "mpp/mpi/detail/stream.hpp"

namespace mpp::mpi {

namespace detail {

// A stream whose collective part may still be running. Its pool finishes it before the pool's
// next collective call, so the ranks' calls stay in step.
class OpenStream {
 public:
  // Completes the stream's part of the protocol (the root keeps every result for the loop);
  // an exception is kept for the loop too.
  virtual void finish() noexcept = 0;

 protected:
  ~OpenStream() = default;
};

// The state of an imap, at a fixed address: the inputs it reads, the streamer, and on the root
// the chunks that arrived and are not yet yielded.
template <class R>
class StreamState final : public OpenStream {
 public:
  StreamState(Comm& comm, mpp::Pool& local, StreamPlan plan, std::function<R(std::size_t)> get,
              mpp::detail::ItemPolicy policy, std::size_t window, std::shared_ptr<void> inputs,
              OpenStream** slot, std::function<void(std::size_t, std::size_t)> progress,
              bool ordered)
      : inputs_(std::move(inputs)),
        slot_(slot),
        root_(comm.rank() == 0),
        ordered_(ordered),
        chunks_(plan.chunks()),
        k_(plan.k),
        callback_(root_ && progress ? watched(std::move(progress)) : nullptr),
        progress_(callback_, plan.n),
        streamer_(
            comm, local, std::move(plan), std::move(get), std::move(policy),
            [this](std::uint64_t c, std::vector<R>& values) {
              arrived_[static_cast<std::size_t>(c)] = std::move(values);
              if (!ordered_) ready_.push_back(static_cast<std::size_t>(c));
            },
            window) {
    if (root_) {
      arrived_.resize(chunks_);
      running_ = true;
    } else {
      streamer_.run_share();  // this rank's part is done when imap returns
    }
    *slot_ = this;
  }
  StreamState(const StreamState&) = delete;
  StreamState& operator=(const StreamState&) = delete;

  ~StreamState() {
    if (settled_) return;
    streamer_.abandon();  // the loop left early: no more chunks are claimed
    finish();
    error_ = nullptr;  // a destructor cannot report it
  }

  void finish() noexcept override {
    if (settled_) return;
    settled_ = true;
    if (slot_ != nullptr) *slot_ = nullptr;
    try {
      if (root_) streamer_.release();  // the loop no longer paces the other ranks
      while (running_) running_ = streamer_.pump();
      streamer_.settle({}, 0);
    } catch (...) {
      error_ = std::current_exception();
    }
  }

  bool at_end() const noexcept { return at_end_; }
  R& current() { return current_[position_]; }
  // The position in the map's input of the current result.
  std::size_t current_index() const noexcept { return first_ + position_; }

  // Moves to the next result, waiting (on the root, working) until its chunk has arrived;
  // throws the map's failure when the loop reaches it.
  void advance() {
    if (position_ + 1 < current_.size()) {
      ++position_;
      return;
    }
    current_.clear();
    position_ = 0;
    while (root_ && next_ < chunks_) {
      const std::optional<std::size_t> chunk = ordered_ ? next_in_order() : next_to_arrive();
      if (!chunk) break;  // it never will: the map failed
      current_ = std::move(*arrived_[*chunk]);
      arrived_[*chunk].reset();
      first_ = *chunk * k_;
      ++next_;
      streamer_.read(next_);
      progress_.add(current_.size());
      if (progress_error_) stop_for(std::exchange(progress_error_, nullptr));
      if (!current_.empty()) return;
    }
    at_end_ = true;
    finish();
    if (!error_) error_ = std::exchange(progress_error_, nullptr);  // from the first report
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    if (root_) progress_.finish();
  }

 private:
  // The chunk the loop yields next, once it has arrived; none if the map ended without it.
  std::optional<std::size_t> next_in_order() {
    while (!arrived_[next_] && running_) running_ = streamer_.pump();
    if (!arrived_[next_]) return std::nullopt;
    return next_;
  }
  std::optional<std::size_t> next_to_arrive() {
    while (ready_.empty() && running_) running_ = streamer_.pump();
    if (ready_.empty()) return std::nullopt;
    const std::size_t chunk = ready_.front();
    ready_.pop_front();
    return chunk;
  }

  // The progress callback, whose exception waits for the loop: the ranks' protocol must not be
  // cut short by it.
  std::function<void(std::size_t, std::size_t)> watched(
      std::function<void(std::size_t, std::size_t)> progress) {
    return [this, progress = std::move(progress)](std::size_t done, std::size_t total) {
      if (progress_error_) return;
      try {
        progress(done, total);
      } catch (...) {
        progress_error_ = std::current_exception();
      }
    };
  }

  // Ends the stream early because of `error` (the loop gets it): no more chunks are claimed.
  [[noreturn]] void stop_for(std::exception_ptr error) {
    streamer_.abandon();
    at_end_ = true;
    finish();
    error_ = nullptr;
    std::rethrow_exception(error);
  }

  std::shared_ptr<void> inputs_;  // what `get` reads
  OpenStream** slot_;             // the pool's open stream, while this one is
  bool root_;
  bool ordered_;  // imap: in input order; imap_unordered: as chunks arrive
  std::size_t chunks_;
  std::size_t k_;                      // items per chunk
  std::exception_ptr progress_error_;  // thrown by the progress callback, for the loop
  std::function<void(std::size_t, std::size_t)> callback_;
  mpp::detail::ProgressReporter progress_;
  std::vector<std::optional<std::vector<R>>> arrived_;  // root: chunks not yet yielded
  std::deque<std::size_t> ready_;                       // root, unordered: in arrival order
  Streamer<R> streamer_;
  bool running_ = false;  // root: the protocol has not ended
  bool settled_ = false;
  bool at_end_ = false;
  std::exception_ptr error_;
  std::size_t next_ = 0;  // chunks yielded: in order, the next one to yield
  std::vector<R> current_;
  std::size_t first_ = 0;  // the input position of current_[0]
  std::size_t position_ = 0;
};

}  // namespace detail

/// The results of `mpp::mpi::Pool::imap` and `imap_unordered`, an input range.
///
/// On the root it yields every result in input order (`imap_unordered`: chunk by chunk, as
/// they arrive), lazily: while the loop waits for the
/// next chunk, the root computes its own share and receives the chunks of the other ranks.
/// On the other ranks `imap` returns once the rank has computed its share, and the stream is
/// empty: beginning the loop (or destroying the stream) waits for the root to finish, and
/// throws if the map failed. A failure reaches the loop where its chunk would have been: the
/// results before it are yielded, then the failing rank rethrows its exception and the others
/// throw `mpp::mpi::RemoteError`.
///
/// ```cpp
/// for (double energy : cluster.imap(simulate, params)) {  // every rank runs the loop
///   log(energy);                                         // only the root gets results
/// }
/// ```
///
/// Leaving the loop early stops the claims on every rank; what is running finishes. The stream
/// must not outlive its pool; the pool's next collective call first finishes an open stream
/// (the root then computes and keeps every remaining result for the loop). Not thread-safe:
/// iterate on the thread that made the call.
template <class R>
class Stream {
 public:
  /// The type of each result.
  using value_type = R;

  /// Single-pass iterator over the results; dereferencing gives `R&`, and advancing waits
  /// until the next result has arrived and throws the map's failure.
  using iterator = detail::ResultIterator<detail::StreamState<R>, R>;

  /// Used by `Pool::imap`.
  explicit Stream(std::unique_ptr<detail::StreamState<R>> state) : state_(std::move(state)) {}

  /// Waits for the first result (on the other ranks: for the root to finish).
  iterator begin() {
    state_->advance();
    return iterator(state_.get());
  }
  /// The end of the stream, compared with the iterator.
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  template <class>
  friend class OutcomeStream;
  std::unique_ptr<detail::StreamState<R>> state_;
};

/// The results of `mpp::mpi::Pool::imap(mpp::on_error::collect, ...)`: on the root, one
/// `mpp::Outcome<R>` per item (its value, its own exception where the root ran it, or
/// `mpp::mpi::RemoteError` naming the item where another rank did); elsewhere nothing. Otherwise
/// as `mpp::mpi::Stream`.
template <class R>
class OutcomeStream {
 public:
  /// The type of each outcome.
  using value_type = mpp::Outcome<R>;
  /// Single-pass iterator over the outcomes.
  using iterator = detail::ResultIterator<OutcomeStream, mpp::Outcome<R>>;

  /// Used by `Pool::imap`.
  explicit OutcomeStream(Stream<detail::WireOutcome<R>>&& stream)
      : state_(std::move(stream.state_)) {}

  /// Waits for the first outcome (on the other ranks: for the root to finish).
  iterator begin() {
    advance();
    return iterator(this);
  }
  /// The end of the stream, compared with the iterator.
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  friend iterator;
  bool at_end() const noexcept { return state_->at_end(); }
  mpp::Outcome<R>& current() { return *current_; }
  void advance() {
    current_.reset();
    state_->advance();
    if (state_->at_end()) return;
    detail::WireOutcome<R>& wire = state_->current();
    if (wire.value) {
      current_.emplace(std::move(*wire.value));
    } else {
      current_.emplace(mpp::Failure{
          wire.local ? wire.local : detail::remote_failure(wire.error, state_->current_index())});
    }
  }

  std::unique_ptr<detail::StreamState<detail::WireOutcome<R>>> state_;
  std::optional<mpp::Outcome<R>> current_;
};

}  // namespace mpp::mpi
