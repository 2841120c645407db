#pragma once
// How the inputs of an mpi::Pool map given on the root only (from_root) reach the other ranks:
// each rank's block (static_) or every item (dynamic schedules, any rank may claim any chunk).
// Raw bytes for trivially copyable items, cereal otherwise; an item the root cannot serialize
// fails the map on every rank, so no rank waits for bytes that never come.

#include <cstddef>
#include <cstdint>
#include <exception>
#include <ranges>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "mpp/mpi/detail/comm.hpp"
#include "mpp/mpi/detail/wire.hpp"
#include "mpp/mpi/errors.hpp"
#include "mpp/mpi/transfer.hpp"

namespace mpp::mpi::detail {

// Root: makes bytes with `make`; every rank returns them. If `make` throws (a value cereal
// cannot save), every rank throws instead, as for an item that fails: the root its own
// exception, the others RemoteError; none is left waiting for bytes that never come.
template <class Make>
std::string broadcast_blob(Comm& comm, Make make) {
  std::string blob;
  std::exception_ptr error;
  if (comm.rank() == 0) {
    try {
      blob = make();
    } catch (...) {
      error = std::current_exception();
      blob = detail::encode(detail::describe(error, comm.rank(), comm.host(), -1));
    }
  }
  std::uint64_t head[2] = {blob.size(), error ? 1u : 0u};
  comm.broadcast(head, sizeof head);
  blob.resize(head[0]);
  comm.broadcast(blob.data(), head[0]);
  if (head[1] != 0) {
    if (error) std::rethrow_exception(error);
    detail::throw_remote(detail::decode_error(blob.data(), blob.size()));
  }
  return blob;
}

// Root: sends each rank its block of the items; others: receive theirs into `mine`.
template <class T, class Access, class View>
void scatter_items(Comm& comm, const Access& access, View& items, const Plan& plan,
                   std::vector<T>& mine) {
  const auto ranks = static_cast<std::size_t>(comm.size());
  const bool root = comm.rank() == 0;
  const auto [lo, hi] = plan.block(comm.rank());
  if constexpr (bytes_transferable<T>) {
    std::vector<std::size_t> counts(ranks), at(ranks);
    for (std::size_t r = 0; r < ranks; ++r) {
      const auto [a, b] = plan.block(static_cast<int>(r));
      counts[r] = (b - a) * sizeof(T);
      at[r] = a * sizeof(T);
    }
    if (root) {
      if constexpr (std::ranges::contiguous_range<View>) {
        comm.scatter(reinterpret_cast<const char*>(std::ranges::data(items)), counts, at, nullptr,
                     0);
      } else {
        std::vector<T> copy;
        copy.reserve(access.size());
        for (std::size_t i = 0; i < access.size(); ++i) copy.push_back(access[i]);
        comm.scatter(reinterpret_cast<const char*>(copy.data()), counts, at, nullptr, 0);
      }
    } else {
      mine.resize(hi - lo);
      comm.scatter(nullptr, {}, {}, reinterpret_cast<char*>(mine.data()), (hi - lo) * sizeof(T));
    }
  } else {
    // A size of `unsendable` tells every rank that the root could not serialize an item;
    // the root's error record follows, and every rank throws as for an item that fails.
    constexpr std::uint64_t unsendable = ~std::uint64_t{0};
    if (root) {
      std::string blobs;
      std::vector<std::uint64_t> sizes(ranks, 0);
      std::vector<std::size_t> counts(ranks, 0), at(ranks, 0);
      std::int64_t item = -1;
      try {
        for (std::size_t r = 1; r < ranks; ++r) {
          const auto [a, b] = plan.block(static_cast<int>(r));
          detail::Writer writer;
          writer.count(b - a);
          for (std::size_t i = a; i < b; ++i) {
            item = static_cast<std::int64_t>(i);
            writer.value(static_cast<const T&>(T(access[i])));
          }
          at[r] = blobs.size();
          blobs += std::move(writer).take();
          counts[r] = sizes[r] = blobs.size() - at[r];
        }
      } catch (...) {
        const std::exception_ptr error = std::current_exception();
        comm.scatter_size(std::vector<std::uint64_t>(ranks, unsendable));
        (void)comm.broadcast_string(
            detail::encode(detail::describe(error, comm.rank(), comm.host(), item)));
        std::rethrow_exception(error);
      }
      comm.scatter_size(sizes);
      comm.scatter(blobs.data(), counts, at, nullptr, 0);
    } else {
      const std::uint64_t bytes = comm.scatter_size({});
      if (bytes == unsendable) {
        const std::string record = comm.broadcast_string({});
        detail::throw_remote(detail::decode_error(record.data(), record.size()));
      }
      std::string blob(bytes, '\0');
      comm.scatter(nullptr, {}, {}, blob.data(), bytes);
      detail::decode_all(std::span<const char>(blob.data(), blob.size()), mine);
    }
  }
}

// Root: sends all items to every rank; others: receive them into `mine`.
template <class T, class Access, class View>
void broadcast_items(Comm& comm, const Access& access, View& items, const Plan& plan,
                     std::vector<T>& mine) {
  const bool root = comm.rank() == 0;
  if constexpr (bytes_transferable<T>) {
    if (root) {
      if constexpr (std::ranges::contiguous_range<View>) {
        comm.broadcast(const_cast<void*>(static_cast<const void*>(std::ranges::data(items))),
                       plan.n * sizeof(T));
      } else {
        std::vector<T> copy;
        copy.reserve(plan.n);
        for (std::size_t i = 0; i < plan.n; ++i) copy.push_back(access[i]);
        comm.broadcast(copy.data(), plan.n * sizeof(T));
      }
    } else {
      mine.resize(plan.n);
      comm.broadcast(mine.data(), plan.n * sizeof(T));
    }
  } else {
    const std::string blob = broadcast_blob(comm, [&] {
      detail::Writer writer;
      writer.count(plan.n);
      for (std::size_t i = 0; i < plan.n; ++i) writer.value(static_cast<const T&>(T(access[i])));
      return std::move(writer).take();
    });
    if (!root) detail::decode_all(std::span<const char>(blob.data(), blob.size()), mine);
  }
}

}  // namespace mpp::mpi::detail
