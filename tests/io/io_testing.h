#pragma once
// Helpers shared by the io tests: scratch directories and byte-level file access.

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "wick/wick.h"

namespace wick::testing {

/// The tutorial's MLP (20 -> 256 -> 10), as a user writes it.
struct TutorialMlp : nn::Module {
  nn::Linear hidden{20, 256}, output{256, 10};
  TutorialMlp() {
    register_module("hidden", hidden);
    register_module("output", output);
  }
  Tensor forward(const Tensor& x) { return output(relu(hidden(x))); }
};

/// LoadOptions with `verify` and `mmap` set, the rest default.
inline LoadOptions read_options(bool verify, bool mmap) {
  LoadOptions o;
  o.verify = verify;
  o.mmap = mmap;
  return o;
}

/// A fresh directory under the system temp dir, removed with its contents at destruction.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("wick-test-" + std::to_string(rd()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(path_, ec);
  }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::vector<char> read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::filesystem::path& p, const std::vector<char>& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline uint64_t read_u64(const std::vector<char>& b, std::size_t at) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | static_cast<uint8_t>(b[at + i]);
  return v;
}

}  // namespace wick::testing
