#pragma once
// The single-pass iterator of mpp's lazy result ranges across ranks (mpi::Stream and
// mpi::MapResults): a pointer to whatever holds the results, which provides current(),
// advance() and at_end().

#include <cstddef>
#include <iterator>

namespace mpp::mpi::detail {

template <class Source, class R>
class ResultIterator {
 public:
  /// The type of the results.
  using value_type = R;
  /// Required of an input iterator; never used to subtract.
  using difference_type = std::ptrdiff_t;

  ResultIterator() = default;
  /// Used by the range that owns the results.
  explicit ResultIterator(Source* source) : source_(source) {}
  /// The current result.
  R& operator*() const { return source_->current(); }
  /// A member of the current result.
  R* operator->() const { return &source_->current(); }
  /// Moves to the next result, waiting until it is there; throws the failure of its task.
  ResultIterator& operator++() {
    source_->advance();
    return *this;
  }
  /// As `++it`; returns nothing, as a single-pass iterator may.
  void operator++(int) { ++*this; }
  /// True once every result has been read.
  friend bool operator==(const ResultIterator& it, std::default_sentinel_t) { return it.at_end(); }

 private:
  // A member, so that a Source befriending the iterator lets it call its private at_end().
  bool at_end() const { return source_ == nullptr || source_->at_end(); }
  Source* source_ = nullptr;
};

}  // namespace mpp::mpi::detail
