#pragma once
// A scratch directory every rank of an MPI job sees, for the dist/ tests.

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>

#include "wick/dist/communicator.h"
#include "wick/wick.h"

namespace wick::dist {

// A directory every rank of `comm` sees (rank 0 names it), removed by rank 0 at the end.
class SharedDir {
 public:
  explicit SharedDir(const Communicator& comm) : comm_(comm) {
    std::string name;
    if (comm.rank() == 0) {
      std::random_device rd;
      path_ = std::filesystem::temp_directory_path() / ("wick-dist-" + std::to_string(rd()));
      std::filesystem::create_directories(path_);
      name = path_.string();
    }
    Tensor n = full({1}, static_cast<int64_t>(name.size()), kInt64);
    comm.broadcast(n);
    Tensor bytes = zeros({n.item<int64_t>()}, kUInt8);
    if (comm.rank() == 0) std::copy(name.begin(), name.end(), bytes.data<uint8_t>());
    comm.broadcast(bytes);
    path_ = std::string(bytes.data<uint8_t>(), bytes.data<uint8_t>() + bytes.numel());
  }
  ~SharedDir() {
    comm_.barrier();
    std::error_code ec;
    if (comm_.rank() == 0) std::filesystem::remove_all(path_, ec);
  }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  const Communicator& comm_;
  std::filesystem::path path_;
};

}  // namespace wick::dist
