#pragma once
/// @file
/// Everything of mpp's MPI layer in one include: `#include <mpp/mpi.hpp>` (target `mpp::mpi`).

#include "mpp/mpi/cpus.hpp"
#include "mpp/mpi/environment.hpp"
#include "mpp/mpi/errors.hpp"
#include "mpp/mpi/executor.hpp"
#include "mpp/mpi/pool.hpp"
#include "mpp/mpi/transfer.hpp"
#include "mpp/mpp.hpp"
