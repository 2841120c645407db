// mpp-info --json: the report as one JSON object, written with cereal's JSON archive.

#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <cereal/archives/json.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <mpp/version.hpp>

#include "report.hpp"

namespace mpp_info {
namespace {

using JsonArchive = cereal::JSONOutputArchive;

// `name`: the text, or null when it is empty.
void text_or_null(JsonArchive& ar, const char* name, const std::string& value) {
  if (value.empty()) {
    ar(cereal::make_nvp(name, nullptr));
  } else {
    ar(cereal::make_nvp(name, value));
  }
}

// `name`: the count, or null when it is 0 (unknown, or none).
template <class Number>
void count_or_null(JsonArchive& ar, const char* name, Number value) {
  if (value == 0) {
    ar(cereal::make_nvp(name, nullptr));
  } else {
    ar(cereal::make_nvp(name, value));
  }
}

// Writes `write()`'s members as the object `name` (an unnamed one inside an array).
template <class Members>
void object(JsonArchive& ar, const char* name, Members write) {
  if (name != nullptr) ar.setNextName(name);
  ar.startNode();
  write();
  ar.finishNode();
}

// Writes what `write()` writes, unnamed, as the array `name`.
template <class Elements>
void array(JsonArchive& ar, const char* name, Elements write) {
  ar.setNextName(name);
  ar.startNode();
  ar.makeArray();
  write();
  ar.finishNode();
}

// The variables as one object of name -> value (cereal would write a std::map as an array of
// key/value pairs).
void variables(JsonArchive& ar, const char* name, const std::map<std::string, std::string>& vars) {
  object(ar, name, [&] {
    for (const auto& [variable, value] : vars) ar(cereal::make_nvp(variable, value));
  });
}

void write_json(JsonArchive& ar, const Facts& f, const World* world) {
  ar(cereal::make_nvp("mpp_version", std::string(mpp::version)), cereal::make_nvp("host", f.host),
     cereal::make_nvp("pid", f.pid), cereal::make_nvp("online_cpus", f.online));
  object(ar, "affinity", [&] {
    ar(cereal::make_nvp("count", f.affinity.size()), cereal::make_nvp("list", cpu_list(f.affinity)),
       cereal::make_nvp("cpus", f.affinity));
  });
  object(ar, "cgroup", [&] {
    text_or_null(ar, "path", f.cgroup);
    array(ar, "quotas", [&] {
      for (const auto& quota : f.quotas) {
        object(ar, nullptr, [&] {
          ar(cereal::make_nvp("file", quota.file), cereal::make_nvp("cpu_max", quota.value),
             cereal::make_nvp("cpus", quota.cpus));
        });
      }
    });
    count_or_null(ar, "quota_cpus", f.quota_cpus);
  });
  variables(ar, "slurm", f.slurm);
  variables(ar, "launcher", f.launcher);
  text_or_null(ar, "launched_by", launched_by(f));
  text_or_null(ar, "mpi_built_against", built_against());
  text_or_null(ar, "MPP_NUM_THREADS", f.mpp_num_threads);
  text_or_null(ar, "OMP_NUM_THREADS", f.omp_num_threads);
  count_or_null(ar, "available_cpus", f.available);
  text_or_null(ar, "available_cpus_error", f.available_error);
  ar(cereal::make_nvp("reason", f.reason));
  object(ar, "tbb", [&] {
    ar(cereal::make_nvp("version", f.tbb_version),
       cereal::make_nvp("default_concurrency", f.tbb_default),
       cereal::make_nvp("max_allowed_parallelism", f.tbb_max_parallelism));
  });
  std::vector<std::string> warnings = f.warnings;
  if (!world && !f.single_cpu_warning.empty())
    warnings.insert(warnings.begin(), f.single_cpu_warning);
  if (world) {
    object(ar, "mpi", [&] {
      ar(cereal::make_nvp("size", world->size), cereal::make_nvp("library", world->library),
         cereal::make_nvp("thread_level", world->thread_level));
      array(ar, "ranks", [&] {
        for (const Rank& r : world->ranks) {
          object(ar, nullptr, [&] {
            ar(cereal::make_nvp("rank", r.rank), cereal::make_nvp("host", r.host),
               cereal::make_nvp("affinity", cpu_list(r.affinity)),
               cereal::make_nvp("threads", r.available));
            count_or_null(ar, "mpi_threads", r.mpi_threads);
            ar(cereal::make_nvp("online_cpus", r.online));
          });
        }
      });
    });
    warnings.insert(warnings.end(), world->warnings.begin(), world->warnings.end());
  } else {
    ar(cereal::make_nvp("mpi", nullptr));
  }
  ar(cereal::make_nvp("warnings", warnings));
}

}  // namespace

// One JSON object on one line, written at once: tasks of an srun step without PMIx each print
// their own, and a reader takes one object per line.
void print_json(const Facts& f, const World* world) {
  std::ostringstream text;
  {
    JsonArchive ar(text, JsonArchive::Options::NoIndent());
    write_json(ar, f, world);
  }  // the archive closes the object when it goes
  // Without indentation the writer still breaks lines between members; a newline inside a
  // string is escaped, so every '\n' left is layout.
  std::string out = text.str();
  std::erase(out, '\n');
  out += '\n';
  std::fputs(out.c_str(), stdout);
}

}  // namespace mpp_info
