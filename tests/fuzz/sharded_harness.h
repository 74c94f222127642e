#pragma once
// The sharded-checkpoint decode path (io/FORMAT.md "Sharded checkpoints") as the fuzzer
// drives it, shared with tests/io/test_fuzz_regressions.cpp and make_corpus.cpp.
//
// A fuzz input is a checkpoint directory packed into one byte string (the container below):
// libFuzzer mutates the index and each shard independently, and makes shards go missing or
// appear under another world size by adding, emptying or removing chunks. Every call of
// io::ShardedReader, and wick::load(dir), must either succeed or throw a kind its header
// documents (FormatError for bad bytes, IoError for a shard that is not there, ArgumentError
// for a slice past a tensor's end or a path the checkpoint lacks), naming a file of the
// directory, within the sharded bound (decode_bounds.h, measured against the bytes of all the
// files); anything else is a finding, and so is a broken cross-check between the calls.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_harness.h"
#include "wick/io/native/tree_path.h"
#include "wick/io/sharded/sharded_reader.h"
#include "wick/io/sharded/sharded_save.h"

namespace wick::fuzz {

// ---- the container --------------------------------------------------------------------------
//
// input := index (kFileSeparator shard)*
//
// The bytes before the first separator are `index.wick`; the k-th chunk after it (k = 0, 1,
// ...) is `shard-<k>-of-<N>.wick`, N being the number of chunks after the index, both numbers
// zero-padded to five digits as FORMAT.md names shards. An empty chunk stands for a file that
// is not there: an empty index chunk leaves the directory without index.wick, an empty shard
// chunk leaves that rank's shard missing. An index whose world_size is not N finds none of its
// shards under their names. A separator rather than length prefixes, so that a mutation inside
// one file never shifts the others, and the dictionary's copy of it splits or merges files.

/// Between the files of a packed checkpoint: no wick file holds it unless its keys or strings
/// do, and make_corpus refuses to pack one that does.
inline constexpr std::string_view kFileSeparator = "\n==wick-fuzz-next-file==\n";

/// A checkpoint directory's files: index.wick, then shard 0 .. N-1 (nullopt: not there).
struct CheckpointFiles {
  std::optional<std::string> index;
  std::vector<std::optional<std::string>> shards;
};

inline std::string shard_file_name(std::size_t rank, std::size_t world_size) {
  char name[64];
  std::snprintf(name, sizeof name, "shard-%05zu-of-%05zu.wick", rank, world_size);
  return name;
}

inline CheckpointFiles unpack_checkpoint(std::string_view bytes) {
  std::vector<std::string_view> chunks;
  for (std::size_t at = bytes.find(kFileSeparator); at != std::string_view::npos;
       at = bytes.find(kFileSeparator)) {
    chunks.push_back(bytes.substr(0, at));
    bytes.remove_prefix(at + kFileSeparator.size());
  }
  chunks.push_back(bytes);
  CheckpointFiles files;
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    std::optional<std::string> file;
    if (!chunks[i].empty()) file.emplace(chunks[i]);
    if (i == 0) {
      files.index = std::move(file);
    } else {
      files.shards.push_back(std::move(file));
    }
  }
  return files;
}

/// The container's bytes for `files`. std::invalid_argument when a file would not come back
/// as it is: an empty one (it would read as missing), or one holding the separator.
inline std::string pack_checkpoint(const CheckpointFiles& files) {
  std::string out;
  const auto add = [&](const std::optional<std::string>& file) {
    if (file && (file->empty() || file->find(kFileSeparator) != std::string::npos)) {
      throw std::invalid_argument("a file of the checkpoint is empty or holds the separator");
    }
    if (file) out.append(*file);
  };
  add(files.index);
  for (const std::optional<std::string>& shard : files.shards) {
    out.append(kFileSeparator);
    add(shard);
  }
  return out;
}

/// The files of the checkpoint directory `dir` as the container holds them: its shards are
/// named for one world size N (ranks below N without a file are missing). std::invalid_argument
/// when the directory holds anything else, or shards named for two world sizes.
inline CheckpointFiles read_checkpoint_dir(const std::filesystem::path& dir) {
  CheckpointFiles files;
  std::map<std::size_t, std::string> shards;
  std::optional<std::size_t> world;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name == "index.wick") {
      files.index = read_file(e.path());
      continue;
    }
    unsigned long rank = 0, n = 0;
    char tail = 0;
    if (std::sscanf(name.c_str(), "shard-%5lu-of-%5lu.wic%c", &rank, &n, &tail) != 3 ||
        tail != 'k' || name != shard_file_name(rank, n) || (world && *world != n) || rank >= n) {
      throw std::invalid_argument(wick::detail::cat(dir.string(), ": cannot pack ", name));
    }
    world = n;
    shards[rank] = read_file(e.path());
  }
  files.shards.resize(world.value_or(0));
  for (auto& [rank, bytes] : shards)
    files.shards[rank] = std::move(bytes);
  return files;
}

/// Empties `dir` and writes `files` into it; returns the bytes written (the bounds' file size).
inline uint64_t write_checkpoint(const CheckpointFiles& files, const std::filesystem::path& dir) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  uint64_t total = 0;
  const auto put = [&](const std::string& name, const std::optional<std::string>& bytes) {
    if (!bytes) return;
    write_file(dir / name, reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size());
    total += bytes->size();
  };
  put("index.wick", files.index);
  for (std::size_t r = 0; r < files.shards.size(); ++r)
    put(shard_file_name(r, files.shards.size()), files.shards[r]);
  return total;
}

/// A scratch directory for the sharded target, unique per process, beside scratch_path() and
/// removed with whatever is in it at exit. It holds `input/` (the checkpoint being read) and
/// `resave/` (the cross-check's save), and is emptied before every input.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::filesystem::path d = scratch_path();
    d.replace_extension(".sharded");
    remove_at_exit(d);
    return d;
  }();
  return dir;
}

// ---- the checks -----------------------------------------------------------------------------

namespace sharded_detail {

namespace fs = std::filesystem;
using wick::detail::cat;

/// One call's result: its value, or the error it threw (what() and whether an IoError).
template <class T>
struct Result {
  std::optional<T> value;
  std::string error;
  bool io = false;
  bool ok() const { return value.has_value(); }
};

/// The files a sharded reader may name in an error: index.wick and the shards of `world` (0
/// while the index is unread: then only index.wick).
inline void check_names_a_file(const Error& e, const fs::path& dir, uint32_t world,
                               const std::string& call) {
  const std::string& file = e.info().file;
  if (file == (dir / "index.wick").string()) return;
  for (uint32_t r = 0; r < world; ++r)
    if (file == (dir / shard_file_name(r, world)).string()) return;
  finding(cat("sharded: ", call, " threw an error naming '", file,
              "', no file of the checkpoint: ", e.what()));
}

/// Runs `call` as one bounded decode of the checkpoint's `total` bytes. FormatError and
/// IoError (a shard not there) are refusals, which must name a file of the checkpoint; every
/// other exception escapes, for libFuzzer to report.
template <class F>
auto attempt(const std::string& what, const fs::path& dir, uint64_t total, uint32_t world,
             F&& call) {
  Result<decltype(call())> r;
  try {
    r.value.emplace(bounded(what, total, bounds::kShardedBound, call));
  } catch (const FormatError& e) {
    check_names_a_file(e, dir, world, what);
    r.error = e.what();
  } catch (const IoError& e) {
    check_names_a_file(e, dir, world, what);
    r.error = e.what();
    r.io = true;
  }
  return r;
}

/// Calls `call` and requires an ArgumentError of it (a path the checkpoint lacks, a slice past
/// a tensor's end): checked before anything is read, so nothing else may come first.
template <class F>
void expect_argument_error(const std::string& what, F&& call) {
  try {
    call();
  } catch (const ArgumentError&) {
    return;
  } catch (const Error& e) {
    finding(cat("sharded: ", what, " threw '", e.what(), "', not an ArgumentError"));
  }
  finding(cat("sharded: ", what, " succeeded"));
}

inline int64_t as_size(uint64_t n) {
  return static_cast<int64_t>(n);
}

/// Elements [start, start + count) of `whole` in row-major order.
inline Tensor elements(const Tensor& whole, io::ElementRange r) {
  return whole.contiguous()
      .reshape({as_size(whole.numel())})
      .slice(0, as_size(r.start), as_size(r.end()));
}

/// The element ranges slice() is tried with on a tensor of `numel` elements: whole, empty at
/// both ends, and cut inside; and those past its end, which must be refused.
inline std::vector<io::ElementRange> in_range(uint64_t numel) {
  std::vector<io::ElementRange> out = {{0, numel}, {0, 0}, {numel, 0}};
  if (numel >= 2) out.push_back({numel / 3, numel - numel / 3 - numel / 4});
  if (numel >= 1) out.push_back({numel - 1, 1});
  return out;
}
inline std::vector<io::ElementRange> out_of_range(uint64_t numel) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  return {{numel, 1}, {numel + 1, 0}, {kMax, 1}, {1, kMax}, {kMax, 0}, {numel / 2, kMax - 3}};
}

/// The tensors slice() and value(slices) are tried on, of the first kMaxLookups.
inline constexpr std::size_t kMaxSliced = 8;

/// What one reader (verified or not) made of the checkpoint.
struct ReaderRun {
  bool opened = false;
  std::string open_error;
  io::ShardedInfo info;
  std::vector<io::ShardedEntry> entries;
  Dict metadata;
  Result<Value> value;
  Result<int> verify;
};

inline void check_info(const ReaderRun& run, const fs::path& dir) {
  const io::ShardedInfo& info = run.info;
  if (info.layout_version != 1) finding("sharded: opened an index of another layout version");
  if (info.world_size < 1 || info.world_size > 65536) finding("sharded: world_size out of range");
  if (info.tensor_count != run.entries.size()) finding("sharded: info() miscounts the tensors");
  if (info.index_size != fs::file_size(dir / "index.wick")) {
    finding("sharded: info().index_size is not index.wick's size");
  }
  // Every shard is at least the smallest wick file (192 bytes).
  if (info.total_size < info.index_size + uint64_t{192} * info.world_size) {
    finding("sharded: info().total_size is below the index and shards' least sizes");
  }
  uint64_t pieces = 0, payload = 0;
  std::set<std::string> paths;
  for (const io::ShardedEntry& e : run.entries) {
    uint64_t numel = 1;
    for (const int64_t d : e.shape)
      numel *= static_cast<uint64_t>(d);
    if (e.nbytes != numel * dtype_size(e.dtype)) finding("sharded: an entry's nbytes is wrong");
    if ((e.pieces == 0) != (numel == 0)) {
      finding("sharded: an entry with elements has no pieces, or an empty one has some");
    }
    if (e.first_shard >= info.world_size) finding("sharded: an entry's first shard is past N");
    if (!paths.insert(e.path).second) finding("sharded: two entries share a path");
    pieces += e.pieces;
    payload += e.nbytes;
  }
  if (pieces != info.piece_count) finding("sharded: info().piece_count is not the entries' sum");
  if (payload != info.payload_bytes) finding("sharded: info().payload_bytes is not the sum");
  if (run.metadata.find("wick.sharded") != nullptr) {
    finding("sharded: metadata() holds the layout key");
  }
}

/// The tensor at `path` of a loaded state, or a finding.
inline const Tensor& tensor_at(const Value& state, const std::string& path,
                               const io::ShardedEntry& e, const std::string& what) {
  const Value* node = io::find_node(state, path);
  if (node == nullptr || !node->is_tensor() || node->tensor().dtype() != e.dtype ||
      node->tensor().shape() != e.shape) {
    finding(cat("sharded: ", what, " holds no tensor of the entry's dtype and shape at ", path));
  }
  return node->tensor();
}

/// Open, info, metadata, entries; tensor() per entry, slices, value(), value(slices), verify()
/// through one reader, and the checks between them.
inline ReaderRun read_with(const fs::path& dir, uint64_t total, bool verify) {
  const std::string how = verify ? "verified" : "unverified";
  ReaderRun run;
  std::optional<io::ShardedReader> reader;
  const auto opened = attempt(cat("ShardedReader(", how, ") open, entries"), dir, total, 0, [&] {
    reader.emplace(dir, options(verify));
    run.entries = reader->entries();
    run.metadata = reader->metadata();
    return 0;
  });
  if (!opened.ok()) {
    if (opened.io) finding("sharded: opening with index.wick there gives an IoError");
    run.open_error = opened.error;
    return run;
  }
  run.opened = true;
  run.info = reader->info();
  check_info(run, dir);
  use(Value(run.metadata));
  const uint32_t world = run.info.world_size;
  const auto call = [&](const std::string& what, auto&& f) {
    return attempt(cat(what, " (", how, ")"), dir, total, world, f);
  };

  // tensor() per entry.
  const std::size_t lookups = std::min(run.entries.size(), kMaxLookups);
  std::vector<std::optional<Tensor>> tensors(lookups);
  bool refused = false;  // some tensor() refused
  for (std::size_t i = 0; i < lookups; ++i) {
    const io::ShardedEntry& e = run.entries[i];
    auto t = call("tensor(path)", [&] { return reader->tensor(e.path); });
    if (!t.ok()) {
      refused = true;
      continue;
    }
    if (t.value->dtype() != e.dtype || t.value->shape() != e.shape) {
      finding(cat("sharded: tensor(path) disagrees with entries() on ", e.path));
    }
    touch(*t.value);
    tensors[i] = std::move(t.value);
  }
  expect_argument_error("tensor() of a path the checkpoint lacks",
                        [&] { (void)reader->tensor("\x01 no such tensor"); });

  // slice(): in range it reads what tensor() reads or less, so it loads when the tensor does
  // and equals its elements; an empty range reads no shard and always loads; past the end is
  // an ArgumentError before anything is read.
  const std::size_t sliced = std::min(lookups, kMaxSliced);
  for (std::size_t i = 0; i < sliced; ++i) {
    const io::ShardedEntry& e = run.entries[i];
    const uint64_t numel = e.nbytes / dtype_size(e.dtype);
    for (const io::ElementRange r : in_range(numel)) {
      auto s = call("slice()", [&] { return reader->slice(e.path, r); });
      if (!s.ok()) {
        if (tensors[i]) finding("sharded: slice() refuses elements of a tensor that loads");
        if (r.count == 0) finding(cat("sharded: slice() refuses an empty range: ", s.error));
        continue;
      }
      if (s.value->dtype() != e.dtype || s.value->shape() != Shape{as_size(r.count)}) {
        finding("sharded: slice() returns the wrong dtype or shape");
      }
      touch(*s.value);
      if (tensors[i] && !bitwise_equal(*s.value, elements(*tensors[i], r))) {
        finding("sharded: slice() differs from the tensor's elements");
      }
    }
    for (const io::ElementRange r : out_of_range(numel)) {
      expect_argument_error(cat("slice() past the end of ", e.path),
                            [&] { (void)reader->slice(e.path, r); });
    }
  }

  // value(): every tensor whole, so it loads exactly when every tensor() does.
  run.value = call("value()", [&] { return reader->value(); });
  if (run.value.ok() && refused) finding("sharded: value() loads but a tensor() refuses");
  if (!run.value.ok() && !refused && lookups == run.entries.size()) {
    finding(cat("sharded: every tensor() loads but value() refuses: ", run.value.error));
  }
  if (run.value.ok()) {
    const Value& v = *run.value.value;
    use(v);
    std::size_t count = 0;
    for_each_tensor(v, [&](const Tensor&) { ++count; });
    if (count != run.entries.size()) finding("sharded: value() and entries() miscount");
    for (std::size_t i = 0; i < run.entries.size(); ++i) {
      const Tensor& t = tensor_at(v, run.entries[i].path, run.entries[i], "value()");
      if (i < lookups && !bitwise_equal(t, *tensors[i])) {
        finding(cat("sharded: value() and tensor(path) differ at ", run.entries[i].path));
      }
    }
  }

  // value(slices): the state with the sliced tensors replaced by their slices.
  std::map<std::string, io::ElementRange> ranges;
  for (std::size_t i = 0; i < sliced; ++i) {
    const uint64_t numel = run.entries[i].nbytes / dtype_size(run.entries[i].dtype);
    ranges[run.entries[i].path] = {numel / 4, numel / 2};
  }
  auto partial = call("value(slices)", [&] { return reader->value(ranges); });
  if (run.value.ok()) {
    if (!partial.ok()) finding("sharded: value() loads but value(slices) refuses");
    Value expected = *run.value.value;
    for (std::size_t i = 0; i < sliced; ++i) {
      const io::ShardedEntry& e = run.entries[i];
      *io::find_node(expected, e.path) = elements(*tensors[i], ranges[e.path]);
    }
    if (!(expected == *partial.value)) finding("sharded: value(slices) differs from the slices");
  }
  expect_argument_error("value(slices) of a path the checkpoint lacks", [&] {
    (void)reader->value({{"/\x01 no such tensor", {0, 0}}});
  });

  // verify(): whatever it finds, it leaves the reader's own verification as it was, so
  // value() then decides as before.
  run.verify = call("verify()", [&] {
    reader->verify();
    return 0;
  });
  auto again = call("value() after verify()", [&] { return reader->value(); });
  if (again.ok() != run.value.ok() || (again.ok() && !(*again.value == *run.value.value))) {
    finding("sharded: value() decides differently after verify()");
  }
  if (run.verify.ok()) {
    // verify() read every piece as a verified value() does, and every shard at its listed size.
    if (!run.value.ok())
      finding(cat("sharded: verify() passes but value() refuses: ", run.value.error));
    uint64_t bytes = fs::file_size(dir / "index.wick");
    for (uint32_t r = 0; r < world; ++r)
      bytes += fs::file_size(dir / shard_file_name(r, world));
    if (bytes != run.info.total_size) finding("sharded: verify() passes a shard of another size");
  }
  return run;
}

/// The value loaded from the checkpoint saved again (io::save_sharded, 1 to 3 writers, with
/// its metadata) must load back equal: what a reader accepts, the writer writes.
inline void check_resave(const Value& v, const Dict& metadata, std::size_t tensors) {
  const fs::path target = scratch_dir() / "resave";
  SaveOptions o;
  o.durable = false;  // tmpfs, and a fuzzer's files need not survive a power cut
  o.metadata = metadata;
  const int world = static_cast<int>(1 + tensors % 3);
  try {
    io::save_sharded(v, target, world, o);
  } catch (const ArgumentError&) {
    // The index's metadata may hold what SaveOptions::metadata does not take (a list, a
    // reserved key): then the state alone.
    o.metadata = Dict{};
    try {
      io::save_sharded(v, target, world, o);
    } catch (const ArgumentError& e) {
      finding(std::string("sharded: save_sharded refuses a sharded checkpoint's value: ") +
              e.what());
    }
  }
  io::ShardedReader back(target);
  if (!(back.value() == v)) finding("sharded: save_sharded(load(dir)) loads back different");
  if (!o.metadata.empty() && !(Value(back.metadata()) == Value(o.metadata))) {
    finding("sharded: save_sharded(load(dir)) loses the metadata");
  }
}

}  // namespace sharded_detail

/// The sharded checkpoint in `dir` (its files `total` bytes in all) through every reading call
/// of io::ShardedReader, verified and not, and wick::load(dir). Loaded when it verifies.
inline Outcome sharded_load(const std::filesystem::path& dir, uint64_t total) {
  using namespace sharded_detail;
  const bool has_index = fs::exists(dir / "index.wick");
  if (io::is_sharded_checkpoint(dir) != has_index) {
    finding("sharded: is_sharded_checkpoint() and index.wick's presence disagree");
  }
  if (!has_index) {
    // Not a sharded checkpoint: the reader cannot open it, and load(dir) reads the directory as
    // a file, which the operating system refuses.
    try {
      io::ShardedReader reader(dir);
      finding("sharded: a directory without index.wick opened");
    } catch (const IoError&) {
    }
    try {
      (void)load(dir);
      finding("sharded: load() of a directory without index.wick loaded");
    } catch (const IoError&) {
    } catch (const FormatError&) {
    }
    return Outcome::kRejected;
  }
  const ReaderRun verified = read_with(dir, total, true);
  const ReaderRun unverified = read_with(dir, total, false);
  // The index is read verified whatever the options: the open decides alike.
  if (verified.opened != unverified.opened || verified.open_error != unverified.open_error) {
    finding("sharded: a verified and an unverified open decide differently");
  }
  // wick::load(dir) is load_sharded(dir): the reader's value(), the same way.
  const uint32_t world = verified.info.world_size;
  for (const ReaderRun* run : {&verified, &unverified}) {
    const bool verify = run == &verified;
    const auto loaded = attempt(verify ? "load(dir, verified)" : "load(dir)", dir, total, world,
                                [&] { return load(dir, options(verify)); });
    const bool same = run->opened ? loaded.ok() == run->value.ok() &&
                                        (!loaded.ok() || *loaded.value == *run->value.value)
                                  : !loaded.ok();
    if (!same) finding("sharded: load(dir) and ShardedReader::value() differ");
  }
  expect_argument_error("load(dir, mmap)", [&] { (void)load(dir, options(true, true)); });
  if (!verified.opened) return Outcome::kRejected;
  // An unverified read checks the same records, only not the payloads' checksums and bools.
  if (verified.value.ok() &&
      (!unverified.value.ok() || !(*unverified.value.value == *verified.value.value))) {
    finding("sharded: a verified value() loads but an unverified one differs or refuses");
  }
  // verify() verifies whatever the reader's options: both readers find the same first fault.
  if (verified.verify.ok() != unverified.verify.ok() ||
      verified.verify.error != unverified.verify.error) {
    finding("sharded: verify() decides differently in a verified and an unverified reader");
  }
  if (verified.value.ok())
    check_resave(*verified.value.value, verified.metadata, verified.entries.size());
  return verified.verify.ok() ? Outcome::kLoaded : Outcome::kRejected;
}

/// The process's open file descriptors.
inline std::size_t open_descriptors() {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)e;
    ++n;
  }
  return n;
}

/// The index's value and metadata, read unverified, saved again: the same structure with every
/// checksum right. nullopt when an unverified read refuses it, or it comes out the same.
inline std::optional<std::string> resealed_index(const std::optional<std::string>& index) {
  if (!index) return std::nullopt;
  const std::filesystem::path probe = scratch_dir() / "index-probe.wick";
  write_file(probe, reinterpret_cast<const uint8_t*>(index->data()), index->size());
  std::ostringstream out;
  try {
    io::Reader reader(probe, options(false));
    SaveOptions o;
    o.metadata = reader.metadata();
    save(reader.value(), out, o);
  } catch (const Error&) {
    return std::nullopt;  // refused, or holds what save() does not take
  }
  if (out.str() == *index) return std::nullopt;
  return out.str();
}

/// One fuzz input: the container's bytes unpacked into scratch_dir()/input, then read. The
/// index is always read verified, so a mutation inside it is refused by its checksums before
/// any rule of the sharded layout is reached; the checkpoint is therefore read a second time
/// with the index resealed (resealed_index()) when an unverified read of it loads, which lets
/// the fuzzer reach every rule through the index's values (a row of `pieces` changed, a key
/// of the state renamed). Every reader is gone when sharded_load() returns, and so must be
/// every descriptor it opened: a leak per input is a crash after a thousand ("Too many open
/// files").
inline Outcome sharded_input(const uint8_t* data, std::size_t size) {
  const std::filesystem::path dir = scratch_dir() / "input";
  std::filesystem::remove_all(scratch_dir());
  CheckpointFiles files =
      unpack_checkpoint(std::string_view(reinterpret_cast<const char*>(data), size));
  const std::size_t before = open_descriptors();
  const Outcome outcome = sharded_load(dir, write_checkpoint(files, dir));
  if (std::optional<std::string> resealed = resealed_index(files.index)) {
    files.index = std::move(resealed);
    sharded_load(dir, write_checkpoint(files, dir));
  }
  if (open_descriptors() > before) finding("sharded: a file descriptor leaks");
  return outcome;
}

}  // namespace wick::fuzz
