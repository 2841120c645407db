#include "mpp/mpi/detail/plan.hpp"

#include <sstream>
#include <string>

#include "mpp/errors.hpp"
#include "mpp/mpi/errors.hpp"
#include "mpp/options.hpp"

namespace mpp::mpi::detail {

namespace {

const char* schedule_name(std::int32_t s) {
  switch (static_cast<mpp::schedule>(s)) {
    case mpp::schedule::adaptive:
      return "adaptive";
    case mpp::schedule::static_:
      return "static_";
    case mpp::schedule::dynamic:
      return "dynamic";
    case mpp::schedule::python:
      return "python";
  }
  return "?";
}

}  // namespace

Plan make_plan(const std::vector<MapHeader>& all, const char* owner, const char* call) {
  const MapHeader& root = all[0];
  for (std::size_t r = 1; r < all.size(); ++r) {
    const MapHeader& h = all[r];
    std::ostringstream os;
    os << owner << "::" << call << ": the ranks made different collective calls: ";
    if (h.signature != root.signature || h.from_root != root.from_root) {
      os << "rank " << r << " called another map (another function, item or result type, or "
         << "input placement) than rank 0; every rank must make the same calls in the same order";
      throw_mismatch(os.str());
    }
    if (!root.from_root && h.n != root.n) {
      os << "rank 0 passed " << root.n << " items and rank " << r << " passed " << h.n
         << "; every rank must pass the same items, or pass them on the root only with "
            "mpp::mpi::from_root(items)";
      throw_mismatch(os.str());
    }
    if (h.schedule != root.schedule || h.has_chunksize != root.has_chunksize ||
        h.chunksize != root.chunksize || h.every_rank != root.every_rank) {
      os << "rank 0 asked for schedule " << schedule_name(root.schedule) << ", chunksize "
         << (root.has_chunksize ? std::to_string(root.chunksize) : "unset") << ", results "
         << (root.every_rank ? "on every rank" : "on the root") << " and rank " << r
         << " for schedule " << schedule_name(h.schedule) << ", chunksize "
         << (h.has_chunksize ? std::to_string(h.chunksize) : "unset") << ", results "
         << (h.every_rank ? "on every rank" : "on the root")
         << "; pass the same options everywhere";
      throw_mismatch(os.str());
    }
  }
  if (root.has_chunksize && root.chunksize == 0) {
    mpp::detail::throw_invalid_argument(std::string(owner) + "::" + call +
                                        ": chunksize must be at least 1; leave it unset for the "
                                        "schedule's default");
  }
  Plan plan;
  plan.size = static_cast<int>(all.size());
  plan.n = static_cast<std::size_t>(std::max<std::int64_t>(0, root.n));
  std::size_t total_threads = 0;
  for (const auto& h : all) {
    plan.threads.push_back(std::max(1, h.threads));
    total_threads += static_cast<std::size_t>(std::max(1, h.threads));
  }
  plan.dynamic = static_cast<mpp::schedule>(root.schedule) != mpp::schedule::static_;
  // The root's checkpoint or progress decides for every rank: chunks must reach it as they finish.
  plan.checkpoint = root.checkpoint != 0;
  plan.streamed = plan.checkpoint || root.progress != 0;
  if (plan.streamed) plan.dynamic = true;
  if (plan.checkpoint && !root.has_chunksize) {
    plan.k = std::max<std::size_t>(1, (plan.n + 1023) / 1024);  // the local journal's default
    plan.chunks = (plan.n + plan.k - 1) / plan.k;
  } else if (plan.dynamic) {
    if (root.has_chunksize) {
      plan.k = root.chunksize;
    } else if (static_cast<mpp::schedule>(root.schedule) == mpp::schedule::dynamic) {
      plan.k = 1;
    } else {
      const std::size_t per = 4 * total_threads;
      plan.k = std::max<std::size_t>(1, (plan.n + per - 1) / per);
    }
    plan.chunks = (plan.n + plan.k - 1) / plan.k;
  }
  return plan;
}

std::uint64_t signature(std::initializer_list<const char*> parts) noexcept {
  std::uint64_t h = 1469598103934665603ULL;
  for (const char* part : parts) {
    for (const char* p = part; *p != '\0'; ++p) {
      h ^= static_cast<unsigned char>(*p);
      h *= 1099511628211ULL;
    }
    h ^= 0xff;
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace mpp::mpi::detail
