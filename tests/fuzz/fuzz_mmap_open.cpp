// libFuzzer target: io::Reader with mmap (index, entries, value, verify), verified and not.
#include <cstddef>
#include <cstdint>

#include "fuzz_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const auto& path = wick::fuzz::scratch_path();
  wick::fuzz::write_file(path, data, size);
  wick::fuzz::mmap_open(path);
  return 0;
}
