// libFuzzer target: load(path), the whole-file decode path (pread, size known up front).
#include <cstddef>
#include <cstdint>

#include "fuzz_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const auto& path = wick::fuzz::scratch_path();
  wick::fuzz::write_file(path, data, size);
  wick::fuzz::path_load(path);
  return 0;
}
