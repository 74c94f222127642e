#include "common/tensor_bytes.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "common/file.h"
#include "wick/core/error.h"

namespace wick::io::detail {

namespace {
// Passes writes on to `out`, telling `progress` how far it got every kStep bytes at most.
class ProgressSink final : public Sink {
 public:
  ProgressSink(Sink& out, const ProgressFn& progress, uint64_t total)
      : out_(out), progress_(progress), total_(total) {}
  void write(const void* data, std::size_t n) override {
    const auto* p = static_cast<const std::byte*>(data);
    for (std::size_t at = 0; at < n;) {
      const std::size_t k = std::min(n - at, kStep);
      out_.write(p + at, k);
      at += k;
      done_ += k;
      progress_(done_, std::max(total_, done_));
    }
  }
  void flush() override { out_.flush(); }

 private:
  static constexpr std::size_t kStep = std::size_t{8} << 20;
  Sink& out_;
  const ProgressFn& progress_;
  uint64_t total_;
  uint64_t done_ = 0;
};
}  // namespace

void write_atomically(const std::filesystem::path& path, bool durable,
                      const std::function<void(Sink&)>& body, const ProgressFn& progress,
                      uint64_t total) {
  AtomicFile file(path);
  if (progress) {
    ProgressSink counted(file.sink(), progress, total);
    body(counted);
  } else {
    body(file.sink());
  }
  file.commit(durable);
}

namespace {
void fsync_path(const std::filesystem::path& path, int flags, const std::string& op) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) {
    const std::string err = os_error();
    throw io_failure("open", path.string(), err,
                     wick::detail::cat(op, ": cannot open ", path, " to fsync it: ", err));
  }
  const int rc = ::fsync(fd);
  const std::string err = rc != 0 ? os_error() : "";
  ::close(fd);
  if (rc != 0) {
    throw io_failure("fsync", path.string(), err,
                     wick::detail::cat(op, ": fsync of ", path, " failed: ", err));
  }
}
}  // namespace

void sync_file_and_directory(const std::filesystem::path& path, const std::string& op) {
  fsync_path(path, O_RDONLY, op);
  fsync_path(path.has_parent_path() ? path.parent_path() : ".", O_RDONLY | O_DIRECTORY, op);
}

std::optional<uint64_t> bounded_nbytes(std::span<const int64_t> shape, DType dtype) noexcept {
  uint64_t extent = dtype_size(dtype);
  bool empty = false;
  for (const int64_t d : shape) {
    if (d < 0 ||
        __builtin_mul_overflow(extent, static_cast<uint64_t>(std::max<int64_t>(d, 1)), &extent) ||
        extent > kMaxTensorExtent) {
      return std::nullopt;
    }
    empty = empty || d == 0;
  }
  return empty ? 0 : extent;
}

void check_writable(const Tensor& t, std::size_t max_rank, const std::string& what) {
  WICK_CHECK(t.shape().size() <= max_rank, ArgumentError, what, ": a tensor of rank ", t.dim(),
             " exceeds the format's maximum rank ", max_rank);
  WICK_CHECK(bounded_nbytes(t.shape(), t.dtype()).has_value(), ArgumentError, what, ": shape ",
             shape_str(t.shape()), " of ", dtype_name(t.dtype()),
             " overflows 2^62 bytes, counting every zero size as 1: readers refuse such shapes");
}

void check_bool_bytes(const std::byte* data, std::size_t n, const std::string& what) {
  const std::size_t i = first_non_bool(data, n);
  WICK_CHECK(i == n, FormatError, what, ": bool element ", i, " is byte ",
             i < n ? static_cast<unsigned>(data[i]) : 0U, "; a bool is stored as 0 or 1");
}

bool is_valid_utf8(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (i + static_cast<std::size_t>(len) > s.size()) return false;
    for (int k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += static_cast<std::size_t>(len);
  }
  return true;
}

Tensor contiguous_data(const Tensor& t) {
  return t.is_contiguous() ? t : t.contiguous();
}

const std::string& string_key(const Key& key, const std::string& op) {
  WICK_CHECK(key.is_string(), ArgumentError, op, ": key ", key,
             " is an int; this format names its entries with strings");
  return key.str();
}

}  // namespace wick::io::detail
