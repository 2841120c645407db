#pragma once
/// @file
/// `mpp::mpi::node_threads`: how many threads each rank's local pool takes by default, so that
/// ranks sharing a node share its CPUs instead of each taking all of them.

#include <mpi.h>

namespace mpp::mpi {

/// The default thread count of this rank's local pool in `mpp::mpi::Pool` and
/// `mpp::mpi::Executor` (what `threads()` gives when `threads` is not set). Collective over
/// `comm`: call it on every rank of it.
///
/// `MPP_NUM_THREADS`, when set, wins as for `mpp::available_cpus()`. Otherwise the ranks of
/// `comm` on this node (`MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)`) compare their CPU
/// affinity masks: the ranks whose masks overlap this rank's (itself included) share the union
/// of those masks, and each gets `max(1, cpus in the union / ranks sharing it)`, never more
/// than `mpp::available_cpus()` (cgroup quota, `SLURM_CPUS_PER_TASK`). So `mpirun -np 4` on a
/// 2-CPU node gives each rank 1 thread, not 2, and ranks bound to disjoint cores keep their
/// cores. Throws `mpp::mpi::UsageError` if MPI is not initialized.
///
/// ```cpp
/// int mine = mpp::mpi::node_threads();  // what mpp::mpi::Pool() would take on this rank
/// ```
///
/// Not thread-safe with other MPI calls of mpp on `comm` (it is a collective call).
int node_threads(MPI_Comm comm = MPI_COMM_WORLD);

}  // namespace mpp::mpi
