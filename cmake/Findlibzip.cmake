# Finds libzip (Debian: libzip-dev) and defines the imported target libzip::zip.
# Debian's own libzip-config.cmake also imports the zipcmp/zipmerge/ziptool programs and fails
# when those separate packages are absent, so wick looks for the library directly instead.
if(TARGET libzip::zip)
  set(libzip_FOUND TRUE)
  return()
endif()
find_path(libzip_INCLUDE_DIR NAMES zip.h)
find_library(libzip_LIBRARY NAMES zip)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(libzip REQUIRED_VARS libzip_LIBRARY libzip_INCLUDE_DIR)

if(libzip_FOUND)
  add_library(libzip::zip UNKNOWN IMPORTED)
  set_target_properties(libzip::zip PROPERTIES
    IMPORTED_LOCATION "${libzip_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${libzip_INCLUDE_DIR}")
endif()
mark_as_advanced(libzip_INCLUDE_DIR libzip_LIBRARY)
