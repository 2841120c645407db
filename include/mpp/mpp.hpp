#pragma once
/// @file
/// Everything of mpp's local pool in one include: `#include <mpp/mpp.hpp>`.

#include "mpp/async_result.hpp"
#include "mpp/callbacks.hpp"
#include "mpp/compose.hpp"
#include "mpp/cpus.hpp"
#include "mpp/errors.hpp"
#include "mpp/options.hpp"
#include "mpp/outcome.hpp"
#include "mpp/pool.hpp"
#include "mpp/progress.hpp"
#include "mpp/result_handle.hpp"
#include "mpp/stream.hpp"
#include "mpp/version.hpp"
#include "mpp/wait.hpp"
#include "mpp/worker.hpp"
