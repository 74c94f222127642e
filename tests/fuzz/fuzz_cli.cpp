// libFuzzer target: the `wick` command-line tool's subcommands on each input (cli_harness.h).
#include <cstddef>
#include <cstdint>

#include "cli_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const auto& path = wick::fuzz::scratch_path();
  wick::fuzz::write_file(path, data, size);
  wick::fuzz::run_commands(path);
  return 0;
}
