#pragma once
// What the root and the workers of an Executor send each other: a task or a result is
// [u64 length][header][body], and travels in batches of them, so that many tiny tasks (or
// results) cost one MPI message. Private to src/mpi.

#include <mpi.h>

#include <cstdint>
#include <cstring>
#include <exception>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "mpp/errors.hpp"
#include "mpp/mpi/detail/executor_core.hpp"
#include "mpp/mpi/detail/message.hpp"
#include "mpp/mpi/errors.hpp"

namespace mpp::mpi::detail {

enum : int { tag_task = 11, tag_result = 12, tag_shutdown = 13 };

// The workers' communicator of the parallel task this thread runs (see comm_workers()).
extern thread_local MPI_Comm task_workers;

struct TaskHeader {
  std::uint64_t id = 0;
  std::int64_t first_item = -1;
  std::uint64_t name_hash = 0;
  std::uint32_t entry = 0;
  std::uint32_t kind = 0;
};

// ResultHeader::ok: the task's result, its failure, or the initializer's failure on that rank.
enum : std::uint64_t { result_failed = 0, result_ok = 1, result_broken = 2 };

struct ResultHeader {
  std::uint64_t id = 0;
  std::uint64_t ok = result_failed;
  std::uint64_t nanos = 0;   // the task's run time on the worker
  std::uint64_t unused = 0;  // the size of TaskHeader, so both fit frame_prefix
};

// A message is [u64 length][header][body], and travels in batches of messages, so that many
// tiny tasks (or results) cost one MPI message. `bytes` holds the body after frame_prefix
// reserved bytes, where the length and header are written.
template <class Header>
void frame(Message& message, const Header& header) {
  static_assert(sizeof(std::uint64_t) + sizeof(Header) == frame_prefix);
  const std::uint64_t length = message.size() - sizeof length;
  std::memcpy(message.bytes.data(), &length, sizeof length);
  std::memcpy(message.bytes.data() + sizeof length, &header, sizeof header);
}

// `body` after frame_prefix reserved bytes.
inline Message with_prefix(const std::string& body) {
  std::string out(frame_prefix, '\0');
  out.append(body);
  return Message(std::move(out));
}

// One message of a received batch: its owned bytes (after the length), and the blocks that lie
// in it, their `at` counting from `bytes`.
struct Frame {
  std::span<const char> bytes;
  std::vector<ReceivedBlock> blocks;
};

// Calls `visit(Frame&)` for each message of a received batch (`bytes` and `blocks`), in order;
// the blocks are moved into the frames. A frame's length counts its blocks' bytes, which are not
// among the owned bytes: a block lies in the frame if it starts before the frame's owned bytes end.
template <class Visit>
void for_each_framed(const std::string& bytes, std::vector<ReceivedBlock>& blocks, Visit visit) {
  std::size_t at = 0, next = 0;
  while (at + sizeof(std::uint64_t) <= bytes.size()) {
    std::uint64_t length = 0;
    std::memcpy(&length, bytes.data() + at, sizeof length);
    at += sizeof length;
    Frame frame;
    std::size_t cursor = at, left = static_cast<std::size_t>(length);
    while (next < blocks.size() && blocks[next].at - cursor < left) {
      ReceivedBlock& block = blocks[next++];
      const std::size_t before = block.at - cursor;
      if (left - before < block.data.size()) {
        throw std::runtime_error(
            "mpp::mpi: a received batch is corrupt (a block overruns its message); are all "
            "ranks running the same program?");
      }
      left -= before + block.data.size();
      cursor = block.at;
      block.at -= at;
      frame.blocks.push_back(std::move(block));
    }
    if (cursor + left > bytes.size()) {
      throw std::runtime_error(
          "mpp::mpi: a received batch is corrupt (a message runs past its end); are all ranks "
          "running the same program?");
    }
    frame.bytes = std::span<const char>(bytes).subspan(at, cursor + left - at);
    visit(frame);
    at = cursor + left;
  }
}

// If `error` is the local pool's InitializerError, what the initializer threw (nested in it),
// described as happening on `rank`; nullopt for any other error.
inline std::optional<ErrorRecord> initializer_failure(const std::exception_ptr& error, int rank,
                                                      const std::string& host) {
  try {
    std::rethrow_exception(error);
  } catch (const mpp::InitializerError& e) {
    try {
      std::rethrow_if_nested(e);
    } catch (...) {
      return describe(std::current_exception(), rank, host, -1);
    }
    return describe(std::current_exception(), rank, host, -1);
  } catch (...) {
  }
  return std::nullopt;
}

}  // namespace mpp::mpi::detail
