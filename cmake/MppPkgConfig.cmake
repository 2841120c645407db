# mpp.pc for pkg-config users, installed beside the CMake package config
# (<libdir>/pkgconfig next to <libdir>/cmake/mpp), and a test that builds a small program with
# `pkg-config --cflags --libs mpp` against a staged install.
if(NOT MPP_INSTALL)
  return()
endif()

set(mpp_pc_dir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  message(FATAL_ERROR "mpp.pc needs CMAKE_INSTALL_LIBDIR and CMAKE_INSTALL_INCLUDEDIR relative to the prefix")
endif()
# From <prefix>/<libdir>/pkgconfig back up to <prefix>, e.g. "../.." or "../../..".
file(RELATIVE_PATH mpp_pc_prefix_from_pcdir /mpp-prefix/${mpp_pc_dir} /mpp-prefix)
configure_file(${CMAKE_CURRENT_LIST_DIR}/mpp.pc.in ${PROJECT_BINARY_DIR}/mpp.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/mpp.pc DESTINATION ${mpp_pc_dir})

# Checked in the plain build only: a sanitized libmpp.a needs the sanitizer flags to link.
if(MPP_BUILD_TESTS AND NOT MPP_SANITIZE)
  find_program(MPP_PKG_CONFIG NAMES pkg-config pkgconf)
  set(mpp_pc_stage ${PROJECT_BINARY_DIR}/consumer-pkgconfig/stage)
  add_test(NAME package.pkgconfig.install
    COMMAND ${CMAKE_COMMAND} --install ${PROJECT_BINARY_DIR} --prefix ${mpp_pc_stage})
  set_tests_properties(package.pkgconfig.install PROPERTIES
    FIXTURES_SETUP mpp_pc_staged TIMEOUT 120 LABELS package)
  add_test(NAME package.pkgconfig
    COMMAND sh ${PROJECT_SOURCE_DIR}/tests/consumer-pkgconfig/build.sh
      "${MPP_PKG_CONFIG}" ${CMAKE_CXX_COMPILER} ${mpp_pc_stage}/${mpp_pc_dir}
      ${PROJECT_SOURCE_DIR}/tests/consumer-pkgconfig/main.cpp
      ${PROJECT_BINARY_DIR}/consumer-pkgconfig/consumer)
  set_tests_properties(package.pkgconfig PROPERTIES
    FIXTURES_REQUIRED mpp_pc_staged TIMEOUT 300 SKIP_RETURN_CODE 77
    PASS_REGULAR_EXPRESSION "consumer-pkgconfig: ok" LABELS package)
endif()
