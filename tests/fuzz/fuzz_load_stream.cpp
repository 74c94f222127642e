// libFuzzer target: load(std::istream), the streamed decode path (pipes, sockets, memory).
#include <cstddef>
#include <cstdint>

#include "fuzz_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  wick::fuzz::stream_load(data, size);
  return 0;
}
