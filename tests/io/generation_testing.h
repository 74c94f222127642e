#pragma once
// Checkpoints for the crash and concurrency tests: every byte of generation g depends on g, so a
// load that mixes two saves, or reads part of one, cannot pass check().

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>

#include "wick/wick.h"

namespace wick::testing {

/// `tensors` float32 tensors of `shape`: tensor i of generation g is filled with g * 32 + i. The
/// metadata and the root dict's "generation" entry hold g too.
struct Generations {
  int tensors = 16;
  Shape shape = {1024, 1024};

  static std::string name(int i) { return "layers." + std::to_string(i) + ".weight"; }
  static float fill(int64_t g, int i) { return static_cast<float>(g * 32 + i); }

  Value value(int64_t g) const {
    Dict d;
    for (int i = 0; i < tensors; ++i)
      d.insert(name(i), full(shape, fill(g, i)));
    d.insert("generation", g);
    return d;
  }

  static SaveOptions options(int64_t g, bool durable) {
    SaveOptions o;
    o.durable = durable;
    o.metadata = Dict{{"generation", g}};
    return o;
  }

  /// How check() reads the file.
  enum class Mode { kRead, kMmap, kByName };

  /// Loads `path` and checks that it is one complete generation, stored in `*g`. Returns what is
  /// wrong ("" when consistent); a load that throws is wrong too.
  std::string check(const std::filesystem::path& path, Mode mode, int64_t* g) const {
    try {
      LoadOptions options;
      options.mmap = mode == Mode::kMmap;
      io::Reader reader(path, options);
      *g = reader.metadata().at("generation").as_int();
      if (mode == Mode::kByName) {
        for (int i = 0; i < tensors; ++i) {
          if (std::string bad = check_tensor(reader.tensor(name(i)), *g, i); !bad.empty()) {
            return bad;
          }
        }
        return "";
      }
      const Value v = reader.value();
      if (v.size() != static_cast<std::size_t>(tensors) + 1) return "wrong number of entries";
      if (v.at("generation").as_int() != *g) return "the value's generation is not the metadata's";
      for (int i = 0; i < tensors; ++i) {
        if (std::string bad = check_tensor(v.at(name(i)).tensor(), *g, i); !bad.empty()) {
          return bad;
        }
      }
      return "";
    } catch (const std::exception& e) {
      return std::string("load failed: ") + e.what();
    }
  }

  std::string check_tensor(const Tensor& t, int64_t g, int i) const {
    if (t.dtype() != kFloat32 || t.shape() != shape) return name(i) + ": wrong dtype or shape";
    const float want = fill(g, i);
    for (const float x : t.span<float>()) {
      if (x != want) {
        return name(i) + ": holds " + std::to_string(x) + ", generation " + std::to_string(g) +
               " has " + std::to_string(want);
      }
    }
    return "";
  }
};

/// Temp files that saves to `target` left beside it (`.<name>.wick-tmp-*`).
inline int count_temp_files(const std::filesystem::path& target) {
  std::string prefix = ".";  // appended piecewise: GCC 12's -Wrestrict misfires on "." + s
  prefix.append(target.filename().string()).append(".wick-tmp-");
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(target.parent_path())) {
    if (e.path().filename().string().starts_with(prefix)) ++n;
  }
  return n;
}

/// Whether saves into `dir` write an unnamed temp file (O_TMPFILE, named through /proc only at
/// commit), as AtomicFile::Temp::kAuto does where it can.
inline bool unnamed_temp_files(const std::filesystem::path& dir) {
#if defined(O_TMPFILE)
  const int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  const bool proc = ::access(("/proc/self/fd/" + std::to_string(fd)).c_str(), F_OK) == 0;
  ::close(fd);
  return proc;
#else
  return false;
#endif
}

/// A fresh directory on tmpfs (/dev/shm) when there is one, else in the system temp dir, so
/// tests that write gigabytes in all do not wear a disk; removed at destruction.
class ScratchDir {
 public:
  ScratchDir() {
    std::random_device rd;
    std::error_code ec;
    const std::filesystem::path shm = "/dev/shm";
    const std::filesystem::path base =
        std::filesystem::is_directory(shm, ec) && ::access(shm.c_str(), W_OK) == 0
            ? shm
            : std::filesystem::temp_directory_path();
    path_ = base / ("wick-test-" + std::to_string(rd()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace wick::testing
