# The headers, the export set of the targets (each installed beside its definition) and the
# package config, so that find_package(mpp CONFIG) gives mpp::mpp (and mpp::mpi, mpp::benchmark).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT mppTargets NAMESPACE mpp:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/mpp)

configure_package_config_file(cmake/mppConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/mppConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/mpp)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/mppConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/mppConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/mppConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/mpp)
