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
  src/mpi/call_thread.cpp
  src/mpi/comm.cpp
  src/mpi/environment.cpp
  src/mpi/errors.cpp
  src/mpi/executor.cpp
  src/mpi/message.cpp
  src/mpi/pool.cpp
  src/mpi/wait.cpp)
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

# Which MPI this is, read from its mpi.h: Open MPI or MPICH (and its derivatives: Intel MPI,
# Cray MPICH, MVAPICH define MPICH_VERSION too). The launcher must belong to the same MPI: with
# both installed, FindMPI takes the `mpiexec` of the `mpi` alternatives, whatever the compiler.
set(MPP_MPI_IMPLEMENTATION "unknown")
foreach(dir IN LISTS MPI_CXX_INCLUDE_DIRS MPI_CXX_ADDITIONAL_INCLUDE_DIRS MPI_C_HEADER_DIR)
  if(EXISTS ${dir}/mpi.h)
    file(STRINGS ${dir}/mpi.h _mpp_mpi_h REGEX "#define (OMPI_MAJOR_VERSION|MPICH_VERSION) ")
    if(_mpp_mpi_h MATCHES "OMPI_MAJOR_VERSION")
      set(MPP_MPI_IMPLEMENTATION "Open MPI")
    elseif(_mpp_mpi_h MATCHES "MPICH_VERSION")
      set(MPP_MPI_IMPLEMENTATION "MPICH")
    endif()
    break()
  endif()
endforeach()

function(_mpp_launcher_flavour launcher out)
  execute_process(COMMAND ${launcher} --version OUTPUT_VARIABLE text ERROR_VARIABLE text
    RESULT_VARIABLE rc TIMEOUT 20)
  if(text MATCHES "Open MPI|OpenRTE")
    set(${out} "Open MPI" PARENT_SCOPE)
  elseif(text MATCHES "HYDRA|MPICH")
    set(${out} "MPICH" PARENT_SCOPE)
  else()
    set(${out} "unknown" PARENT_SCOPE)
  endif()
endfunction()

if(MPIEXEC_EXECUTABLE AND NOT MPP_MPI_IMPLEMENTATION STREQUAL "unknown")
  _mpp_launcher_flavour(${MPIEXEC_EXECUTABLE} _mpp_launcher)
  if(NOT _mpp_launcher STREQUAL MPP_MPI_IMPLEMENTATION)
    # The alternatives' mpiexec belongs to the other MPI: take this MPI's own launcher.
    if(MPP_MPI_IMPLEMENTATION STREQUAL "Open MPI")
      set(_mpp_names mpiexec.openmpi mpirun.openmpi)
    else()
      set(_mpp_names mpiexec.hydra mpiexec.mpich mpirun.mpich)
    endif()
    unset(_mpp_own_launcher CACHE)
    find_program(_mpp_own_launcher NAMES ${_mpp_names} NO_CACHE)
    if(NOT _mpp_own_launcher)
      message(FATAL_ERROR
        "mpp: MPI is ${MPP_MPI_IMPLEMENTATION} (${MPI_CXX_COMPILER}) but its launcher "
        "${MPIEXEC_EXECUTABLE} is ${_mpp_launcher}, and none of ${_mpp_names} was found: set "
        "-DMPIEXEC_EXECUTABLE=<the mpiexec of ${MPP_MPI_IMPLEMENTATION}>")
    endif()
    message(STATUS "mpp: ${MPIEXEC_EXECUTABLE} belongs to ${_mpp_launcher}; the tests use "
                   "${MPP_MPI_IMPLEMENTATION}'s ${_mpp_own_launcher}")
    set(MPIEXEC_EXECUTABLE ${_mpp_own_launcher} CACHE FILEPATH "Executable for running MPI programs." FORCE)
  endif()
endif()
# The installed package names the compiler wrapper by its full path: a bare name, as the mpich
# preset gives, would fail the EXISTS check of mppConfig.cmake and leave consumers on the
# default MPI, whose library does not match mpp::mpi's.
set(MPP_MPI_CXX_WRAPPER "${MPI_CXX_COMPILER}")
if(MPI_CXX_COMPILER AND NOT IS_ABSOLUTE "${MPI_CXX_COMPILER}")
  find_program(_mpp_mpi_wrapper NAMES "${MPI_CXX_COMPILER}" NO_CACHE)
  if(_mpp_mpi_wrapper)
    set(MPP_MPI_CXX_WRAPPER "${_mpp_mpi_wrapper}")
  endif()
endif()
message(STATUS "mpp: MPI layer built against ${MPP_MPI_IMPLEMENTATION} (${MPP_MPI_CXX_WRAPPER}), "
               "launched by ${MPIEXEC_EXECUTABLE}")

# How the MPI tests and examples are launched: room for more ranks than cores, threads free to
# use every core, and the settings that let Open MPI start as root. MPICH's Hydra neither binds
# ranks nor limits them to the cores, and runs as root as it is.
if(MPP_MPI_IMPLEMENTATION STREQUAL "Open MPI")
  set(_mpp_default_flags --oversubscribe --bind-to none)
  set(MPP_MPI_TEST_ENVIRONMENT
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1)
else()
  set(_mpp_default_flags "")
  set(MPP_MPI_TEST_ENVIRONMENT "")
endif()
set(MPP_MPIEXEC_FLAGS "${_mpp_default_flags}" CACHE STRING
  "mpiexec flags of mpp's MPI tests (default: those of the MPI found)")
if(DEFINED _MPP_MPIEXEC_FLAGS_FOR AND NOT _MPP_MPIEXEC_FLAGS_FOR STREQUAL MPP_MPI_IMPLEMENTATION)
  # This tree was configured with the other MPI before: its launch flags do not apply.
  set(MPP_MPIEXEC_FLAGS "${_mpp_default_flags}" CACHE STRING
    "mpiexec flags of mpp's MPI tests (default: those of the MPI found)" FORCE)
endif()
set(_MPP_MPIEXEC_FLAGS_FOR "${MPP_MPI_IMPLEMENTATION}" CACHE INTERNAL "")

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
