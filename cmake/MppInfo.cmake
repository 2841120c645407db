# mpp-info: the installed program that prints what mpp sees on a machine (CPUs, cgroup quota,
# Slurm, MPP_NUM_THREADS, oneTBB) and, built with MPI and started by mpirun or srun, every rank's
# binding. MPI is used only when found and the MPI layer is not switched off (MPP_WITH_MPI).
option(MPP_BUILD_TOOLS "Build the mpp-info program" ${PROJECT_IS_TOP_LEVEL})
if(NOT MPP_BUILD_TOOLS)
  return()
endif()

add_executable(mpp-info src/tools/mpp_info.cpp)
target_link_libraries(mpp-info PRIVATE mpp::mpp)
mpp_warnings(mpp-info)
if(NOT DEFINED MPP_WITH_MPI OR MPP_WITH_MPI)
  find_package(MPI QUIET COMPONENTS CXX)
endif()
if(MPP_WITH_MPI AND TARGET MPI::MPI_CXX)
  target_link_libraries(mpp-info PRIVATE MPI::MPI_CXX)
  target_compile_definitions(mpp-info PRIVATE MPP_INFO_WITH_MPI OMPI_SKIP_MPICXX MPICH_SKIP_MPICXX)
endif()
# With mpp's MPI layer, each rank also reports the threads its pools take there (node_threads).
if(MPP_WITH_MPI AND TARGET MPI::MPI_CXX AND TARGET mpp::mpi)
  target_link_libraries(mpp-info PRIVATE mpp::mpi)
  target_compile_definitions(mpp-info PRIVATE MPP_INFO_WITH_MPI_LAYER)
endif()

if(MPP_INSTALL)
  install(TARGETS mpp-info RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

if(MPP_BUILD_TESTS)
  # The report, its JSON form, and the explanations of MPP_NUM_THREADS and a one-CPU binding.
  set(mpp_info_test ${CMAKE_CURRENT_SOURCE_DIR}/tests/tools/mpp_info_test.sh)
  set(mpp_info_mpiexec "")
  set(mpp_info_labels tools)
  if(MPP_WITH_MPI AND TARGET MPI::MPI_CXX AND MPIEXEC_EXECUTABLE)
    set(mpp_info_mpiexec ${MPIEXEC_EXECUTABLE})
    list(APPEND mpp_info_labels mpi)
  endif()
  add_test(NAME tools.mpp-info
    COMMAND bash ${mpp_info_test} $<TARGET_FILE:mpp-info> "${mpp_info_mpiexec}")
  set(mpp_info_environment OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1)
  if("address" IN_LIST MPP_SANITIZE)
    # Open MPI's own allocations outlive MPI_Finalize; LeakSanitizer would fail every rank.
    list(APPEND mpp_info_environment ASAN_OPTIONS=detect_leaks=0)
  endif()
  set_tests_properties(tools.mpp-info PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77
    LABELS "${mpp_info_labels}" ENVIRONMENT "${mpp_info_environment}")
endif()
