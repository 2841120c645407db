// The collectives of a map, on bytes: gather and settle its results, stream chunks to the root,
// scatter and broadcast its inputs.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "mpp/errors.hpp"
#include "mpp/mpi/detail/comm.hpp"
#include "mpp/mpi/detail/message.hpp"

namespace mpp::mpi::detail {

Gathered Comm::gather(const RankReport& mine, std::span<const std::uint64_t> ids,
                      std::span<const char> payload, std::span<const char> error, char* in_place,
                      const std::vector<std::size_t>& displacements) {
  auto lock = mpi_guard(owner_);
  Gathered g;
  const bool root = rank_ == 0;
  const auto n = static_cast<std::size_t>(size_);
  if (root) g.reports.resize(n);
  check_mpi(MPI_Gather(&mine, sizeof(RankReport), MPI_BYTE, g.reports.data(), sizeof(RankReport),
                       MPI_BYTE, 0, comm_),
            "MPI_Gather");

  // Point to point, in pieces: MPI_Gatherv's int counts and displacements would cap the
  // results at 2 GiB in all. Each rank sends its ids, payload and error record in that order,
  // on one tag, and MPI keeps them in order. They go on the side communicator, where the root's
  // probes for claims (any tag) cannot see them.
  std::vector<MPI_Request> requests;
  if (!root) {
    post_send(side_, 0, comm_tag::gather, reinterpret_cast<const char*>(ids.data()),
              ids.size_bytes(), requests);
    post_send(side_, 0, comm_tag::gather, payload.data(), payload.size(), requests);
    post_send(side_, 0, comm_tag::gather, error.data(), error.size(), requests);
    wait_all(requests);
    return g;
  }
  // Consecutive offsets for `sizes`, and their total.
  const auto offsets = [&](const std::vector<std::size_t>& sizes, std::vector<std::size_t>& at) {
    at.assign(sizes.size() + 1, 0);
    for (std::size_t r = 0; r < sizes.size(); ++r) at[r + 1] = at[r] + sizes[r];
    return at.back();
  };
  std::vector<std::size_t> id_bytes(n), payload_bytes(n), error_bytes(n), id_at;
  for (std::size_t r = 0; r < n; ++r) {
    id_bytes[r] = g.reports[r].ids * sizeof(std::uint64_t);
    payload_bytes[r] = g.reports[r].payload_bytes;
    error_bytes[r] = g.reports[r].error_bytes;
  }
  g.ids.resize(offsets(id_bytes, id_at) / sizeof(std::uint64_t));
  g.id_offsets.resize(n + 1);
  for (std::size_t r = 0; r <= n; ++r) g.id_offsets[r] = id_at[r] / sizeof(std::uint64_t);
  char* payload_base = in_place;
  const std::vector<std::size_t>* payload_at = &displacements;
  if (in_place == nullptr) {
    g.payload.resize(offsets(payload_bytes, g.payload_offsets));
    payload_base = g.payload.data();
    payload_at = &g.payload_offsets;
  }
  g.errors.resize(offsets(error_bytes, g.error_offsets));
  auto* id_base = reinterpret_cast<char*>(g.ids.data());
  for (std::size_t r = 1; r < n; ++r) {
    const int source = static_cast<int>(r);
    post_receive(side_, source, comm_tag::gather, id_base + id_at[r], id_bytes[r], requests);
    post_receive(side_, source, comm_tag::gather, payload_base + (*payload_at)[r], payload_bytes[r],
                 requests);
    post_receive(side_, source, comm_tag::gather, g.errors.data() + g.error_offsets[r],
                 error_bytes[r], requests);
  }
  // The root's own part, while the others arrive.
  const auto copy = [](char* to, std::span<const char> from) {
    if (!from.empty() && to != from.data()) std::memmove(to, from.data(), from.size());
  };
  copy(id_base, {reinterpret_cast<const char*>(ids.data()), ids.size_bytes()});
  copy(payload_base + (*payload_at)[0], payload);
  copy(g.errors.data(), error);
  wait_all(requests);
  return g;
}

void Comm::settle(const Gathered& g, const std::exception_ptr& local_error) {
  auto lock = mpi_guard(owner_);
  std::int64_t outcome[2] = {-1, 0};  // failing rank, size of its record
  if (rank_ == 0) {
    for (std::size_t r = 0; r < g.reports.size(); ++r) {
      const RankReport& report = g.reports[r];
      if (!report.failed) continue;
      const auto best = static_cast<std::size_t>(outcome[0]);
      const bool better =
          outcome[0] < 0 ||
          (report.error_item >= 0 &&
           (g.reports[best].error_item < 0 || report.error_item < g.reports[best].error_item));
      if (better) {
        outcome[0] = static_cast<std::int64_t>(r);
        outcome[1] = static_cast<std::int64_t>(report.error_bytes);
      }
    }
  }
  check_mpi(MPI_Bcast(outcome, 2, MPI_INT64_T, 0, comm_), "MPI_Bcast");
  if (outcome[0] < 0) return;
  std::vector<char> record(static_cast<std::size_t>(outcome[1]));
  if (rank_ == 0 && !record.empty()) {
    std::memcpy(record.data(),
                g.errors.data() + g.error_offsets[static_cast<std::size_t>(outcome[0])],
                record.size());
  }
  lock = {};
  broadcast(record.data(), record.size());
  if (outcome[0] == rank_ && local_error) std::rethrow_exception(local_error);
  throw_remote(decode_error(record.data(), record.size()));
}

void Comm::send_stream(std::span<const char> bytes) {
  auto lock = mpi_guard(owner_);
  send_message({comm_, side_}, 0, comm_tag::stream, bytes);
}

bool Comm::receive_stream(const std::function<void(int, std::span<const char>)>& on_message) {
  bool any = false;
  while (true) {
    MPI_Status status;
    int flag = 0;
    std::string message;
    {
      auto lock = mpi_guard(owner_);
      claims_->serve();
      check_mpi(MPI_Iprobe(MPI_ANY_SOURCE, comm_tag::stream, comm_, &flag, &status), "MPI_Iprobe");
      if (!flag) return any;
      message = receive_message({comm_, side_}, status).bytes;  // plain bytes: no blocks
    }
    any = true;
    on_message(status.MPI_SOURCE, {message.data(), message.size()});  // outside the lock
  }
}

void Comm::settle_stream(StreamVerdict verdict, std::string record,
                         const std::exception_ptr& local_error, const std::string& journal) {
  {
    auto lock = mpi_guard(owner_);
    check_mpi(MPI_Bcast(&verdict, sizeof verdict, MPI_BYTE, 0, comm_), "MPI_Bcast");
  }
  if (verdict.failing_rank >= 0) {
    record = broadcast_string(std::move(record));
    if (verdict.failing_rank == rank_ && local_error) std::rethrow_exception(local_error);
    throw_remote(decode_error(record.data(), record.size()));
  }
  if (verdict.signal != 0) {
    mpp::detail::throw_interrupted(static_cast<int>(verdict.signal), journal, verdict.done,
                                   verdict.chunks);
  }
}

std::string Comm::broadcast_string(std::string text) {
  std::uint64_t bytes = text.size();
  broadcast(&bytes, sizeof bytes);
  text.resize(bytes);
  broadcast(text.data(), bytes);
  return text;
}

void Comm::scatter(const char* data, const std::vector<std::size_t>& counts,
                   const std::vector<std::size_t>& displacements, char* out, std::size_t mine) {
  auto lock = mpi_guard(owner_);
  // Point to point, in pieces, on the side communicator, for the same reasons as gather.
  std::vector<MPI_Request> requests;
  if (rank_ == 0) {
    for (std::size_t r = 1; r < counts.size(); ++r) {
      post_send(side_, static_cast<int>(r), comm_tag::scatter, data + displacements[r], counts[r],
                requests);
    }
  } else {
    post_receive(side_, 0, comm_tag::scatter, out, mine, requests);
  }
  wait_all(requests);
}

std::uint64_t Comm::scatter_size(const std::vector<std::uint64_t>& sizes) {
  auto lock = mpi_guard(owner_);
  std::uint64_t mine = 0;
  check_mpi(MPI_Scatter(sizes.data(), 1, MPI_UINT64_T, &mine, 1, MPI_UINT64_T, 0, comm_),
            "MPI_Scatter");
  return mine;
}

void Comm::broadcast(void* data, std::size_t bytes) {
  auto lock = mpi_guard(owner_);
  constexpr std::size_t piece = std::size_t{1} << 30;
  auto* p = static_cast<char*>(data);
  for (std::size_t done = 0; done < bytes; done += piece) {
    const std::size_t now = std::min(piece, bytes - done);
    check_mpi(MPI_Bcast(p + done, static_cast<int>(now), MPI_BYTE, 0, comm_), "MPI_Bcast");
  }
}

}  // namespace mpp::mpi::detail
