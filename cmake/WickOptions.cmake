# Compiler settings shared by every wick target.
include(GNUInstallDirs)

set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)

set(WICK_WARNING_FLAGS -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion)

if(WICK_SANITIZE)
  add_compile_options(-fsanitize=${WICK_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${WICK_SANITIZE})
endif()

# Per-ISA kernel files are compiled with their own -m flags and selected at run time, so the
# rest of the library must stay at the baseline ISA of the target.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
  set(WICK_X86_64 ON)
else()
  set(WICK_X86_64 OFF)
endif()
