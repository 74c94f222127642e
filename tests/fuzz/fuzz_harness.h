#pragma once
// The decode paths the fuzzers drive, shared with tests/io/test_fuzz_regressions.cpp so that a
// kept crash input replays through exactly the code that found it.
//
// The contract under test: any bytes either load or throw wick::FormatError, in memory and time
// bounded by the file (decode_bounds.h). Every other exception escapes (libFuzzer reports it as
// a crash), and a broken cross-check (a verified load that an unverified one refuses, two paths
// that disagree on a value) or a decode over its bound aborts via finding().

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "decode_bounds.h"
#include "wick/wick.h"

namespace wick::fuzz {

enum class Outcome { kLoaded, kRejected };

/// Reports a broken cross-check and aborts, so libFuzzer keeps the input.
[[noreturn]] inline void finding(const std::string& what) {
  std::fprintf(stderr, "wick fuzz finding: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

/// Visits every tensor of `v` in tree order (depth first, dict entries in order), the order of
/// Reader::entries().
inline void for_each_tensor(const Value& v, const std::function<void(const Tensor&)>& fn) {
  if (v.is_tensor()) {
    fn(v.tensor());
  } else if (v.is_list() || v.is_tuple()) {
    for (std::size_t i = 0; i < v.size(); ++i)
      for_each_tensor(v[i], fn);
  } else if (v.is_dict()) {
    for (const auto& [key, item] : v.dict())
      for_each_tensor(item, fn);
  }
}

/// Measures one decode (the lifetime of this object) of a file of `file_size` bytes against
/// `bound`, records the figures for the exit summary (decode_bounds.h), and reports a finding
/// when the decode took more memory or CPU time than the bound allows. The check runs when the
/// decode returns and when it throws: refusing a file is bounded as well as loading it.
class BoundedDecode {
 public:
  BoundedDecode(std::string what, uint64_t file_size, const bounds::DecodeBound& bound)
      : what_(std::move(what)), file_size_(file_size), bound_(bound) {
#ifdef WICK_DECODE_BOUNDS_HEAP_HOOKS
    if (!meter_.memory_available()) finding("cannot install the heap hooks that measure memory");
#endif
  }
  BoundedDecode(const BoundedDecode&) = delete;
  BoundedDecode& operator=(const BoundedDecode&) = delete;
  ~BoundedDecode() {
    const double seconds = meter_.cpu_seconds();
    const uint64_t growth = meter_.memory_growth();
    const bool measured = meter_.memory_available();
    bounds::BoundsLog::get().record(bound_, what_, file_size_, measured, growth, seconds);
    const bounds::Limits limits = bounds::limits_for(bound_, file_size_);
    const std::string file = "a " + std::to_string(file_size_) + "-byte file";
    if (measured && static_cast<double>(growth) > limits.memory) {
      finding("bound '" + std::string(bound_.name) + "' exceeded: " + what_ + " of " + file +
              " raised memory by " + std::to_string(growth) + " bytes; the bound allows " +
              std::to_string(static_cast<uint64_t>(limits.memory)) + " (" +
              std::to_string(bound_.mem_base >> 20) + " MiB + " +
              std::to_string(static_cast<int>(bound_.mem_per_byte)) + " per byte)");
    }
    if (seconds > limits.seconds) {
      finding("bound '" + std::string(bound_.name) + "' exceeded: " + what_ + " of " + file +
              " took " + std::to_string(seconds) + " CPU seconds; the bound allows " +
              std::to_string(limits.seconds));
    }
  }

 private:
  std::string what_;
  uint64_t file_size_;
  const bounds::DecodeBound& bound_;
  bounds::DecodeMeter meter_;
};

/// Runs `decode` as one BoundedDecode; returns what it returns, lets through what it throws.
template <class F>
decltype(auto) bounded(std::string what, uint64_t file_size, const bounds::DecodeBound& bound,
                       F&& decode) {
  const BoundedDecode measure(std::move(what), file_size, bound);
  return std::forward<F>(decode)();
}

/// The size of the file at `path` and the bound for its format (by its first bytes).
struct FileFacts {
  uint64_t size = 0;
  const bounds::DecodeBound* bound = &bounds::kNativeBound;
};
inline FileFacts file_facts(const std::filesystem::path& path) {
  FileFacts f;
  f.size = std::filesystem::file_size(path);
  std::ifstream in(path, std::ios::binary);
  char head[8] = {};
  in.read(head, sizeof head);
  f.bound = &bounds::bound_for(std::string_view(head, static_cast<std::size_t>(in.gcount())));
  return f;
}

// Where touch() leaves its sum, so the reads cannot be optimized away.
inline volatile unsigned touched_sum = 0;

/// Reads every byte of `t`: a loaded tensor must really own (or map) nbytes() bytes. A view
/// (format 2.1) is read element by element through contiguous().
inline void touch(const Tensor& view) {
  const Tensor t = view.contiguous();
  const auto* p = static_cast<const unsigned char*>(t.raw_data());
  unsigned sum = 0;
  for (std::size_t i = 0; i < t.nbytes(); ++i)
    sum += p[i];
  touched_sum = sum;
}

/// What a user does with a loaded value: read every tensor and print the whole tree. A tensor
/// under many paths is read once: a small file may reference one large view thousands of times.
inline void use(const Value& v) {
  std::set<std::tuple<const Storage*, int64_t, Shape, Shape>> seen;
  for_each_tensor(v, [&](const Tensor& t) {
    if (seen.emplace(t.storage().get(), t.offset(), t.shape(), t.strides()).second) touch(t);
  });
  std::ostringstream out;
  out << v;
}

/// Where one tensor of a value lies among those it shares a storage with (format 2.1).
struct Shared {
  std::size_t first;  // index (in tree order) of the first tensor on its storage and dtype
  int64_t offset;     // from the lowest offset of a tensor on that storage
  Shape strides;      // of the dimensions of size above 1 (0 for the others)
  bool operator==(const Shared&) const = default;
};

/// Which tensors of `v` share a storage, and how: two loads of one file must agree on it, and a
/// wick file's value saved and loaded back must keep it. Where a storage holds one layout only
/// (a tensor alone, or one tensor under several paths) only that identity counts: a writer
/// stores such a tensor compact, so its offset and strides may change.
inline std::vector<Shared> sharing(const Value& v) {
  std::vector<const Tensor*> tensors;
  for_each_tensor(v, [&](const Tensor& t) { tensors.push_back(&t); });
  const auto strides_of = [](const Tensor& t) {
    Shape strides = t.strides();
    for (std::size_t d = 0; d < strides.size(); ++d)
      if (t.shape()[d] == 1) strides[d] = 0;
    return strides;
  };
  struct Group {
    std::size_t first;
    int64_t lowest;
    bool layouts = false;  // more than one layout
  };
  std::map<std::pair<const Storage*, DType>, Group> groups;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = *tensors[i];
    auto [it, fresh] = groups.try_emplace({t.storage().get(), t.dtype()}, Group{i, t.offset()});
    Group& g = it->second;
    const Tensor& f = *tensors[g.first];
    g.lowest = std::min(g.lowest, t.offset());
    g.layouts |=
        f.offset() != t.offset() || f.shape() != t.shape() || strides_of(f) != strides_of(t);
  }
  std::vector<Shared> out;
  for (const Tensor* t : tensors) {
    const Group& g = groups.at({t->storage().get(), t->dtype()});
    if (!g.layouts) {
      out.push_back(Shared{g.first, 0, {}});
    } else {
      out.push_back(Shared{g.first, t->offset() - g.lowest, strides_of(*t)});
    }
  }
  return out;
}

/// A value that loaded with verification must save and load back equal. A value read from
/// another format may hold what a wick file cannot (a NUL in a key, {0: a, "0": b} from a .pt):
/// save() refuses it with an ArgumentError, which only a wick file's value must never meet.
inline void check_round_trip(const Value& v, bool from_wick = true) {
  std::ostringstream out;
  try {
    save(v, out);
  } catch (const ArgumentError& e) {
    if (from_wick) finding(std::string("save(load(x)) refuses a wick file's value: ") + e.what());
    return;
  }
  std::istringstream in(out.str());
  const Value back = load(in);
  if (!(back == v)) finding("save(load(x)) loads back different");
  // Foreign files may share in ways a wick file does not keep (an expanded view is a copy).
  if (from_wick && sharing(back) != sharing(v)) finding("save(load(x)) shares differently");
}

/// Removes `path` (a file, or a directory with everything in it) when the process exits.
inline void remove_at_exit(std::filesystem::path path) {
  // Never destroyed: the exit handler reads it after static destructors may have run.
  static std::vector<std::filesystem::path>* const paths = [] {
    auto* p = new std::vector<std::filesystem::path>;
    std::atexit([] {
      for (const std::filesystem::path& each : *paths) {
        std::error_code ec;
        std::filesystem::remove_all(each, ec);
      }
    });
    return p;
  }();
  paths->push_back(std::move(path));
}

/// A scratch file for the path-based targets, unique per process: in $WICK_FUZZ_SCRATCH_DIR
/// (scripts/fuzz.sh sets it, and removes it with whatever a crashed run left), else on tmpfs
/// when there is one. Removed at exit.
inline const std::filesystem::path& scratch_path() {
  static const std::filesystem::path path = [] {
    std::filesystem::path dir;
    if (const char* env = std::getenv("WICK_FUZZ_SCRATCH_DIR"); env != nullptr && *env != 0) {
      dir = env;
    } else {
      const std::filesystem::path shm = "/dev/shm";
      std::error_code ec;
      dir = std::filesystem::is_directory(shm, ec) && ::access(shm.c_str(), W_OK) == 0
                ? shm
                : std::filesystem::temp_directory_path();
    }
    std::filesystem::path p = dir / ("wick-fuzz-" + std::to_string(::getpid()) + ".wick");
    remove_at_exit(p);
    return p;
  }();
  return path;
}

/// Replaces the file at `path` (unlinked first, so a mapping of the old one stays valid).
inline void write_file(const std::filesystem::path& path, const uint8_t* data, std::size_t size) {
  std::filesystem::remove(path);
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out.flush()) finding("cannot write the scratch file " + path.string());
}

inline LoadOptions options(bool verify, bool mmap = false) {
  LoadOptions o;
  o.verify = verify;
  o.mmap = mmap;
  return o;
}

/// load(std::istream), which reads wick files only: the native bound, whatever the bytes are.
inline std::optional<Value> try_load(const std::string& bytes, bool verify) {
  try {
    std::istringstream in(bytes);
    return bounded(verify ? "load(stream, verified)" : "load(stream)", bytes.size(),
                   bounds::kNativeBound, [&] { return load(in, options(verify)); });
  } catch (const FormatError&) {
    return std::nullopt;
  }
}

inline std::optional<Value> try_load(const std::filesystem::path& path, bool verify) {
  const FileFacts f = file_facts(path);
  try {
    return bounded(verify ? "load(path, verified)" : "load(path)", f.size, *f.bound,
                   [&] { return load(path, options(verify)); });
  } catch (const FormatError&) {
    return std::nullopt;
  }
}

/// load(path) with LoadOptions::mmap: a wick file through a mapped Reader, safetensors and .npy
/// tensors as views of a mapping, the zip formats read.
inline std::optional<Value> try_load_mapped(const std::filesystem::path& path) {
  const FileFacts f = file_facts(path);
  try {
    return bounded("load(path, mmap)", f.size, *f.bound, [&] {
      LoadOptions o;
      o.mmap = true;
      return load(path, o);
    });
  } catch (const FormatError&) {
    return std::nullopt;
  }
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// load(path) also reads the formats it recognises by content; Reader reads only wick files.
inline bool has_wick_magic(const std::string& bytes) {
  return bytes.starts_with("\x89WICK\r\n\x1a");
}

/// Streamed load: load(std::istream) of the bytes, verified and not.
inline Outcome stream_load(const uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const std::optional<Value> verified = try_load(bytes, true);
  const std::optional<Value> unverified = try_load(bytes, false);
  if (unverified) use(*unverified);
  if (!verified) return Outcome::kRejected;
  if (!unverified) finding("stream: a verified load succeeds but an unverified one fails");
  if (!(*verified == *unverified) || sharing(*verified) != sharing(*unverified)) {
    finding("stream: verified and unverified loads differ");
  }
  use(*verified);
  check_round_trip(*verified);
  return Outcome::kLoaded;
}

/// Whole load: load(path), verified and not. It also reads the other formats load() detects by
/// content (PyTorch, safetensors, NumPy); a wick file must load as the streamed load does.
inline Outcome path_load(const std::filesystem::path& path) {
  const std::optional<Value> verified = try_load(path, true);
  const std::optional<Value> unverified = try_load(path, false);
  if (unverified) use(*unverified);
  // A mapped load decides as a read one does, and yields the same values.
  const std::optional<Value> mapped = try_load_mapped(path);
  if (mapped.has_value() != verified.has_value()) {
    finding("path: a mapped load and a read one disagree on the file");
  }
  if (mapped && verified && !(*mapped == *verified)) {
    finding("path: a mapped load and a read one differ");
  }
  if (!verified) return Outcome::kRejected;
  if (!unverified) finding("path: a verified load succeeds but an unverified one fails");
  if (!(*verified == *unverified) || sharing(*verified) != sharing(*unverified)) {
    finding("path: verified and unverified loads differ");
  }
  use(*verified);
  const std::string bytes = read_file(path);
  check_round_trip(*verified, has_wick_magic(bytes));
  if (has_wick_magic(bytes)) {
    const std::optional<Value> streamed = try_load(bytes, true);
    if (!streamed || !(*streamed == *verified) || sharing(*streamed) != sharing(*verified)) {
      finding("path: load(path) and load(stream) differ");
    }
  }
  return Outcome::kLoaded;
}

/// mmap open: Reader with mmap, verified and not: info, metadata, entries, value, verify. Each
/// step is one bounded decode.
inline Outcome mmap_open(const std::filesystem::path& path) {
  const FileFacts f = file_facts(path);
  std::optional<Value> results[2];
  for (const bool verify : {true, false}) {
    const std::string how = verify ? ", verified" : "";
    try {
      std::optional<io::Reader> reader;
      std::vector<io::EntryInfo> entries;
      Dict metadata;
      bounded("Reader(mmap" + how + ") open, entries, metadata", f.size, *f.bound, [&] {
        reader.emplace(path, options(verify, true));
        entries = reader->entries();
        metadata = reader->metadata();
      });
      const io::FileInfo& info = reader->info();
      std::ostringstream meta;
      meta << Value(metadata);
      for (const io::EntryInfo& e : entries) {
        if (e.id >= info.tensor_count) finding("mmap: an entry's id is past the tensor count");
      }
      Value v = bounded("Reader(mmap" + how + ")::value()", f.size, *f.bound,
                        [&] { return reader->value(); });
      use(v);
      std::size_t n = 0;
      for_each_tensor(v, [&](const Tensor& t) {
        if (n >= entries.size() || t.dtype() != entries[n].dtype || t.shape() != entries[n].shape) {
          finding("mmap: value() disagrees with entries()");
        }
        ++n;
      });
      if (n != entries.size()) finding("mmap: value() has fewer tensors than entries()");
      if (verify) {
        try {
          bounded("Reader(mmap, verified)::verify()", f.size, *f.bound, [&] { reader->verify(); });
        } catch (const FormatError& e) {
          finding(std::string("mmap: value() verified the file but verify() refuses: ") + e.what());
        }
      }
      results[verify ? 0 : 1] = std::move(v);
    } catch (const FormatError&) {
    }
  }
  if (!results[0]) return Outcome::kRejected;
  if (!results[1]) finding("mmap: a verified open succeeds but an unverified one fails");
  if (!(*results[0] == *results[1]) || sharing(*results[0]) != sharing(*results[1])) {
    finding("mmap: verified and unverified values differ");
  }
  const std::optional<Value> loaded = try_load(path, true);
  if (!loaded || !(*loaded == *results[0]) || sharing(*loaded) != sharing(*results[0])) {
    finding("mmap: Reader::value() and load(path) differ");
  }
  return Outcome::kLoaded;
}

inline constexpr std::size_t kMaxLookups = 64;

/// Load by name: Reader::tensor() for every entry, with every verify/mmap combination, each
/// cross-checked against Reader::tensor_by_id(). When the whole file loads, each tensor must
/// equal the first tensor at its path in the loaded value. Opening the file and each lookup are
/// bounded decodes.
inline Outcome load_by_name(const std::filesystem::path& path) {
  const FileFacts f = file_facts(path);
  const std::optional<Value> whole =
      has_wick_magic(read_file(path)) ? try_load(path, true) : std::nullopt;
  std::vector<Tensor> in_order;
  if (whole) for_each_tensor(*whole, [&](const Tensor& t) { in_order.push_back(t); });
  bool all_loaded = true;
  for (const bool verify : {true, false}) {
    for (const bool mmap : {false, true}) {
      const std::string how = std::string(mmap ? "mmap" : "read") + (verify ? ", verified" : "");
      try {
        std::optional<io::Reader> reader;
        std::vector<io::EntryInfo> entries;
        bounded("Reader(" + how + ") open, entries", f.size, *f.bound, [&] {
          reader.emplace(path, options(verify, mmap));
          entries = reader->entries();
        });
        if (whole && entries.size() != in_order.size()) finding("by name: entries() miscounts");
        // A file of thousands of tied entries would make the fuzzer time out on a loop of this
        // harness's own (each lookup below compares its path with every earlier one, and a
        // path may be as long as the file); the first ones exercise every branch.
        const std::size_t lookups = std::min<std::size_t>(entries.size(), kMaxLookups);
        std::vector<std::string> names;
        for (std::size_t i = 0; i < lookups; ++i)
          names.push_back(entries[i].path.str());
        for (std::size_t i = 0; i < lookups; ++i) {
          const std::size_t first = static_cast<std::size_t>(
              std::find(names.begin(), names.end(), names[i]) - names.begin());
          const std::string& name = names[i];
          std::optional<Tensor> by_name;
          try {
            by_name = bounded("Reader(" + how + ")::tensor(path)", f.size, *f.bound,
                              [&] { return reader->tensor(name); });
          } catch (const FormatError&) {
            if (whole) finding("by name: refuses a tensor of a file that loads");
            all_loaded = false;
          }
          std::optional<Tensor> by_id;
          bool bool_outside_view = false;
          try {
            by_id = bounded("Reader(" + how + ")::tensor_by_id()", f.size, *f.bound,
                            [&] { return reader->tensor_by_id(entries[first].id); });
          } catch (const FormatError& e) {
            // Unverified, a view reads only the elements it reaches: a bad bool byte elsewhere
            // in its record refuses the record alone.
            bool_outside_view =
                entries[first].view && !verify && e.info().structure.starts_with("bool tensor");
            if (by_name && !bool_outside_view) {
              finding("by name: tensor(path) loads but tensor_by_id() refuses");
            }
          }
          if (!by_name) {
            if (by_id) finding("by name: tensor_by_id() loads but tensor(path) refuses");
            continue;
          }
          touch(*by_name);
          if (by_name->dtype() != entries[first].dtype ||
              by_name->shape() != entries[first].shape) {
            finding("by name: tensor() disagrees with entries()");
          }
          if (by_id && entries[first].view) {  // tensor_by_id() loads the view's record
            const io::EntryInfo::View& view = *entries[first].view;
            by_id = Tensor(by_id->storage(), entries[first].shape, view.strides,
                           by_id->offset() + static_cast<int64_t>(view.offset), by_id->dtype());
          }
          if (by_id ? !bitwise_equal(*by_name, *by_id) : !bool_outside_view) {
            finding("by name: tensor(path) and tensor_by_id() differ");
          }
          if (whole && !bitwise_equal(*by_name, in_order[first])) {
            finding("by name: tensor() differs from the whole load");
          }
        }
        try {
          (void)reader->tensor(std::string_view("\x01 no such tensor"));
          finding("by name: a missing path loaded");
        } catch (const ArgumentError&) {
        }
        if (const uint64_t count = reader->info().tensor_count; count <= UINT32_MAX) {
          try {
            (void)reader->tensor_by_id(static_cast<uint32_t>(count));
            finding("by name: a tensor id past the tensor count loaded");
          } catch (const ArgumentError&) {
          }
        }
      } catch (const FormatError&) {
        if (whole) finding("by name: Reader refuses a file that loads");
        all_loaded = false;
      }
    }
  }
  return whole && all_loaded ? Outcome::kLoaded : Outcome::kRejected;
}

}  // namespace wick::fuzz
