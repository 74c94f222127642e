# Installs libwick.a, the public headers, a relocatable CMake package (find_package(wick)), a
# pkg-config file (wick.pc) and the `wick` command-line tool; with WICK_WITH_MPI also
# libwick_dist.a and its headers, the package's component `dist` (wick::dist).
include(CMakePackageConfigHelpers)

foreach(area core nn io)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${area}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endforeach()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(TARGETS wick EXPORT wickTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(WICK_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/wick)
install(EXPORT wickTargets NAMESPACE wick:: DESTINATION ${WICK_CMAKE_DIR})
# wick::dist has an export set of its own, loaded by wickConfig.cmake only where MPI is found:
# find_package(wick) works without MPI, find_package(wick COMPONENTS dist) needs it.
if(TARGET wick_dist)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/dist/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  set_target_properties(wick_dist PROPERTIES EXPORT_NAME dist)
  install(TARGETS wick_dist EXPORT wickDistTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(EXPORT wickDistTargets NAMESPACE wick:: DESTINATION ${WICK_CMAKE_DIR})
endif()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/wickConfig.cmake.in
  ${PROJECT_BINARY_DIR}/wickConfig.cmake INSTALL_DESTINATION ${WICK_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/wickConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/wickConfig.cmake ${PROJECT_BINARY_DIR}/wickConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/FindXXHash.cmake ${PROJECT_SOURCE_DIR}/cmake/Findlibzip.cmake
  DESTINATION ${WICK_CMAKE_DIR})

# pkg-config (wick.pc). libwick.a is static, so its users also link what it links: each
# imported dependency below adds -l<name>, taken from its library file (FindZLIB sets only the
# per-configuration location when it finds a release library).
set(WICK_PC_DEPENDENCY_LIBS "")
foreach(dep XXHash::XXHash libzip::zip ZLIB::ZLIB)
  if(TARGET ${dep})
    get_target_property(location ${dep} IMPORTED_LOCATION)
    if(NOT location)
      get_target_property(location ${dep} IMPORTED_LOCATION_RELEASE)
    endif()
    if(NOT location)
      message(FATAL_ERROR "wick.pc: no library file for ${dep}")
    endif()
    get_filename_component(name ${location} NAME_WE)
    string(REGEX REPLACE "^lib" "" name ${name})
    string(APPEND WICK_PC_DEPENDENCY_LIBS " -l${name}")
  endif()
endforeach()
# Saves hash on a second thread; with glibc 2.34+ this is a no-op, elsewhere it links pthread.
string(APPEND WICK_PC_DEPENDENCY_LIBS " -pthread")
# The prefix is computed from the .pc file's own location, so `cmake --install --prefix` works.
file(RELATIVE_PATH WICK_PC_RELATIVE_PREFIX /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
string(REGEX REPLACE "/$" "" WICK_PC_RELATIVE_PREFIX "${WICK_PC_RELATIVE_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/wick.pc.in ${PROJECT_BINARY_DIR}/wick.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/wick.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

if(TARGET wick_cli)
  install(TARGETS wick_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

# Documentation under share/doc/wick: what a user of the installed library reads first, the
# format spec, the licence with the third-party notices, and (WICK_BUILD_DOCS) the API reference.
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/io/FORMAT.md
  ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/NOTICE DESTINATION ${CMAKE_INSTALL_DOCDIR})
if(WICK_BUILD_DOCS)
  install(DIRECTORY ${WICK_DOCS_DIR}/html DESTINATION ${CMAKE_INSTALL_DOCDIR})
endif()

include(WickPackage)
