# `cpack -G DEB` (scripts/package.sh): one .deb with everything `cmake --install` installs —
# libwick.a, headers, the CMake package, wick.pc, the `wick` tool and share/doc/wick.
set(CPACK_PACKAGE_NAME wick)
set(CPACK_PACKAGE_VENDOR "The wick authors")
set(CPACK_PACKAGE_CONTACT "The wick authors <wick@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # wick_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "${PROJECT_DESCRIPTION}\n libwick.a with its C++20 headers, CMake package (find_package(wick)),\n pkg-config file, the wick command-line tool and the HTML API reference;\n libwick_dist.a (wick::dist, over Open MPI) where it was built with MPI.")
# libwick.a is static: a program linking it also links -lxxhash and -lzip (wick.pc, wick::wick),
# which need the -dev packages' .so links and, for find_package, their headers. xsimd and
# nlohmann-json are compiled in, so consumers need neither.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libxxhash-dev, libzip-dev, zlib1g-dev")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "g++ (>= 4:12), cmake (>= 3.25), pkg-config")
# wick::dist (find_package(wick COMPONENTS dist)) links Open MPI; the rest of wick does not.
if(TARGET wick_dist)
  set(CPACK_DEBIAN_PACKAGE_SUGGESTS "libopenmpi-dev, openmpi-bin")
endif()
# The `wick` tool's shared libraries (libc, libstdc++, libzip, libxxhash) from dpkg-shlibdeps.
find_program(WICK_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(WICK_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", libc6 (>= 2.34), libstdc++6 (>= 12)")
endif()
include(CPack)
