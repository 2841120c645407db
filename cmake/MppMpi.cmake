# mpp's MPI layer: the target mpp::mpi (library mpp_mpi), its install rules, tests and
# examples. Built when MPI (C++ bindings of the MPI library, e.g. Open MPI) and cereal are found;
# MPP_WITH_MPI=OFF leaves it out. The local pool (mpp::mpp) never depends on it.
find_package(MPI QUIET COMPONENTS CXX)
find_package(cereal CONFIG QUIET)
if(MPI_CXX_FOUND AND cereal_FOUND)
  set(_mpp_mpi_default ON)
else()
  set(_mpp_mpi_default OFF)
endif()
option(MPP_WITH_MPI "Build mpp's MPI layer, target mpp::mpi (needs MPI and cereal)" ${_mpp_mpi_default})
if(NOT MPP_WITH_MPI)
  message(STATUS "mpp: MPI layer not built (MPI found: ${MPI_CXX_FOUND}, cereal found: ${cereal_FOUND})")
  return()
endif()
find_package(MPI REQUIRED COMPONENTS CXX)
find_package(cereal CONFIG REQUIRED)

add_library(mpp_mpi
  src/mpi/comm.cpp
  src/mpi/environment.cpp
  src/mpi/errors.cpp
  src/mpi/executor.cpp
  src/mpi/pool.cpp)
add_library(mpp::mpi ALIAS mpp_mpi)
set_target_properties(mpp_mpi PROPERTIES EXPORT_NAME mpi VERSION ${PROJECT_VERSION})
target_link_libraries(mpp_mpi PUBLIC mpp::mpp MPI::MPI_CXX cereal::cereal)
mpp_warnings(mpp_mpi)

if(MPP_INSTALL)
  install(TARGETS mpp_mpi EXPORT mppTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

# How the MPI tests and examples are launched: mpirun with room for more ranks than cores,
# threads free to use every core, and the settings that let it start as root.
set(MPP_MPIEXEC_FLAGS --oversubscribe --bind-to none CACHE STRING "mpirun flags of mpp's MPI tests")
set(MPP_MPI_TEST_ENVIRONMENT
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1)

if(MPP_BUILD_TESTS)
  enable_testing()
  add_subdirectory(tests/mpi)
endif()
if(MPP_BUILD_EXAMPLES)
  add_subdirectory(examples/mpi)
endif()
if(MPP_BUILD_BENCHMARKS)
  add_subdirectory(bench/mpi)
endif()
