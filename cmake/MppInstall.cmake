# Install rules and the package config, so that find_package(mpp CONFIG) gives mpp::mpp.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS mpp EXPORT mppTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
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
