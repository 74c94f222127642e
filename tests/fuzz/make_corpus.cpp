// Writes the fuzzers' seed corpus: small valid wick files that between them reach every record
// kind, value tag, dtype, header size and option the decoder knows, one file of each other
// format load(path) reads, and the hostile seeds of issue 16: for each format, small files that
// make a careless reader hold or do far more than their size (amplification by repetition, by
// nesting, by references, by compression, by many keys), each at most kMaxSeedBytes so that
// libFuzzer reads it whole (scripts/fuzz.sh adds the golden files and the kept regressions).
// Given two more directories, it also writes fuzz_sharded's seeds (sharded_harness.h's
// container) into the first: sharded checkpoints saved by 1, 2 and 3 writers, and every
// checkpoint of the second, tests/conformance/sharded/, valid and invalid.
// Usage: wick_fuzz_corpus OUTPUT_DIR [SHARDED_OUTPUT_DIR CONFORMANCE_SHARDED_DIR]
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "sharded_harness.h"
#include "wick/io/formats.h"
#include "wick/io/sharded/sharded_save.h"
#include "wick/wick.h"

namespace {

namespace fs = std::filesystem;

template <class T>
void put_le(std::string& b, std::size_t at, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i)
    b[at + i] = static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff);
}

template <class T>
T get_le(const std::string& b, std::size_t at) {
  uint64_t v = 0;
  for (std::size_t i = sizeof(T); i-- > 0;)
    v = (v << 8) | static_cast<uint8_t>(b[at + i]);
  return static_cast<T>(v);
}

std::string to_bytes(const wick::Value& v, const wick::SaveOptions& options = {}) {
  std::ostringstream out;
  wick::save(v, out, options);
  return out.str();
}

// A file holding no tensors with an optional record of an unknown kind (99) in front of the
// index, which a reader must verify and skip. Without tensors the index payload holds no
// offsets, so only the trailer moves.
std::string with_optional_record(const std::string& file) {
  constexpr std::size_t kHeader = 64;
  const std::string payload = "future";
  std::string rec(128, '\0');
  put_le<uint32_t>(rec, 0, 99);
  put_le<uint16_t>(rec, 4, 1);   // optional
  put_le<uint16_t>(rec, 6, 64);  // header size
  put_le<uint64_t>(rec, 8, payload.size());
  put_le<uint64_t>(rec, 16, wick::io::checksum(payload.data(), payload.size()));
  put_le<uint64_t>(rec, 56, wick::io::checksum(rec.data(), 56));
  std::memcpy(rec.data() + 64, payload.data(), payload.size());
  std::string out = file.substr(0, kHeader) + rec + file.substr(kHeader);
  const std::size_t t = out.size() - 64;
  put_le<uint64_t>(out, t, get_le<uint64_t>(out, t) + rec.size());
  put_le<uint64_t>(out, t + 8, out.size());
  put_le<uint64_t>(out, t + 48, wick::io::checksum(out.data() + t, 48));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Hostile seeds. Each fits in kMaxSeedBytes (scripts/fuzz.sh's -max_len: libFuzzer truncates
// longer inputs, and a wick file cut short loses its index).

constexpr std::size_t kMaxSeedBytes = 65536;

void append_le(std::string& b, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i)
    b += static_cast<char>((v >> (8 * i)) & 0xff);
}

uint32_t crc_of(const std::string& data) {
  return static_cast<uint32_t>(
      ::crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

// Raw deflate (no zlib header), as zip members hold it, at the best ratio zlib gets.
std::string raw_deflate(const std::string& data) {
  z_stream z{};
  if (deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate did not finish");
  return out;
}

struct ZipMember {
  std::string name;
  std::string data;  // uncompressed
  bool deflate = false;
  bool wrong_crc = false;  // a bomb's CRC-32 that only a full inflation finds wrong
  int64_t declared = -1;   // uncompressed size to claim (-1: the true size)
};

// A zip archive of `members`, local headers, central directory and end record as zip writers
// lay them out (no data descriptors, no zip64).
std::string make_zip(const std::vector<ZipMember>& members) {
  std::string out;
  std::string central;
  for (const ZipMember& m : members) {
    const std::string body = m.deflate ? raw_deflate(m.data) : m.data;
    const uint32_t crc = crc_of(m.data) ^ (m.wrong_crc ? 1u : 0u);
    const uint64_t size = m.declared >= 0 ? static_cast<uint64_t>(m.declared) : m.data.size();
    std::string fields;  // from "version needed" to "extra length", shared by both headers
    append_le(fields, 20, 2);
    append_le(fields, 0, 2);
    append_le(fields, m.deflate ? 8 : 0, 2);
    append_le(fields, 0, 2);
    append_le(fields, 0x21, 2);  // 1980-01-01
    append_le(fields, crc, 4);
    append_le(fields, body.size(), 4);
    append_le(fields, size, 4);
    append_le(fields, m.name.size(), 2);
    append_le(fields, 0, 2);
    append_le(central, 0x02014b50, 4);
    append_le(central, 20, 2);
    central += fields;
    append_le(central, 0, 2);  // comment length
    append_le(central, 0, 2);  // disk
    append_le(central, 0, 2);  // internal attributes
    append_le(central, 0, 4);  // external attributes
    append_le(central, out.size(), 4);
    central += m.name;
    append_le(out, 0x04034b50, 4);
    out += fields + m.name + body;
  }
  const uint64_t cd_offset = out.size();
  out += central;
  append_le(out, 0x06054b50, 4);
  append_le(out, 0, 4);
  append_le(out, members.size(), 2);
  append_le(out, members.size(), 2);
  append_le(out, central.size(), 4);
  append_le(out, cd_offset, 4);
  append_le(out, 0, 2);
  return out;
}

// Pickle protocol 2, as torch.save writes it.
std::string pickle(const std::string& body) {
  return "\x80\x02" + body + ".";
}
std::string unicode(const std::string& s) {  // BINUNICODE
  std::string out = "X";
  append_le(out, s.size(), 4);
  return out + s;
}
std::string binput(uint8_t i) {
  return std::string("q") + static_cast<char>(i);
}
std::string binget(uint8_t i) {
  return std::string("h") + static_cast<char>(i);
}
std::string global(const std::string& module, const std::string& name) {
  return "c" + module + "\n" + name + "\n";
}
std::string small_int(int v) {  // BININT1
  return std::string("K") + static_cast<char>(v);
}
std::string long8(uint64_t v) {  // LONG1 of 8 bytes
  std::string out = "\x8a\x08";
  append_le(out, v, 8);
  return out;
}
// _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()), `offset` pickled by
// `offset_op`, over storage `key` of `numel` float32 elements.
std::string tensor_pickle(const std::string& key, int numel, const std::string& offset_op,
                          int size) {
  return global("torch._utils", "_rebuild_tensor_v2") + "((" + unicode("storage") +
         global("torch", "FloatStorage") + unicode(key) + unicode("cpu") + small_int(numel) + "tQ" +
         offset_op + "(" + small_int(size) + "t(" + small_int(1) + "t\x89" +
         global("collections", "OrderedDict") + ")Rt" + "R";
}
// A list holding memo entry 0 `n` times, in APPENDS batches of 1000 as Python writes them.
std::string list_of_refs(std::size_t n) {
  std::string out = "]";
  for (std::size_t at = 0; at < n; at += 1000) {
    out += "(";
    for (std::size_t k = at; k < std::min(n, at + 1000); ++k)
      out += binget(0);
    out += "e";
  }
  return out;
}
// A .pt: archive/data.pkl (stored unless `deflate_pickle`), the storages, archive/version.
std::string make_pt(const std::string& pkl, std::vector<ZipMember> storages = {},
                    bool deflate_pickle = false) {
  std::vector<ZipMember> m{{"archive/data.pkl", pkl, deflate_pickle}};
  for (ZipMember& s : storages) {
    s.name = "archive/data/" + s.name;
    m.push_back(std::move(s));
  }
  m.push_back({"archive/version", "3\n"});
  return make_zip(m);
}

// An .npy: magic, version 1.0, the header dict padded to a multiple of 64, then `data`.
std::string make_npy(const std::string& dict, const std::string& data = "") {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64 != 0)
    header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY\x01\x00";
  append_le(out, header.size(), 2);
  return out + header + data;
}

// A safetensors file: the header's length, the JSON header, the data.
std::string make_safetensors(const std::string& header, const std::string& data = "") {
  std::string out;
  append_le(out, header.size(), 8);
  return out + header + data;
}

// Writes the hostile seeds through `put(name, bytes)`.
template <class Put>
void hostile_seeds(Put&& put) {
  using namespace wick;
  const Tensor t = arange(0, 4, 1, kFloat32);

  // Native, by references: one long key above many references to one tensor. Every entry's
  // path runs through the key, so paths spelled out in full cost key length x references.
  List refs(4000, t);
  put("hostile_long_key_over_refs.wick", to_bytes(Dict{{std::string(8000, 'k'), refs}}));
  // Native, by views (2.1): 1500 views of one record, and 4000 references to one rank-32 view.
  const Tensor buffer = arange(0, 1600, 1, kFloat32);
  List views;
  for (int64_t i = 0; i < 1500; ++i)
    views.push_back(buffer.slice(0, i, i + 2 + i % 7, 1 + i % 3));
  put("hostile_views_of_one_record.wick", to_bytes(views));
  Shape ones(32, 1);
  ones.back() = 2;
  const Tensor deep_view = buffer.slice(0, 1, 3).view(ones);
  List view_refs(4000, deep_view);
  view_refs.push_back(buffer);
  put("hostile_refs_to_a_view.wick", to_bytes(view_refs));
  // Native, by nesting: 300 dicts deep, a 40-byte key at each level, above 1000 references.
  Value deep = List(1000, t);
  for (int i = 0; i < 300; ++i)
    deep = Dict{{std::string(40, static_cast<char>('a' + i % 26)), deep}};
  put("hostile_deep_keys_over_refs.wick", to_bytes(deep));
  // Native, by repetition: one byte of file per `none`.
  put("hostile_nones.wick", to_bytes(List(30000, Value())));
  // Native, by many keys: in the tree and in the metadata (`wick info --json` builds a JSON
  // object of them).
  Dict many;
  for (int i = 0; i < 3000; ++i)
    many.insert("k" + std::to_string(i), Value());
  put("hostile_many_keys.wick", to_bytes(many));
  SaveOptions meta;
  meta.metadata = many;
  put("hostile_many_metadata_keys.wick", to_bytes(t, meta));
  // Native, many tensors, the last one corrupt: `wick verify` then loads each tensor again to
  // name the bad ones.
  Dict tensors;
  for (int i = 0; i < 200; ++i)
    tensors.insert("t" + std::to_string(i), full({1}, static_cast<int64_t>(i), kInt32));
  tensors.insert("last", full({1}, int64_t{0x5a5a5a5a}, kInt32));
  std::string corrupt = to_bytes(tensors);
  const std::size_t marker = corrupt.rfind("\x5a\x5a\x5a\x5a");
  if (marker == std::string::npos) throw std::runtime_error("no marker in the corrupt seed");
  corrupt[marker] ^= 0x01;
  put("hostile_many_tensors_one_corrupt.wick", corrupt);

  // PyTorch, by references: a memoized 8 KiB string referenced 4096 times; a memoized 4 KiB
  // dict key under 1024 dicts; a memoized tensor referenced 4096 times; and lists of lists
  // sharing one memo entry twice per level, 2^40 leaves from 200 bytes.
  put("hostile_memo_string.pt",
      make_pt(pickle(unicode(std::string(8192, 's')) + binput(0) + "0" + list_of_refs(4096))));
  std::string keys = unicode(std::string(4096, 'k')) + binput(0) + "0]";
  for (int i = 0; i < 1024; ++i)
    keys += "}" + binget(0) + "Nsa";
  put("hostile_memo_dict_key.pt", make_pt(pickle(keys)));
  const std::string f32(16, '\0');
  put("hostile_memo_tensor.pt",
      make_pt(pickle(tensor_pickle("0", 4, small_int(0), 4) + binput(0) + "0" + list_of_refs(4096)),
              {{"0", f32}}));
  std::string nested = "](" + unicode("leaf") + "e" + binput(0) + "0";
  for (int k = 1; k <= 40; ++k) {
    nested += "](" + binget(static_cast<uint8_t>(k - 1)) + binget(static_cast<uint8_t>(k - 1)) +
              "e" + binput(static_cast<uint8_t>(k));
    if (k < 40) nested += "0";
  }
  put("hostile_memo_nested_lists.pt", make_pt(pickle(nested)));
  // PyTorch, by repetition: DUP copies a 4 KiB string for one byte each.
  put("hostile_dup_string.pt",
      make_pt(pickle("](" + unicode(std::string(4096, 'd')) + std::string(8000, '2') + "e")));
  // PyTorch, by compression: a deflated data.pkl of a million Nones; a valid deflated 4 MiB
  // storage (big enough for wick to map rather than allocate it); the same with a wrong CRC-32,
  // and claiming to be small.
  put("hostile_deflated_pickle.pt",
      make_pt(pickle("](" + std::string(1 << 20, 'N') + "e"), {}, true));
  constexpr int kZerosNumel = 1 << 20;
  const std::string zeros(4 * kZerosNumel, '\0');
  const std::string big = global("torch._utils", "_rebuild_tensor_v2") + "((" + unicode("storage") +
                          global("torch", "FloatStorage") + unicode("0") + unicode("cpu") + "J" +
                          std::string("\x00\x00\x10\x00", 4) + "tQ" + small_int(0) + "(J" +
                          std::string("\x00\x00\x10\x00", 4) + "t(" + small_int(1) + "t\x89" +
                          global("collections", "OrderedDict") + ")Rt" + "R";
  put("hostile_deflated_storage.pt", make_pt(pickle(big), {{"0", zeros, true}}));
  put("hostile_deflated_storage_bad_crc.pt",
      make_pt(pickle(big), {{"0", zeros, true, /*wrong_crc=*/true}}));
  put("hostile_deflated_storage_lies.pt",
      make_pt(pickle(big), {{"0", zeros, true, false, /*declared=*/1024}}));
  // PyTorch views at the edge of int64: offset 2^63-1 over a one-element storage, and an empty
  // view at 2^63-2.
  put("hostile_view_offset_max.pt",
      make_pt(pickle(tensor_pickle("0", 1, long8(INT64_MAX), 1)), {{"0", f32.substr(0, 4)}}));
  put("hostile_empty_view_offset.pt",
      make_pt(pickle(tensor_pickle("0", 1, long8(INT64_MAX - 1), 0)), {{"0", f32.substr(0, 4)}}));

  // npz, by compression: a valid deflated member of 1 MiB of zeros, and one with a wrong CRC.
  const std::string npy_zeros =
      make_npy("{'descr': '|u1', 'fortran_order': False, 'shape': (1048576,), }",
               std::string(1 << 20, '\0'));
  put("hostile_deflated_member.npz", make_zip({{"z.npy", npy_zeros, true}}));
  put("hostile_deflated_member_bad_crc.npz", make_zip({{"z.npy", npy_zeros, true, true}}));
  // npy: an empty array whose other dimensions overflow int64 strides, and a huge array
  // claimed by a file without data.
  put("hostile_huge_empty_shape.npy",
      make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4611686018427387904, "
               "4611686018427387904), }"));
  put("hostile_huge_shape_no_data.npy",
      make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }"));

  // safetensors, by many keys: 800 empty tensors, and 2000 metadata keys.
  std::string entries = "{";
  for (int i = 0; i < 800; ++i) {
    entries += (i == 0 ? "\"" : ",\"") + std::string("t") + std::to_string(i) +
               "\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}";
  }
  put("hostile_many_keys.safetensors", make_safetensors(entries + "}"));
  std::string metadata = "{\"__metadata__\":{";
  for (int i = 0; i < 2000; ++i)
    metadata += (i == 0 ? "\"" : ",\"") + std::string("m") + std::to_string(i) + "\":\"v\"";
  put("hostile_many_metadata_keys.safetensors", make_safetensors(metadata + "}}"));
  // safetensors, by nesting: 20,000 brackets, as an entry and in the metadata.
  put("hostile_deep_json.safetensors",
      make_safetensors("{\"w\":" + std::string(20000, '[') + std::string(20000, ']') + "}"));
  std::string objects = "{\"__metadata__\":{\"k\":";
  for (int i = 0; i < 6000; ++i)
    objects += "{\"a\":";
  put("hostile_deep_json_objects.safetensors",
      make_safetensors(objects + "0" + std::string(6000, '}') + "}}"));
}

// ---------------------------------------------------------------------------------------------
// Sharded seeds: checkpoint directories packed into fuzz_sharded's container. wick's writers
// cut pieces at 4 MiB, more than a seed may hold, so pieces come from the cut by bytes over the
// writers and from ZeRO slices (io::write_shard).

// The directory `dir` (removed afterwards) packed, once `save` has written a checkpoint to it.
template <class F>
std::string packed(const fs::path& dir, F&& save) {
  fs::remove_all(dir);
  save(dir);
  std::string bytes = wick::fuzz::pack_checkpoint(wick::fuzz::read_checkpoint_dir(dir));
  fs::remove_all(dir);
  return bytes;
}

template <class Put>
void sharded_seeds(const fs::path& scratch, const fs::path& conformance, Put&& put) {
  using namespace wick;
  const auto saved = [&](const Value& state, int world, const SaveOptions& o = {}) {
    return packed(scratch, [&](const fs::path& dir) { io::save_sharded(state, dir, world, o); });
  };
  SaveOptions meta;
  meta.durable = false;
  meta.metadata = Dict{{"epoch", 3}, {"run", "seed"}};
  const Tensor w = randn({4, 6});
  const Value nested = Dict{
      {"model", Dict{{"layers", List{Dict{{"w", w}, {"b", zeros({6})}}, Dict{{"w", w.t()}}}},
                     {"embed", arange(0, 40, 1, kInt64).view({8, 5})}}},
      {"optimizer", Dict{{"state", Dict{{0, Dict{{"step", 12}, {"exp_avg", randn({6})}}}}},
                         {"param_groups", List{Dict{{"lr", 1e-3}, {"betas", Tuple{0.9, 0.999}}}}}}},
      {"epoch", 7},
      {"tag", "a/b~c"}};
  const Value dtypes = Dict{{"f16", randn({17}).to(kFloat16)},
                            {"bf16", randn({3, 5}).to(kBFloat16)},
                            {"f64", randn({9}).to(kFloat64)},
                            {"i8", arange(0, 33, 1, kInt8)},
                            {"i16", arange(0, 10, 1, kInt16)},
                            {"i32", arange(0, 21, 1, kInt32)},
                            {"u8", ones({2, 2, 3}, kUInt8)},
                            {"bool", arange(11) > 4},
                            {"scalar", full({}, 2.5)},
                            {"empty", zeros({0, 4})},
                            {"none", Value()}};
  put("sharded_world1_nested", saved(nested, 1, meta));
  put("sharded_world2_nested", saved(nested, 2));
  put("sharded_world3_nested", saved(nested, 3, meta));
  put("sharded_world1_dtypes", saved(dtypes, 1));
  put("sharded_world2_dtypes", saved(dtypes, 2, meta));
  put("sharded_world3_dtypes", saved(dtypes, 3));
  // One tensor cut by bytes into a piece per writer; a root that is a tensor.
  put("sharded_world3_one_tensor", saved(Dict{{"w", arange(0, 300, 1, kFloat32)}}, 3));
  put("sharded_world2_root_tensor", saved(arange(0, 50, 1, kInt32), 2));
  put("sharded_world2_no_tensors", saved(Dict{{"step", 3}, {"name", "x"}}, 2));
  // ZeRO-1: three writers each hold a slice of two moments, beside a replicated weight.
  put("sharded_world3_zero_slices", packed(scratch, [&](const fs::path& dir) {
        const Tensor moment = arange(0, 231, 1, kFloat32).reshape({7, 3, 11});
        const Tensor steps = arange(0, 10, 1, kInt64);
        io::ShardedCommit commit(dir);
        std::vector<io::ShardReport> reports;
        io::ShardedState rank0;
        for (int r = 0; r < 3; ++r) {
          const io::ElementRange m = io::even_range(231, r, 3);
          const io::ElementRange s = io::even_range(10, r, 3);
          io::ShardedState st;
          st.value = Dict{{"weight", w},
                          {"exp_avg", moment.reshape({231}).slice(0, m.start, m.end())},
                          {"step", steps.slice(0, s.start, s.end())}};
          st.slices["/exp_avg"] = io::ShardSlice{{7, 3, 11}, m.start};
          st.slices["/step"] = io::ShardSlice{{10}, s.start};
          reports.push_back(io::write_shard(st, commit.staging(), r, 3, meta));
          if (r == 0) rank0 = st;
        }
        commit.commit(rank0, reports, meta);
      }));
  // The conformance corpus: each rule's fault, and the valid layouts.
  for (const char* sub : {"valid", "invalid"}) {
    std::vector<fs::path> dirs;
    for (const auto& e : fs::directory_iterator(conformance / sub))
      if (e.is_directory()) dirs.push_back(e.path());
    std::sort(dirs.begin(), dirs.end());
    for (const fs::path& d : dirs) {
      put(std::string("sharded_conformance_") + sub + "_" + d.filename().string(),
          wick::fuzz::pack_checkpoint(wick::fuzz::read_checkpoint_dir(d)));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && argc != 4) {
    std::cerr << "usage: " << argv[0]
              << " OUTPUT_DIR [SHARDED_OUTPUT_DIR CONFORMANCE_SHARDED_DIR]\n";
    return 2;
  }
  const fs::path dir = argv[1];
  fs::create_directories(dir);
  int written = 0;
  auto put = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(dir / (name + ".wick"), std::ios::binary) << bytes;
    ++written;
  };
  using namespace wick;
  manual_seed(6);

  put("none", to_bytes(Value()));
  put("empty_dict", to_bytes(Dict{}));
  put("empty_list", to_bytes(List{}));
  put("scalars", to_bytes(List{nullptr, true, false, -3, 0.5, "text", ""}));
  put("scalar_tensor", to_bytes(full({}, 3.5)));
  put("zero_size", to_bytes(zeros({0, 3})));
  put("rank5", to_bytes(arange(0, 32, 1, kInt16).view({2, 2, 2, 2, 2})));
  put("rank13", to_bytes(ones({1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 2}, kUInt8)));
  put("bool", to_bytes(arange(5) > 2));
  put("half_types", to_bytes(List{randn({3}).to(kFloat16), randn({3}).to(kBFloat16)}));
  put("ints", to_bytes(List{arange(0, 4, 1, kInt8), arange(0, 4, 1, kInt32), arange(4)}));
  put("float64_transposed", to_bytes(randn({3, 2}).to(kFloat64).t()));
  const Tensor w = randn({2, 3});
  put("tied_dict",
      to_bytes(Dict{{"encoder.weight", w}, {"decoder.weight", w}, {"bias", zeros({3})}}));
  put("nested",
      to_bytes(Dict{{"model", Dict{{"layers", List{Dict{{"w", ones({2})}}, Dict{{"w", w}}}}}},
                    {"step", 1200},
                    {"lr", 3e-4},
                    {"name", "run-7"}}));
  put("odd_keys", to_bytes(Dict{{"", ones({1})}, {"a.b", zeros({1})}, {"a", Dict{{"b", w}}}}));
  Value deep = ones({2});
  for (int i = 0; i < 20; ++i)
    deep = List{deep, i};
  put("deep", to_bytes(deep));
  SaveOptions meta;
  meta.metadata =
      Dict{{"format", "wick"}, {"epoch", 3}, {"loss", 0.25}, {"ok", true}, {"none", nullptr}};
  put("metadata", to_bytes(Dict{{"w", w}}, meta));
  put("optional_record", with_optional_record(to_bytes(Dict{{"step", 7}, {"tag", "v1"}})));
  // Format 2.0: tuples (tag 9) and a dict with int keys (tag 10) beside a string key.
  const Value optimizer =
      Dict{{"state", Dict{{0, Dict{{"step", 3}, {"exp_avg", w}}}, {"1", Tuple{}}}},
           {"param_groups", List{Dict{{"betas", Tuple{0.9, 0.999}}, {"params", List{0}}}}}};
  put("format_2_0", to_bytes(optimizer));
  // Format 2.1: views (tag 11) and the view table: a record with a transpose, a strided slice and
  // a 0-d element of it, and two slices of another storage whose record is the run they reach.
  const Tensor base = arange(0, 12, 1, kFloat32).view({3, 4});
  const Tensor run = arange(0, 40, 1, kInt64);
  put("views", to_bytes(List{base, base.t(), base.slice(1, 0, 4, 2), base[2][1],
                             Tuple{run.slice(0, 3, 9), run.slice(0, 5, 30, 4)}}));

  struct MLP : nn::Module {
    nn::Linear hidden{3, 4}, output{4, 2};
    MLP() {
      register_module("hidden", hidden);
      register_module("output", output);
    }
  } net;
  put("state_dict", to_bytes(net.state_dict()));

  // load(path) reads the other formats it recognises by content through the same entry point,
  // so the path fuzzer starts from one small file of each too.
  const Value sd = net.state_dict();
  const std::pair<const char*, io::FileFormat> foreign[] = {
      {"foreign.pt", io::FileFormat::PyTorch},
      {"foreign.safetensors", io::FileFormat::Safetensors},
      {"foreign.npz", io::FileFormat::Npz}};
  for (const auto& [name, format] : foreign) {
    io::save_as(sd, dir / name, format);
    ++written;
  }
  io::save_as(optimizer, dir / "foreign_optimizer.pt", io::FileFormat::PyTorch);
  ++written;
  io::save_as(arange(0, 6, 1, kFloat32).view({2, 3}), dir / "foreign.npy", io::FileFormat::Npy);
  ++written;

  bool too_big = false;
  const auto put_checked = [&](const fs::path& into, const std::string& name,
                               const std::string& bytes) {
    if (bytes.size() > kMaxSeedBytes) {
      std::cerr << "wick_fuzz_corpus: " << name << " is " << bytes.size()
                << " bytes, over the fuzzers' -max_len of " << kMaxSeedBytes << '\n';
      too_big = true;
    }
    std::ofstream(into / name, std::ios::binary) << bytes;
    ++written;
  };
  hostile_seeds(
      [&](const std::string& name, const std::string& bytes) { put_checked(dir, name, bytes); });
  std::cout << "wick_fuzz_corpus: " << written << " seed files in " << dir << '\n';
  if (argc == 4) {
    const fs::path sharded = argv[2];
    fs::create_directories(sharded);
    written = 0;
    // The checkpoints are saved outside the seed directories, which libFuzzer reads whole.
    const fs::path scratch =
        fs::temp_directory_path() / ("wick-fuzz-corpus-" + std::to_string(::getpid()));
    fs::create_directories(scratch);
    sharded_seeds(scratch / "ckpt", argv[3],
                  [&](const std::string& name, const std::string& bytes) {
                    put_checked(sharded, name, bytes);
                  });
    fs::remove_all(scratch);
    std::cout << "wick_fuzz_corpus: " << written << " sharded seed files in " << sharded << '\n';
  }
  if (too_big) return 1;
  return 0;
}
