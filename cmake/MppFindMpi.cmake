# Included when the MPI layer is built (MPP_WITH_MPI): finds MPI and tells which one it is, picks
# its own launcher, and sets how mpp's MPI tests and examples start it:
#   MPP_MPI_IMPLEMENTATION     "Open MPI", "MPICH" or "unknown"
#   MPP_MPI_CXX_WRAPPER        the compiler wrapper by full path (for the installed package)
#   MPP_MPIEXEC_FLAGS          launcher flags of the tests (cache; default per implementation)
#   MPP_MPI_TEST_ENVIRONMENT   environment of the tests (Open MPI's run-as-root settings)
find_package(MPI REQUIRED COMPONENTS CXX)

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
