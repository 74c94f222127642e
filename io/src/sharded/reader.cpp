// Reading a sharded checkpoint (io/FORMAT.md "Sharded checkpoints"): the index first, then only
// the pieces that overlap what is asked, each from a shard opened relative to the directory.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <unordered_map>

#include "common/bytes.h"
#include "common/file.h"
#include "common/tensor_bytes.h"
#include "native/format.h"
#include "native/worker.h"
#include "sharded/index.h"
#include "wick/core/creation.h"
#include "wick/core/error.h"
#include "wick/io/native/reader.h"
#include "wick/io/native/tree_path.h"
#include "wick/io/sharded/sharded_reader.h"

namespace wick::io {

namespace {

using wick::detail::cat;
using namespace sharded;
namespace fs = std::filesystem;

constexpr std::size_t kChunk = std::size_t{8} << 20;  // read and hashed per step
// How far read_range() advises the kernel ahead of its reads: 32 MiB slowed a whole 1 GiB load
// by a third here, 8 MiB (this disk's own readahead window) did not.
constexpr uint64_t kReadAhead = uint64_t{8} << 20;

// A shard opened through the directory's descriptor, its header and trailer checked.
struct Shard {
  std::unique_ptr<io::detail::File> file;
  std::string name;  // dir/shard-..., for messages
};

std::string dotted(const std::string& path) {
  std::string out;
  for (const std::string& step : split_path(path))
    out.append(out.empty() ? "" : ".").append(step);
  return out;
}

}  // namespace

struct ShardedReader::Impl {
  fs::path dir;
  LoadOptions options;
  int dir_fd = -1;
  std::string index_file;
  Index index;
  ShardedInfo info;
  std::vector<Shard> shards;
  std::unordered_map<std::string, uint32_t> by_path;
  io::detail::Worker faulting;  // started by the first tensor of kPrefaultFrom bytes or more

  // Closed here, not in ~ShardedReader: a constructor that throws (a refused index) runs no
  // destructor of its own, only its members'.
  ~Impl() {
    if (dir_fd >= 0) ::close(dir_fd);
  }

  // A path into the directory as opened: renames of the directory do not change what it names.
  std::string through_fd(std::string_view name) const {
    return cat("/proc/self/fd/", dir_fd, "/", name);
  }

  // Runs `f`, rethrowing its errors with `name` as the file and the directory's own path in
  // place of the /proc path it was opened through.
  template <class F>
  auto naming(const std::string& name, F&& f) const {
    const auto renamed = [&](ErrorInfo i) {
      i.file = name;
      const std::string proc = through_fd(""), real = (dir / "").string();
      for (std::size_t at = i.detail.find(proc); at != std::string::npos;
           at = i.detail.find(proc, at + real.size())) {
        i.detail.replace(at, proc.size(), real);
      }
      return i;
    };
    try {
      return f();
    } catch (const FormatError& e) {
      throw FormatError(renamed(e.info()));
    } catch (const IoError& e) {
      throw IoError(renamed(e.info()));
    }
  }

  void open_index() {
    dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) {
      const std::string err = io::detail::os_error();
      throw io::detail::io_failure("open directory", dir.string(), err,
                                   cat("load_sharded: cannot open ", dir, ": ", err));
    }
    index_file = (dir / kIndexName).string();
    naming(index_file, [&] {
      Reader r(through_fd(kIndexName));  // verified always: it is small, and everything rests on it
      info.index_size = r.info().file_size;
      index = decode_index(r.value(), r.metadata(), index_file);
      return 0;
    });
    info.layout_version = index.layout_version;
    info.world_size = index.world_size;
    info.tensor_count = index.tensors.size();
    info.piece_count = index.pieces.size();
    info.total_size = info.index_size;
    io::detail::Hasher identity;
    for (const ShardRow& s : index.shards) {
      info.total_size += s.size;
      identity.update(&s.size, sizeof s.size);
      identity.update(&s.index_checksum, sizeof s.index_checksum);
    }
    info.identity = identity.digest();
    for (uint32_t i = 0; i < index.tensors.size(); ++i) {
      const TensorRow& t = index.tensors[i];
      info.payload_bytes += t.numel * dtype_size(t.dtype);
      by_path.emplace(t.path, i);
    }
    shards.resize(index.world_size);
  }

  // "Index": a shard, when first needed: its size, header and trailer, and the trailer's index
  // checksum against the index's, so a shard of another checkpoint is refused at once.
  const io::detail::File& shard(uint32_t r) {
    Shard& s = shards[r];
    if (s.file) return *s.file;
    s.name = (dir / shard_name(r, index.world_size)).string();
    naming(s.name, [&] {
      auto owned = std::make_unique<io::detail::File>(through_fd(shard_name(r, index.world_size)));
      const io::detail::File& f = *owned;
      const ShardRow& row = index.shards[r];
      if (f.size() != row.size) {
        refuse(s.name, cat("shard ", r), cat("is ", f.size(), " bytes; the index says ", row.size));
      }
      std::array<std::byte, io::detail::kFileHeaderSize> header{};
      f.read_at(header.data(), header.size(), 0, "file header");
      io::detail::decode_file_header(header);
      std::array<std::byte, io::detail::kTrailerSize> trailer{};
      const uint64_t at = f.size() - trailer.size();
      f.read_at(trailer.data(), trailer.size(), at, "trailer");
      const io::detail::Trailer t = io::detail::decode_trailer(trailer, at);
      if (t.file_size != row.size || t.index_checksum != row.index_checksum) {
        refuse(s.name, cat("shard ", r),
               "its trailer does not match the index: a shard of another checkpoint");
      }
      s.file = std::move(owned);
      return 0;
    });
    return *s.file;
  }

  // "Index", a piece when read: its record header, then elements [from, from + n) of it into
  // `dst`; verifying, the whole payload is hashed in kChunk steps.
  void read_piece(const Piece& p, uint64_t from, uint64_t n, std::byte* dst) {
    const io::detail::File& f = shard(p.shard);
    const TensorRow& t = index.tensors[p.tensor];
    const std::size_t es = dtype_size(t.dtype);
    naming(shards[p.shard].name, [&] {
      std::array<std::byte, io::detail::kMinRecordHeader> h{};
      f.read_at(h.data(), h.size(), p.offset, "tensor record header");
      io::detail::TensorEntry e;
      try {
        io::detail::decode_tensor_header(h, p.offset, e);
      } catch (const FormatError& err) {
        io::detail::rethrow_naming_file(err, shards[p.shard].name);
      }
      if (e.dtype != t.dtype || e.shape != Shape{static_cast<int64_t>(p.count)}) {
        refuse(shards[p.shard].name, cat("piece of '", t.path, "' at offset ", p.offset),
               cat("the record holds ", dtype_name(e.dtype), " ", shape_str(e.shape),
                   "; the index says ", dtype_name(t.dtype), " [", p.count, "]"));
      }
      const uint64_t payload = p.offset + h.size();
      if (!options.verify) {
        // Unverified too, as every reader of wick's: a bool tensor holding another byte is no
        // wrong value but undefined behaviour for whatever reads it as bool.
        f.read_at(dst, n * es, payload + from * es, "tensor payload");
        check_bools(p, dst, n * es, from);
        return 0;
      }
      verify_payload(f, p, payload, es, from, n, dst);
      return 0;
    });
  }

  // "Index", a piece when read: a bool piece's bytes [at, at + len), at `into`, are 0 or 1.
  void check_bools(const Piece& p, const std::byte* into, uint64_t len, uint64_t at) const {
    if (index.tensors[p.tensor].dtype != kBool) return;
    const std::size_t bad = io::detail::first_non_bool(into, len);
    if (bad < len) {
      refuse(shards[p.shard].name,
             cat("piece of '", index.tensors[p.tensor].path, "' at offset ", p.offset),
             cat("bool element ", at + bad, " is byte ", static_cast<unsigned>(into[bad]),
                 "; a bool is stored as 0 or 1"));
    }
  }

  void verify_payload(const io::detail::File& f, const Piece& p, uint64_t payload, std::size_t es,
                      uint64_t from, uint64_t n, std::byte* dst) {
    io::detail::Hasher hash;
    std::vector<std::byte> scratch;
    const uint64_t total = p.count * es, want_lo = from * es, want_hi = (from + n) * es;
    for (uint64_t at = 0; at < total; at += kChunk) {
      const uint64_t len = std::min<uint64_t>(kChunk, total - at);
      std::byte* into = nullptr;
      if (at >= want_lo && at + len <= want_hi) {
        into = dst + (at - want_lo);
      } else {
        scratch.resize(len);
        into = scratch.data();
      }
      f.read_at(into, len, payload + at, "tensor payload");
      hash.update(into, len);
      check_bools(p, into, len, at);
      if (into == scratch.data()) {
        const uint64_t lo = std::max(at, want_lo), hi = std::min(at + len, want_hi);
        if (lo < hi) std::memcpy(dst + (lo - want_lo), scratch.data() + (lo - at), hi - lo);
      }
    }
    if (hash.digest() != p.checksum) {
      refuse(shards[p.shard].name,
             cat("piece of '", index.tensors[p.tensor].path, "' at offset ", p.offset),
             cat("payload checksum ", io::detail::hex64(hash.digest()), ", the index says ",
                 io::detail::hex64(p.checksum)));
    }
  }

  // Calls fn(piece, lo, hi) for each piece of tensor `t` that holds elements [lo, hi) of `r`.
  template <class F>
  void for_overlapping(uint32_t t, ElementRange r, F&& fn) const {
    const TensorRow& row = index.tensors[t];
    const auto first = index.pieces.begin() + static_cast<std::ptrdiff_t>(row.first_piece);
    const auto last = first + row.piece_count;
    auto it = std::upper_bound(first, last, r.start,
                               [](uint64_t v, const Piece& p) { return v < p.start; });
    if (it != first) --it;
    for (; it != last && it->start < r.end(); ++it) {
      const uint64_t lo = std::max(it->start, r.start);
      const uint64_t hi = std::min(it->start + it->count, r.end());
      if (lo < hi) fn(*it, lo, hi);
    }
  }

  // Elements `r` of tensor `t` into `dst`, from the pieces that overlap them. The kernel is told
  // (POSIX_FADV_WILLNEED) of the records up to kReadAhead bytes past the one being read, so that
  // a cold shard's next pieces come off the disk while this one is copied and hashed.
  void read_range(uint32_t t, ElementRange r, std::byte* dst) {
    const std::size_t es = dtype_size(index.tensors[t].dtype);
    struct Part {
      const Piece* piece;
      uint64_t lo, hi;  // elements of the tensor
    };
    std::vector<Part> parts;
    for_overlapping(t, r, [&](const Piece& p, uint64_t lo, uint64_t hi) {
      parts.push_back({&p, lo, hi});
    });
    // Where a part's reads go in its shard, advised up to kReadAhead bytes of it (the reads
    // themselves then keep the kernel's own readahead going): from its record header, or
    // reading unverified from its first element, to its last element read (verifying, the
    // payload's end, since the whole payload is hashed).
    struct Span {
      uint64_t offset, size;
    };
    const auto span = [&](const Part& x) {
      const uint64_t payload = x.piece->offset + io::detail::kMinRecordHeader;
      const uint64_t from =
          options.verify ? x.piece->offset : payload + (x.lo - x.piece->start) * es;
      const uint64_t to = payload + (options.verify ? x.piece->count : x.hi - x.piece->start) * es;
      return Span{from, std::min(to - from, kReadAhead)};
    };
    std::size_t advised = 0;
    uint64_t ahead = 0;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      for (; advised < parts.size() && (advised <= i || ahead < kReadAhead); ++advised) {
        const Span next = span(parts[advised]);
        ::posix_fadvise(shard(parts[advised].piece->shard).fd(), static_cast<off_t>(next.offset),
                        static_cast<off_t>(next.size), POSIX_FADV_WILLNEED);  // a hint
        ahead += next.size;
      }
      const Part& part = parts[i];
      read_piece(*part.piece, part.lo - part.piece->start, part.hi - part.lo,
                 dst + (part.lo - r.start) * es);
      ahead -= span(part).size;
    }
  }

  uint32_t find(std::string_view path) const {
    if (const auto it = by_path.find(std::string(path)); it != by_path.end()) return it->second;
    std::optional<uint32_t> match;
    for (uint32_t i = 0; i < index.tensors.size() && path.find('/') == std::string_view::npos;
         ++i) {
      if (dotted(index.tensors[i].path) != path) continue;
      WICK_CHECK(!match, ArgumentError, "sharded checkpoint ", dir, ": '", path,
                 "' is ambiguous: '", index.tensors[*match].path, "' and '", index.tensors[i].path,
                 "'");
      match = i;
    }
    WICK_CHECK(match, ArgumentError, "sharded checkpoint ", dir, " has no tensor '", path, "' (",
               index.tensors.size(), " tensors; `wick info` lists them)");
    return *match;
  }

  // Elements `r` of tensor `t` into a fresh tensor of `shape`, its pages faulted in on a second
  // thread while the pieces are read (io/src/native/worker.h, as a single file's load does).
  // Every shard holding a piece of it is opened first, its real size checked against the
  // index's: the pieces' records are disjoint within those sizes, so what is allocated is
  // bounded by the checkpoint's bytes, whatever the index claims (FORMAT.md "Bounds").
  Tensor fill(uint32_t t, ElementRange r, const Shape& shape) {
    for_overlapping(t, r, [&](const Piece& p, uint64_t, uint64_t) { shard(p.shard); });
    Tensor out = empty(shape, index.tensors[t].dtype);
    auto* p = static_cast<std::byte*>(out.raw_data());
    const io::detail::DrainOnExit faulting_done(
        io::detail::prefault(&faulting, p, out.nbytes()) ? &faulting : nullptr);
    read_range(t, r, p);
    return out;
  }

  Tensor whole(uint32_t t) {
    const TensorRow& row = index.tensors[t];
    return fill(t, {0, row.numel}, row.shape);
  }

  Tensor part(uint32_t t, ElementRange r) {
    const TensorRow& row = index.tensors[t];
    WICK_CHECK(r.start <= row.numel && r.count <= row.numel - r.start, ArgumentError,
               "sharded checkpoint ", dir, ": elements [", r.start, ", ", r.start + r.count,
               ") are past the end of '", row.path, "' (", row.numel, " elements)");
    return fill(t, r, {static_cast<int64_t>(r.count)});
  }
};

ShardedReader::ShardedReader(const fs::path& dir, LoadOptions options)
    : impl_(std::make_unique<Impl>()) {
  WICK_CHECK(!options.mmap, ArgumentError, "load_sharded: ", dir,
             ": mmap is not offered for sharded checkpoints (tensors are assembled from pieces)");
  impl_->dir = dir;
  impl_->options = std::move(options);
  impl_->open_index();
}

ShardedReader::~ShardedReader() = default;

const ShardedInfo& ShardedReader::info() const noexcept {
  return impl_->info;
}

const Dict& ShardedReader::metadata() const noexcept {
  return impl_->index.metadata;
}

std::vector<ShardedEntry> ShardedReader::entries() const {
  std::vector<ShardedEntry> out;
  for (const TensorRow& t : impl_->index.tensors) {
    const uint32_t shard = t.piece_count ? impl_->index.pieces[t.first_piece].shard : 0;
    out.push_back({t.path, t.dtype, t.shape, t.numel * dtype_size(t.dtype), t.piece_count, shard});
  }
  return out;
}

Tensor ShardedReader::tensor(std::string_view path) {
  return impl_->whole(impl_->find(path));
}

Tensor ShardedReader::slice(std::string_view path, ElementRange range) {
  return impl_->part(impl_->find(path), range);
}

Value ShardedReader::value(const std::map<std::string, ElementRange>& slices) {
  for (const auto& [path, range] : slices) {
    WICK_CHECK(impl_->by_path.contains(path), ArgumentError, "load_sharded: ", impl_->dir,
               " has no tensor '", path, "' to slice");
  }
  return value_by([&](const ShardedEntry& e) -> std::optional<ElementRange> {
    const auto it = slices.find(e.path);
    return it == slices.end() ? std::nullopt : std::optional(it->second);
  });
}

Value ShardedReader::value_by(const SliceRule& rule) {
  Value out = impl_->index.state;
  const std::vector<ShardedEntry> all = entries();
  for (uint32_t i = 0; i < all.size(); ++i) {
    const std::optional<ElementRange> range = rule(all[i]);
    *find_node(out, all[i].path) = range ? impl_->part(i, *range) : impl_->whole(i);
  }
  return out;
}

void ShardedReader::verify() {
  Impl& d = *impl_;
  for (uint32_t r = 0; r < d.index.world_size; ++r) {
    d.shard(r);
    d.naming(d.shards[r].name, [&] {
      Reader shard(d.through_fd(shard_name(r, d.index.world_size)));
      shard.verify();
      const Value* rank = shard.metadata().find(std::string(kShardKey));
      const Value* world = shard.metadata().find(std::string(kWorldSizeKey));
      if (rank == nullptr || world == nullptr || !(*rank == Value(static_cast<int64_t>(r))) ||
          !(*world == Value(static_cast<int64_t>(d.index.world_size)))) {
        refuse(d.shards[r].name, cat("shard ", r),
               cat("its metadata does not name it shard ", r, " of ", d.index.world_size));
      }
      return 0;
    });
  }
  // Each piece's record header and payload checksum against the index; nothing is kept.
  const bool verifying = d.options.verify;
  d.options.verify = true;
  try {
    for (const Piece& p : d.index.pieces)
      d.read_piece(p, 0, 0, nullptr);
  } catch (...) {
    d.options.verify = verifying;
    throw;
  }
  d.options.verify = verifying;
}

Value load_sharded(const fs::path& dir, const LoadOptions& options) {
  return ShardedReader(dir, options).value();
}

bool is_sharded_checkpoint(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir, ec) && fs::exists(dir / kIndexName, ec);
}

}  // namespace wick::io
