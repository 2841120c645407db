# Installs the build in BUILD_DIR into WORK_DIR/prefix, builds the consumer in SOURCE_DIR against
# it with find_package(mpp CONFIG REQUIRED COMPONENTS mpi), and runs it under MPIEXEC at 2 ranks.
file(REMOVE_RECURSE ${WORK_DIR})
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGV}")
  endif()
endfunction()
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
separate_arguments(flags UNIX_COMMAND "${MPIEXEC_FLAGS}")
run(${MPIEXEC} -np 2 ${flags} ${WORK_DIR}/build/consumer_mpi)
