// libFuzzer target: io::Reader::tensor(name) for every entry, read and mmapped, verified and not.
#include <cstddef>
#include <cstdint>

#include "fuzz_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const auto& path = wick::fuzz::scratch_path();
  wick::fuzz::write_file(path, data, size);
  wick::fuzz::load_by_name(path);
  return 0;
}
