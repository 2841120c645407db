#pragma once
// The chunk counter of dynamic self-scheduling, kept on the root of a Comm: every rank claims
// chunks by adding to it. Two implementations behind one interface:
// - an MPI window (MPI_Win_allocate; a claim is MPI_Fetch_and_op), where that is safe: on a
//   communicator congruent with MPI_COMM_WORLD;
// - messages that the root answers whenever it waits, elsewhere: Open MPI 4.1's one-sided
//   segments collide between windows on disjoint communicators of the same node (they are named
//   by communicator id).
// MPP_MPI_COUNTER=window|messages forces one.
//
// Every rank of a map: begin, then claim until a value >= chunks (or stop after a failure), then
// end, which on the root serves the others until every rank has finished.

#include <mpi.h>

#include <cstdint>
#include <memory>

namespace mpp::mpi::detail {

class Comm;

class ClaimCounter {
 public:
  virtual ~ClaimCounter() = default;

  // A map of `chunks` chunks begins.
  virtual void begin(std::int64_t chunks) = 0;
  // Adds `increment` to the counter and returns its previous value.
  virtual std::int64_t claim(std::int64_t increment) = 0;
  // This rank stops claiming after a failure, and makes the others stop too.
  virtual void stop() = 0;
  // Root: returns once every rank has finished claiming.
  virtual void end() = 0;
  // Root, once every rank has finished claiming: the counter starts again from zero.
  virtual void reset() = 0;
  // Whether this rank answers the others' claims while it computes (the root of a counter
  // served as messages); serve() then answers those waiting.
  virtual bool serves_claims() const noexcept = 0;
  virtual void serve() = 0;
  // Gives the counter's MPI resources back (collective); called before the communicator goes.
  virtual void release() noexcept = 0;
};

// The counter of `comm`, duplicated from `parent` (collective). Without `with_counter` (nobody
// claims) or with one rank it is the root's own number, with no MPI resources.
std::unique_ptr<ClaimCounter> make_claim_counter(Comm& comm, MPI_Comm parent, bool with_counter);

}  // namespace mpp::mpi::detail
