# Packaging tests: a small user project builds against a staged install of mpp (find_package)
# and against mpp's source tree (add_subdirectory), then runs.
set(mpp_consumer_dir ${CMAKE_CURRENT_BINARY_DIR}/consumer-tests)
set(mpp_consumer_generator -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE})

if(MPP_INSTALL)
  add_test(NAME package.install
    COMMAND ${CMAKE_COMMAND} --install ${PROJECT_BINARY_DIR} --prefix ${mpp_consumer_dir}/stage)
  add_test(NAME package.find_package
    COMMAND ${CMAKE_COMMAND} -E chdir ${mpp_consumer_dir} sh -c
      "${CMAKE_COMMAND} -S ${PROJECT_SOURCE_DIR}/tests/consumer -B find_package ${mpp_consumer_generator} \
       -DCMAKE_PREFIX_PATH=${mpp_consumer_dir}/stage >/dev/null \
       && ${CMAKE_COMMAND} --build find_package && ./find_package/consumer")
  set_tests_properties(package.install PROPERTIES FIXTURES_SETUP mpp_staged TIMEOUT 120 LABELS package)
  set_tests_properties(package.find_package PROPERTIES
    FIXTURES_REQUIRED mpp_staged TIMEOUT 300 PASS_REGULAR_EXPRESSION "consumer: ok" LABELS package)
endif()

add_test(NAME package.add_subdirectory
  COMMAND ${CMAKE_COMMAND} -E chdir ${mpp_consumer_dir} sh -c
    "${CMAKE_COMMAND} -S ${PROJECT_SOURCE_DIR}/tests/consumer -B add_subdirectory ${mpp_consumer_generator} \
     -DMPP_SOURCE_DIR=${PROJECT_SOURCE_DIR} >/dev/null \
     && ${CMAKE_COMMAND} --build add_subdirectory && ./add_subdirectory/consumer")
set_tests_properties(package.add_subdirectory PROPERTIES
  TIMEOUT 300 PASS_REGULAR_EXPRESSION "consumer: ok" LABELS package)
file(MAKE_DIRECTORY ${mpp_consumer_dir})
