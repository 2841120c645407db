// mpp-info without --json: the report as text.

#include <cstdio>
#include <string>
#include <vector>

#include <mpp/version.hpp>

#include "report.hpp"

namespace mpp_info {
namespace {

void row(const char* name, const std::string& value) {
  std::printf("  %-34s %s\n", name, value.c_str());
}

// "srun (Slurm job 12, step 0, 2 tasks, 1 CPU per task, cpu-bind mask_cpu:)", "mpirun", or
// "" when no launcher started this process.
std::string describe_launch(const Facts& f) {
  const std::string launcher = launched_by(f);
  if (launcher != "srun") return launcher;
  std::string text =
      "srun (Slurm job " +
      (f.slurm.contains("SLURM_JOB_ID") ? f.slurm.at("SLURM_JOB_ID") : std::string("?")) +
      ", step " + f.slurm.at("SLURM_STEP_ID");
  if (const int tasks = slurm_number(f, "SLURM_STEP_NUM_TASKS")) {
    text += ", " + std::to_string(tasks) + (tasks == 1 ? " task" : " tasks");
  }
  if (const int cpus = slurm_number(f, "SLURM_CPUS_PER_TASK")) {
    text += ", " + std::to_string(cpus) + (cpus == 1 ? " CPU" : " CPUs") + " per task";
  }
  if (f.slurm.contains("SLURM_CPU_BIND_TYPE")) {
    text += ", cpu-bind " + f.slurm.at("SLURM_CPU_BIND_TYPE");
  }
  return text + ")";
}

}  // namespace

void print_text(const Facts& f, const World* world) {
  std::printf("mpp %s on %s (pid %ld)\n\n", mpp::version, f.host.c_str(), f.pid);
  std::printf("CPUs\n");
  row("online (hardware_concurrency)", std::to_string(f.online));
  row("affinity mask (sched_getaffinity)",
      std::to_string(f.affinity.size()) + "  [" + cpu_list(f.affinity) + "]");
  if (f.quotas.empty()) {
    row("cgroup v2 quota (cpu.max)",
        "none" + (f.cgroup.empty() ? std::string(" (no cgroup v2)") : " in " + f.cgroup));
  } else {
    for (const auto& q : f.quotas) {
      row("cgroup v2 quota (cpu.max)",
          std::to_string(q.cpus) + "  [" + q.value + " in " + q.file + "]");
    }
  }
  row("SLURM_CPUS_PER_TASK",
      f.slurm.count("SLURM_CPUS_PER_TASK") ? f.slurm.at("SLURM_CPUS_PER_TASK") : "unset");
  row("MPP_NUM_THREADS", f.mpp_num_threads.empty() ? "unset" : f.mpp_num_threads);
  if (!f.omp_num_threads.empty()) row("OMP_NUM_THREADS (not used by mpp)", f.omp_num_threads);
  row("=> mpp::available_cpus()",
      (f.available ? std::to_string(f.available) : std::string("error")) + "  (" + f.reason + ")");
  std::printf("\noneTBB\n");
  row("version", f.tbb_version);
  row("default concurrency", std::to_string(f.tbb_default));
  row("max_allowed_parallelism now", std::to_string(f.tbb_max_parallelism));

  std::printf("\nSlurm\n");
  if (f.slurm.empty()) std::printf("  not in a Slurm job (no SLURM_* variables)\n");
  for (const auto& [name, value] : f.slurm) row(name.c_str(), value);

  std::printf("\nMPI\n");
  if (const std::string mpi = built_against(); !mpi.empty()) row("built against", mpi);
  std::vector<std::string> warnings = f.warnings;
  if (!world && !f.single_cpu_warning.empty())
    warnings.insert(warnings.begin(), f.single_cpu_warning);
  if (const std::string launch = describe_launch(f); !launch.empty()) {
    row("launched by", launch);
  }
  if (world) {
    row("library", world->library);
    row("ranks", std::to_string(world->size));
#ifdef MPP_INFO_WITH_MPI
    row("thread level provided", thread_level_name(world->thread_level));
#endif
    std::printf("  %5s  %-20s %-16s %-13s %s\n", "rank", "host", "affinity", "pool threads",
                "mpi::Pool threads (ranks of a node share its CPUs)");
    for (const Rank& r : world->ranks) {
      std::printf("  %5d  %-20s %-16s %-13d %s\n", r.rank, r.host.c_str(),
                  cpu_list(r.affinity).c_str(), r.available,
                  r.mpi_threads > 0 ? std::to_string(r.mpi_threads).c_str() : "?");
    }
    for (std::string& w : warnings) w = "rank 0: " + w;
    warnings.insert(warnings.end(), world->warnings.begin(), world->warnings.end());
  } else if (f.launcher.empty() && launched_by(f) == "srun") {
    std::printf("  task %s of an srun step without PMIx: MPI is not started, this task only\n",
                f.slurm.contains("SLURM_PROCID") ? f.slurm.at("SLURM_PROCID").c_str() : "?");
  } else if (f.launcher.empty()) {
#ifdef MPP_INFO_WITH_MPI
    std::printf("  not started by mpirun or srun (one process)\n");
#else
    std::printf("  mpp-info was built without MPI; no launcher variables are set\n");
#endif
  } else {
    std::printf("  launcher variables (mpp-info was built without MPI, so only this rank):\n");
    for (const auto& [name, value] : f.launcher) row(name.c_str(), value);
  }

  std::printf("\n");
  if (warnings.empty()) {
    std::printf("No problems found: mpp::Pool() will run %d threads.\n", f.available);
  } else {
    for (const std::string& w : warnings) std::printf("warning: %s\n", w.c_str());
  }
}

}  // namespace mpp_info
