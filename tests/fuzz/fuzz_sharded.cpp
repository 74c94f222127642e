// libFuzzer target: a sharded checkpoint directory (io::ShardedReader, wick::load(dir)), packed
// into one input by the container of sharded_harness.h.
#include <cstddef>
#include <cstdint>

#include "sharded_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  wick::fuzz::sharded_input(data, size);
  return 0;
}
