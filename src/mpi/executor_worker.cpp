// A worker of an Executor: serve() receives batches of tasks from the root, runs each on the
// rank's pool and sends the results back in batches.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "mpp/errors.hpp"
#include "mpp/mpi/detail/executor_core.hpp"
#include "mpp/mpi/errors.hpp"
#include "mpp/wait.hpp"
#include "task_wire.hpp"

namespace mpp::mpi::detail {

thread_local MPI_Comm task_workers = MPI_COMM_NULL;

bool ExecutorCore::serve() {
  if (comm_.rank() == 0) return false;
  // One received task, running on the local pool.
  struct Job {
    std::uint64_t id;
    std::optional<mpp::AsyncResult<Outcome>> result;
    std::exception_ptr error;  // the local pool refused the task (its initializer failed)
  };
  std::deque<Job> jobs;
  bool stop = false;
  auto lock = mpi_guard("mpp::mpi::Executor::serve");
  while (true) {
    bool busy = false;
    // Finished tasks go back to the root, all those ready in one message.
    Message batch;
    for (auto it = jobs.begin(); it != jobs.end();) {
      if (it->result && !it->result->ready()) {
        ++it;
        continue;
      }
      Outcome outcome;
      std::exception_ptr error = it->error;
      if (it->result) {
        try {
          outcome = std::move(*it->result).get();
        } catch (...) {
          error = std::current_exception();
        }
      }
      // Every task gets an answer, so the root's count of tasks in flight stays exact; a task
      // refused because the initializer failed tells the root that this rank is broken.
      ResultHeader header{it->id, result_ok, outcome.nanos};
      Message body;
      if (error) {
        if (auto failure = initializer_failure(error, parent_rank_, comm_.host())) {
          header.ok = result_broken;
          body = with_prefix(encode(*failure));
        } else {
          header.ok = result_failed;
          body = with_prefix(encode(describe(error, parent_rank_, comm_.host(), -1)));
        }
      } else if (outcome.error) {
        header.ok = result_failed;
        body =
            with_prefix(encode(describe(outcome.error, parent_rank_, comm_.host(), outcome.item)));
      } else {
        body = std::move(outcome.bytes);
      }
      frame(body, header);
      batch.append(std::move(body));
      it = jobs.erase(it);
    }
    if (!batch.empty()) {
      sends_.emplace_back(std::move(batch)).post({comm_.get(), comm_.side()}, 0, tag_result);
      busy = true;
    }
    complete_sends(false);
    if (stop && jobs.empty()) {
      complete_sends(true);
      return true;
    }
    // New tasks, or the shutdown.
    MPI_Status status;
    int flag = 0;
    if (jobs.empty() && !stop) {
      check_mpi(MPI_Probe(0, MPI_ANY_TAG, comm_.get(), &status), "MPI_Probe");
      flag = 1;
    } else if (!stop) {
      check_mpi(MPI_Iprobe(0, MPI_ANY_TAG, comm_.get(), &flag, &status), "MPI_Iprobe");
    }
    if (flag) {
      busy = true;
      Received batch = receive_message({comm_.get(), comm_.side()}, status);
      if (status.MPI_TAG == tag_shutdown) {
        stop = true;
        continue;
      }
      // Each task of the batch runs as its own task of the local pool; they share the bytes,
      // and each owns its blocks, which its function may take its arguments from.
      auto shared = std::make_shared<std::string>(std::move(batch.bytes));
      for_each_framed(*shared, batch.blocks, [&](Frame& frame) {
        TaskHeader header;
        std::memcpy(&header, frame.bytes.data(), sizeof header);
        Job job{header.id, std::nullopt, nullptr};
        try {
          std::shared_ptr<std::vector<ReceivedBlock>> blocks;
          if (!frame.blocks.empty()) {
            blocks = std::make_shared<std::vector<ReceivedBlock>>(std::move(frame.blocks));
          }
          job.result.emplace(
              local_.apply_async([this, shared, blocks, header, bytes = frame.bytes] {
                const auto start = std::chrono::steady_clock::now();
                const auto rest = bytes.subspan(sizeof header);
                const Encoded args = blocks ? Encoded(rest, *blocks, sizeof header) : Encoded(rest);
                Outcome out =
                    run_task(header.entry, header.name_hash, header.kind, args, header.first_item);
                out.nanos = static_cast<std::uint64_t>(
                    std::chrono::nanoseconds(std::chrono::steady_clock::now() - start).count());
                return out;
              }));
        } catch (...) {
          job.error = std::current_exception();
        }
        jobs.push_back(std::move(job));
      });
    }
    if (!busy && !jobs.empty() && jobs.front().result) {
      lock = {};
      (void)jobs.front().result->wait(std::chrono::microseconds(100));
      lock = mpi_guard("mpp::mpi::Executor::serve");
    }
  }
}

}  // namespace mpp::mpi::detail

namespace mpp::mpi {

MPI_Comm comm_workers() {
  if (detail::task_workers == MPI_COMM_NULL) {
    detail::throw_usage(
        "mpp::mpi::comm_workers(): only inside a task sent by Executor::submit_parallel, which "
        "runs one task on every worker so that they can communicate");
  }
  return detail::task_workers;
}

}  // namespace mpp::mpi
