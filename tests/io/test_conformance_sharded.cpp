// The sharded conformance corpus, tests/conformance/sharded/ (README in tests/conformance/):
// checkpoint directories both implementations (io::ShardedReader here, python/wick/sharded.py
// there) must read alike. A valid directory loads to the plain form beside it, verified or not,
// and verifies; an invalid one is refused by every way of reading it with the exception kind,
// the structure and the file the corpus pins (io/FORMAT.md "Sharded checkpoints", "Rules a
// reader enforces": one fault per directory).
//
// Regenerate (one line; it empties tests/conformance/sharded first):
//   WICK_UPDATE_CONFORMANCE=1 <build>/tests/wick_io_tests --gtest_filter='ConformanceSharded.*'
// The generator writes what this reader reports, after checking it is the structure the
// generator expects for the fault it made; the runner then holds the reader to the files.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "conformance_testing.h"
#include "io_testing.h"
#include "wick/io/native/checksum.h"
#include "wick/wick.h"

namespace wick {
namespace {

using conformance::json;
namespace fs = std::filesystem;

fs::path sharded_corpus() {
  return conformance::corpus_dir() / "sharded";
}

std::string shard_file(int rank, int world) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "shard-%05d-of-%05d.wick", rank, world);
  return buf;
}

// A tensor of dtype `d` holding exactly the bytes of `v`.
template <class T>
Tensor raw(DType d, Shape shape, const std::vector<T>& v) {
  auto storage = Storage::allocate(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(storage->data(), v.data(), v.size() * sizeof(T));
  Shape strides(shape.size());
  int64_t s = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= shape[i];
  }
  return Tensor(storage, std::move(shape), std::move(strides), 0, d);
}

template <class T>
Tensor raw1(DType d, const std::vector<T>& v) {
  return raw(d, {static_cast<int64_t>(v.size())}, v);
}

// ---------------------------------------------------------------------------------------------
// Outcomes: what one way of reading a directory gives. null when it reads; otherwise the
// exception kind ("format" or "io"), the structure (null for "io": an operating-system error
// names no structure) and the base name of the file the refusal names.

json outcome(const std::function<void()>& fn) {
  try {
    fn();
    return nullptr;
  } catch (const FormatError& e) {
    return {{"kind", "format"},
            {"structure", e.info().structure},
            {"file", fs::path(e.info().file).filename().string()},
            {"detail", e.info().detail}};
  } catch (const IoError& e) {
    return {{"kind", "io"},
            {"structure", nullptr},
            {"file", fs::path(e.info().file).filename().string()},
            {"detail", e.what()}};
  }
}

// Every way of reading the directory the corpus pins.
json outcomes(const fs::path& dir) {
  return {{"open", outcome([&] { io::ShardedReader r(dir); })},
          {"load", outcome([&] { io::load_sharded(dir); })},
          {"load_unverified",
           outcome([&] { io::load_sharded(dir, testing::read_options(false, false)); })},
          {"verify", outcome([&] { io::ShardedReader(dir).verify(); })}};
}

// The outcome without its detail (for people, not compared).
json compared(json o) {
  if (o.is_object()) o.erase("detail");
  return o;
}

// ---------------------------------------------------------------------------------------------
// The valid states.

Value dtypes_state() {
  using I64 = std::numeric_limits<int64_t>;
  return Dict{
      {"bool", raw1<uint8_t>(kBool, {1, 0, 0, 1, 1})},
      {"uint8", raw1<uint8_t>(kUInt8, {0, 1, 127, 128, 255})},
      {"int8", raw1<int8_t>(kInt8, {-128, -1, 0, 1, 127})},
      {"int16", raw(kInt16, {2, 2}, std::vector<int16_t>{-32768, -1, 1, 32767})},
      {"int32", raw1<int32_t>(kInt32, {std::numeric_limits<int32_t>::min(), 0, 7})},
      {"int64", raw1<int64_t>(kInt64, {I64::min(), -1, 0, I64::max()})},
      {"float16", raw1<uint16_t>(kFloat16, {0x0000, 0x8000, 0x3c00, 0x7c00, 0x7d01, 0x0001})},
      {"bfloat16", raw1<uint16_t>(kBFloat16, {0x0000, 0x8000, 0x3f80, 0xff80, 0x7f81, 0x007f})},
      {"float32", raw(kFloat32, {2, 3},
                      std::vector<uint32_t>{0x00000000, 0x80000000, 0x3f800000, 0x7f800000,
                                            0x7fa00001, 0x00000001})},
      {"float64", raw1<uint64_t>(kFloat64, {0x8000000000000000, 0x7ff4000000000001,
                                            0x000fffffffffffff, 0x3ff0000000000000})},
  };
}

// Nested dicts (string and int keys), lists, tuples, scalars and nones around tensors; an empty
// and a 0-d tensor among them.
Value nested_state() {
  Dict per_param;
  per_param.insert(0, Dict{{"step", Value(int64_t{5})},
                           {"exp_avg", arange(0, 15, 1, kFloat32).reshape({3, 5})}});
  per_param.insert(-1, Dict{{"step", Value()}, {"exp_avg", empty({0, 3}, kFloat64)}});
  List layers;
  for (int i = 0; i < 2; ++i) {
    layers.push_back(Dict{{"w", arange(i, i + 12, 1, kFloat32).reshape({4, 3})},
                          {"b", arange(0, 4, 1, kBFloat16)}});
  }
  Dict model;
  model.insert("layers", layers);
  model.insert("", full({2}, 1.5, kFloat64));
  model.insert("a/b~c", arange(0, 3, 1, kInt64));
  return Dict{
      {"model", model},
      {"optimizer", Dict{{"state", per_param},
                         {"param_groups", List{Dict{{"betas", Tuple{Value(0.9), Value(0.999)}},
                                                    {"lr", Value(1e-3)},
                                                    {"name", Value("adam")},
                                                    {"nesterov", Value(false)}}}}}},
      {"pair", Tuple{arange(0, 4, 1, kInt8), Tuple{full({}, 2.5f), Value(), Value("x")}}},
      {"epoch", Value(int64_t{3})},
      {"empty_list", List{}},
      {"empty_dict", Dict{}},
  };
}

// ---------------------------------------------------------------------------------------------
// Editing a checkpoint: its index root and metadata, rewritten with wick::save; shard bytes.

struct Index {
  Dict root;
  Dict metadata;
};

Index read_index(const fs::path& dir) {
  io::Reader r(dir / "index.wick");
  Index out{r.value().dict(), r.metadata()};
  // Tables as fresh tensors: changes must not reach anything else.
  out.root.at("shards") = out.root.at("shards").tensor().clone();
  out.root.at("pieces") = out.root.at("pieces").tensor().clone();
  return out;
}

void write_index(const fs::path& dir, const Value& root, const Dict& metadata) {
  SaveOptions o;
  o.metadata = metadata;
  o.durable = false;
  save(root, dir / "index.wick", o);
}

void write_index(const fs::path& dir, const Index& i) {
  write_index(dir, Value(i.root), i.metadata);
}

int64_t& cell(Index& i, const char* table, int64_t row, int64_t column) {
  Tensor& t = i.root.at(table).tensor();
  return t.data<int64_t>()[row * t.size(1) + column];
}

enum Col : int64_t { kTensor, kShard, kStart, kCount, kOffset, kChecksum };

std::string bytes_of(const fs::path& p) {
  return conformance::read_file(p);
}

void flip(const fs::path& p, uint64_t at, uint8_t bits = 0x10) {
  std::string b = bytes_of(p);
  b.at(at) = static_cast<char>(static_cast<uint8_t>(b.at(at)) ^ bits);
  conformance::write_file(p, b);
}

uint64_t trailer_index_checksum(const fs::path& shard) {
  const std::string b = bytes_of(shard);
  uint64_t v = 0;
  std::memcpy(&v, b.data() + b.size() - 64 + 16, 8);
  return v;
}

// ---------------------------------------------------------------------------------------------
// The generator.

void write_valid(const std::string& name, const fs::path& dir, int world) {
  io::ShardedReader r(dir);
  const Value v = r.value();
  conformance::Plain plain = conformance::to_plain(v, r.metadata(), 0, 0);
  plain.doc.erase("version");
  plain.doc["world_size"] = world;
  const fs::path json_dir = sharded_corpus() / "valid";
  if (!plain.bin.empty()) {
    plain.doc["bin"] = name + ".bin";
    conformance::write_file(json_dir / (name + ".bin"), plain.bin);
  }
  conformance::write_file(json_dir / (name + ".json"), plain.doc.dump(1) + "\n");
}

// The ZeRO case: a replicated weight and two optimizer moments every writer holds a slice of
// (io::even_range, so the last writer's slice of the small one is empty).
void save_zero(const fs::path& dir, int world) {
  const Tensor moment = arange(0, 30, 1, kFloat32).reshape({2, 3, 5});
  const Tensor small = arange(0, 2, 1, kInt64);
  const Tensor weight = arange(0, 12, 1, kFloat16).reshape({3, 4});
  io::ShardedCommit commit(dir);
  std::vector<io::ShardReport> reports;
  io::ShardedState rank0;
  SaveOptions o;
  o.durable = false;
  for (int r = 0; r < world; ++r) {
    const io::ElementRange m = io::even_range(30, r, world);
    const io::ElementRange s = io::even_range(2, r, world);
    io::ShardedState st;
    st.value =
        Dict{{"weight", weight},
             {"step", Value(int64_t{10})},
             {"exp_avg", moment.reshape({30})
                             .slice(0, static_cast<int64_t>(m.start), static_cast<int64_t>(m.end()))
                             .contiguous()},
             {"count", small.slice(0, static_cast<int64_t>(s.start), static_cast<int64_t>(s.end()))
                           .contiguous()}};
    st.slices["/exp_avg"] = io::ShardSlice{{2, 3, 5}, m.start};
    st.slices["/count"] = io::ShardSlice{{2}, s.start};
    reports.push_back(io::write_shard(st, commit.staging(), r, world, o));
    if (r == 0) rank0 = st;
  }
  commit.commit(rank0, reports, o);
}

// A shard rewritten by hand: its root a list (not a dict of pieces) holding a record no piece
// lists before the pieces. The spec checks neither the root's keys nor unlisted records.
void rewrite_shard_as_list(const fs::path& dir) {
  const fs::path shard = dir / shard_file(0, 1);
  io::Reader old(shard);
  Index idx = read_index(dir);
  List items{Value(arange(100, 108, 1, kInt32))};  // unlisted
  for (const io::EntryInfo& e : old.entries())
    items.push_back(old.tensor(e.path.str()).clone());
  SaveOptions o;
  o.metadata = old.metadata();
  o.durable = false;
  save(Value(items), shard, o);
  io::Reader fresh(shard);
  const std::vector<io::EntryInfo> entries = fresh.entries();
  const Tensor& pieces = idx.root.at("pieces").tensor();
  for (int64_t p = 0; p < pieces.size(0); ++p) {
    // Piece p was record p of the old shard (save_sharded writes them in piece order).
    const uint64_t old_offset = static_cast<uint64_t>(cell(idx, "pieces", p, kOffset));
    std::size_t k = 0;
    while (old.entries()[k].offset != old_offset)
      ++k;
    cell(idx, "pieces", p, kOffset) = static_cast<int64_t>(entries[k + 1].offset);
  }
  cell(idx, "shards", 0, 0) = static_cast<int64_t>(fs::file_size(shard));
  cell(idx, "shards", 0, 1) = static_cast<int64_t>(trailer_index_checksum(shard));
  write_index(dir, idx);
}

void generate_valid() {
  const fs::path out = sharded_corpus() / "valid";
  fs::create_directories(out);
  SaveOptions plain;
  plain.durable = false;
  SaveOptions with_meta = plain;
  with_meta.metadata = Dict{{"run", Value("a/b")}, {"epoch", Value(int64_t{3})}};
  io::save_sharded(nested_state(), out / "world1_nested", 1, with_meta);
  write_valid("world1_nested", out / "world1_nested", 1);
  io::save_sharded(dtypes_state(), out / "world2_dtypes", 2, plain);
  write_valid("world2_dtypes", out / "world2_dtypes", 2);
  io::save_sharded(nested_state(), out / "world3_nested", 3, plain);
  write_valid("world3_nested", out / "world3_nested", 3);
  save_zero(out / "world3_zero_slices", 3);
  write_valid("world3_zero_slices", out / "world3_zero_slices", 3);
  io::save_sharded(arange(0, 6, 1, kInt16).reshape({2, 3}), out / "world2_root_tensor", 2, plain);
  write_valid("world2_root_tensor", out / "world2_root_tensor", 2);
  io::save_sharded(Dict{{"epoch", Value(int64_t{1})}, {"none", Value()}, {"e", empty({0})}},
                   out / "world2_no_pieces", 2, plain);
  write_valid("world2_no_pieces", out / "world2_no_pieces", 2);
  io::save_sharded(Dict{{"a", arange(0, 3, 1, kFloat32)}, {"b", arange(0, 2, 1, kInt8)}},
                   out / "world1_shard_root_list", 1, plain);
  rewrite_shard_as_list(out / "world1_shard_root_list");
  write_valid("world1_shard_root_list", out / "world1_shard_root_list", 1);
}

// The base of the invalid cases: two shards; pieces (index order) 0: /w [0,6) shard 0,
// 1: /opt/0 [0,2) shard 0, 2: /opt/0 [2,5) shard 1, 3: /opt/t/0 shard 1, 4: /flags shard 1.
Value base_state(int32_t t0 = 0) {
  return Dict{{"w", arange(0, 6, 1, kFloat32)},
              {"step", Value(int64_t{3})},
              {"opt", Dict{{Key(0), Value(arange(0, 5, 1, kInt16))},
                           {"t", Tuple{arange(t0, t0 + 4, 1, kInt32)}}}},
              {"flags", raw1<uint8_t>(kBool, {1, 0, 1, 1, 0})}};
}

struct Invalid {
  std::string name;
  std::string fault;  // for people
  std::function<void(const fs::path&)> make;
  std::string structure;  // what the generator expects the first refusal to name
  std::string file;       // ... and in which file
};

// The record of piece `p` in its shard (offset, shard path).
std::pair<uint64_t, fs::path> record_of(const fs::path& dir, int64_t p) {
  Index i = read_index(dir);
  return {static_cast<uint64_t>(cell(i, "pieces", p, kOffset)),
          dir / shard_file(static_cast<int>(cell(i, "pieces", p, kShard)), 2)};
}

std::vector<Invalid> invalid_cases() {
  const std::string index = "index.wick", s0 = shard_file(0, 2), s1 = shard_file(1, 2);
  const auto edit = [](std::function<void(Index&)> f) {
    return [f](const fs::path& dir) {
      Index i = read_index(dir);
      f(i);
      write_index(dir, i);
    };
  };
  const auto tensors = [](Index& i) -> List& { return i.root.at("tensors").list(); };
  std::vector<Invalid> v;
  // The index loads (verified whatever the options).
  v.push_back({"index_damaged", "a byte of index.wick's first payload flipped",
               [](const fs::path& d) { flip(d / "index.wick", 64 + 64 + 3); }, "", index});
  // wick.sharded.
  v.push_back({"layout_newer", "wick.sharded is 2", edit([](Index& i) {
                 i.metadata.insert_or_assign("wick.sharded", Value(int64_t{2}));
               }),
               "sharded index", index});
  v.push_back({"layout_bool", "wick.sharded is true (a bool is not an int)",
               edit([](Index& i) { i.metadata.insert_or_assign("wick.sharded", Value(true)); }),
               "sharded index", index});
  v.push_back({"layout_zero", "wick.sharded is 0", edit([](Index& i) {
                 i.metadata.insert_or_assign("wick.sharded", Value(int64_t{0}));
               }),
               "sharded index", index});
  // The root.
  v.push_back({"root_key_order", "the root's keys state and shards swapped",
               [](const fs::path& d) {
                 Index i = read_index(d);
                 Dict r;
                 for (const char* k : {"world_size", "state", "shards", "tensors", "pieces"})
                   r.insert(k, i.root.at(k));
                 write_index(d, Value(r), i.metadata);
               },
               "sharded index", index});
  v.push_back({"world_size_zero", "world_size is 0",
               edit([](Index& i) { i.root.at("world_size") = Value(int64_t{0}); }), "world_size",
               index});
  v.push_back({"shards_int32", "shards is an int32 tensor", edit([](Index& i) {
                 i.root.at("shards") = i.root.at("shards").tensor().to(kInt32);
               }),
               "shards", index});
  // Shard sizes.
  v.push_back({"shard_size_not_multiple_of_64", "shards[1] size one more",
               edit([](Index& i) { cell(i, "shards", 1, 0) += 1; }), "shard 1", index});
  v.push_back({"shard_size_below_192", "shards[0] size 128",
               edit([](Index& i) { cell(i, "shards", 0, 0) = 128; }), "shard 0", index});
  // State.
  v.push_back({"state_holds_tensor", "state /w is a tensor, not none",
               edit([](Index& i) { i.root.at("state").dict().at("w") = Value(full({1}, 1.0f)); }),
               "state", index});
  // Tensors.
  v.push_back({"tensors_tuple", "tensors is a tuple", edit([=](Index& i) {
                 const List& l = tensors(i);
                 i.root.at("tensors") = Value(Tuple(std::vector<Value>(l.begin(), l.end())));
               }),
               "tensors", index});
  v.push_back({"tensor_path_bad_escape", "tensors[0] path '/w~2'",
               edit([=](Index& i) { tensors(i)[0][0] = Value("/w~2"); }), "tensors[0]", index});
  v.push_back({"tensor_path_not_none", "tensors[0] path names the int /step",
               edit([=](Index& i) { tensors(i)[0][0] = Value("/step"); }), "tensors[0]", index});
  v.push_back({"tensor_path_twice", "tensors[3] names /w as tensors[0] does",
               edit([=](Index& i) { tensors(i)[3][0] = Value("/w"); }), "tensors[3]", index});
  v.push_back({"tensor_dtype_unknown", "tensors[1] dtype code 42",
               edit([=](Index& i) { tensors(i)[1][1] = Value(int64_t{42}); }), "tensors[1]",
               index});
  v.push_back({"tensor_shape_over_2_62", "tensors[0] shape [2^40, 2^40]", edit([=](Index& i) {
                 tensors(i)[0][2] = List{Value(int64_t{1} << 40), Value(int64_t{1} << 40)};
               }),
               "tensors[0]", index});
  // Pieces.
  v.push_back({"pieces_float64", "pieces is a float64 tensor", edit([](Index& i) {
                 i.root.at("pieces") = i.root.at("pieces").tensor().to(kFloat64);
               }),
               "pieces", index});
  v.push_back({"piece_gap", "pieces[2] starts one element late",
               edit([](Index& i) { cell(i, "pieces", 2, kStart) += 1; }), "pieces[2]", index});
  v.push_back({"piece_unsorted", "pieces[3] and pieces[4] (two tensors) swapped",
               edit([](Index& i) {
                 for (int64_t c = 0; c < 6; ++c)
                   std::swap(cell(i, "pieces", 3, c), cell(i, "pieces", 4, c));
               }),
               "pieces[4]", index});
  v.push_back({"piece_count_zero", "pieces[1] count 0",
               edit([](Index& i) { cell(i, "pieces", 1, kCount) = 0; }), "pieces[1]", index});
  v.push_back({"piece_shard_out_of_range", "pieces[0] shard 2 of 2",
               edit([](Index& i) { cell(i, "pieces", 0, kShard) = 2; }), "pieces[0]", index});
  v.push_back({"piece_offset_unaligned", "pieces[3] offset 32 past its record",
               edit([](Index& i) { cell(i, "pieces", 3, kOffset) += 32; }), "pieces[3]", index});
  v.push_back(
      {"piece_past_shard_end", "pieces[0] record ends less than 128 bytes before the end",
       edit([](Index& i) { cell(i, "pieces", 0, kOffset) = cell(i, "shards", 0, 0) - 128; }),
       "pieces[0]", index});
  v.push_back({"tensor_not_covered", "the last piece (of /flags, tensors[3]) dropped",
               edit([](Index& i) {
                 const Tensor& p = i.root.at("pieces").tensor();
                 i.root.at("pieces") = p.slice(0, 0, p.size(0) - 1).contiguous();
               }),
               "tensors[3]", index});
  // Disjoint records: the later in offset order is named (at equal offsets, the later row).
  v.push_back(
      {"records_same_offset", "pieces[2] points at the record of pieces[3]",
       edit([](Index& i) { cell(i, "pieces", 2, kOffset) = cell(i, "pieces", 3, kOffset); }),
       "pieces[3]", index});
  v.push_back(
      {"records_overlap", "pieces[2] starts inside the record of pieces[4], the last",
       edit([](Index& i) { cell(i, "pieces", 2, kOffset) = cell(i, "pieces", 4, kOffset) + 64; }),
       "pieces[2]", index});
  // A shard, when first needed.
  v.push_back(
      {"shard_missing", "shard 1 removed", [=](const fs::path& d) { fs::remove(d / s1); }, "", s1});
  v.push_back({"shard_wrong_size", "64 bytes appended to shard 1",
               [=](const fs::path& d) {
                 conformance::write_file(d / s1, bytes_of(d / s1) + std::string(64, '\0'));
               },
               "shard 1", s1});
  v.push_back({"shard_header_damaged", "a byte of shard 0's magic flipped",
               [=](const fs::path& d) { flip(d / s0, 3); }, "file header", s0});
  v.push_back({"shard_trailer_damaged", "a byte of shard 0's trailer (its index offset) flipped",
               [=](const fs::path& d) { flip(d / s0, fs::file_size(d / s0) - 64 + 1); }, "trailer",
               s0});
  v.push_back({"shard_of_another_checkpoint", "shard 1 from a checkpoint of other values",
               [=](const fs::path& d) {
                 testing::TempDir other;
                 SaveOptions o;
                 o.durable = false;
                 io::save_sharded(base_state(1), other / "ck", 2, o);
                 fs::copy_file(other / "ck" / s1, d / s1, fs::copy_options::overwrite_existing);
               },
               "shard 1", s1});
  // A piece, when read.
  v.push_back({"piece_payload_flipped", "a payload byte of pieces[0] (/w) flipped",
               [=](const fs::path& d) {
                 const auto [at, shard] = record_of(d, 0);
                 flip(shard, at + 64 + 5);
               },
               "piece of '/w' at offset 64", s0});
  v.push_back({"piece_checksum_wrong", "the index's checksum of pieces[3] (/opt/t/0) changed",
               edit([](Index& i) { cell(i, "pieces", 3, kChecksum) ^= 1; }), "", s1});
  v.push_back({"piece_record_header_damaged", "the size in pieces[3]'s record header flipped",
               [=](const fs::path& d) {
                 const auto [at, shard] = record_of(d, 3);
                 flip(shard, at + 24, 0x01);
               },
               "tensor record header", s1});
  v.push_back({"piece_record_wrong_dtype", "pieces[2] (int16 [3]) at the record of bool [5]",
               edit([](Index& i) {
                 // /flags moves to /opt/0's old record: both fit, no record shared.
                 std::swap(cell(i, "pieces", 2, kOffset), cell(i, "pieces", 4, kOffset));
               }),
               "", s1});
  v.push_back({"piece_bool_not_0_or_1", "a /flags element is 2 (the index's checksum matches)",
               [=](const fs::path& d) {
                 const auto [at, shard] = record_of(d, 4);
                 std::string b = bytes_of(shard);
                 b.at(at + 64 + 1) = 2;
                 conformance::write_file(shard, b);
                 Index i = read_index(d);
                 cell(i, "pieces", 4, kChecksum) =
                     static_cast<int64_t>(io::checksum(b.data() + at + 64, 5));
                 write_index(d, i);
               },
               "", s1});
  // verify() only.
  v.push_back({"shard_metadata_names_another", "shard 1's metadata says wick.shard 0",
               [=](const fs::path& d) {
                 io::Reader old(d / s1);
                 Value root = old.value();
                 SaveOptions o;
                 o.durable = false;
                 o.metadata = old.metadata();
                 o.metadata.insert_or_assign("wick.shard", Value(int64_t{0}));
                 save(root, d / s1, o);
                 Index i = read_index(d);
                 cell(i, "shards", 1, 0) = static_cast<int64_t>(fs::file_size(d / s1));
                 cell(i, "shards", 1, 1) = static_cast<int64_t>(trailer_index_checksum(d / s1));
                 write_index(d, i);
               },
               "shard 1", s1});
  v.push_back({"shard_own_index_damaged", "a byte of shard 0's own index payload ('@') flipped",
               [=](const fs::path& d) {
                 std::string b = bytes_of(d / s0);
                 const auto at = b.rfind('@', b.size() - 65);
                 ASSERT_NE(at, std::string::npos);
                 flip(d / s0, at, 0x01);
               },
               "", s0});
  return v;
}

// The first refusal of the outcomes: the open's, else the load's, else the verify's.
json first_refusal(const json& o) {
  for (const char* k : {"open", "load", "verify"})
    if (!o.at(k).is_null()) return o.at(k);
  return nullptr;
}

void generate_invalid() {
  const fs::path out = sharded_corpus() / "invalid";
  fs::create_directories(out);
  for (const Invalid& c : invalid_cases()) {
    SCOPED_TRACE(c.name);
    const fs::path dir = out / c.name;
    SaveOptions o;
    o.durable = false;
    io::save_sharded(base_state(), dir, 2, o);
    c.make(dir);
    json doc = outcomes(dir);
    const json first = first_refusal(doc);
    ASSERT_FALSE(first.is_null()) << "nothing refuses " << c.name;
    if (!c.structure.empty()) {
      EXPECT_EQ(first.at("structure"), c.structure) << first.dump();
    }
    EXPECT_EQ(first.at("file"), c.file) << first.dump();
    doc["fault"] = c.fault;
    conformance::write_file(out / (c.name + ".json"), doc.dump(1) + "\n");
  }
}

TEST(ConformanceSharded, Generate) {
  if (!conformance::updating()) GTEST_SKIP() << "set WICK_UPDATE_CONFORMANCE=1 to regenerate";
  fs::remove_all(sharded_corpus());
  generate_valid();
  generate_invalid();
}

// ---------------------------------------------------------------------------------------------
// The runner.

std::vector<fs::path> cases(const std::string& sub) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(sharded_corpus() / sub))
    if (e.path().extension() == ".json") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ConformanceSharded, ValidCheckpointsLoadToTheirPlainForm) {
  const std::vector<fs::path> all = cases("valid");
  ASSERT_GE(all.size(), 6u);
  for (const fs::path& j : all) {
    SCOPED_TRACE(j.filename().string());
    json want = json::parse(conformance::read_file(j));
    const fs::path dir = j.parent_path() / j.stem();
    const std::string bin =
        want.contains("bin") ? conformance::read_file(j.parent_path() / want["bin"]) : "";
    const int world = want.at("world_size").get<int>();
    for (const char* k : {"bin", "world_size"})
      want.erase(k);
    for (const bool verify : {true, false}) {
      io::ShardedReader r(dir, testing::read_options(verify, false));
      EXPECT_EQ(r.info().world_size, static_cast<uint32_t>(world));
      conformance::Plain got = conformance::to_plain(r.value(), r.metadata(), 0, 0);
      got.doc.erase("version");
      EXPECT_EQ(got.doc, want) << "verify " << verify;
      EXPECT_TRUE(got.bin == bin) << "verify " << verify << ": tensor bytes differ";
      EXPECT_NO_THROW(r.verify());
    }
    EXPECT_EQ(io::load_sharded(dir), conformance::FromPlain(want, bin).node(want.at("value")));
  }
}

TEST(ConformanceSharded, InvalidCheckpointsAreRefusedWhereTheCorpusSays) {
  const std::vector<fs::path> all = cases("invalid");
  ASSERT_GE(all.size(), 30u);
  for (const fs::path& j : all) {
    SCOPED_TRACE(j.filename().string());
    const json want = json::parse(conformance::read_file(j));
    const json got = outcomes(j.parent_path() / j.stem());
    for (const char* k : {"open", "load", "load_unverified", "verify"})
      EXPECT_EQ(compared(got.at(k)), compared(want.at(k))) << k << ": " << got.at(k).dump();
    EXPECT_FALSE(first_refusal(want).is_null());
  }
}

}  // namespace
}  // namespace wick
