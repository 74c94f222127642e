// Writes the fuzzers' seed corpus: small valid wick files that between them reach every record
// kind, value tag, dtype, header size and option the decoder knows, plus one file of each other
// format load(path) reads (the golden files in tests/data/ are added by scripts/fuzz.sh).
// Usage: wick_fuzz_corpus OUTPUT_DIR
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "wick/io/formats.h"
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

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " OUTPUT_DIR\n";
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
  io::save_as(arange(0, 6, 1, kFloat32).view({2, 3}), dir / "foreign.npy", io::FileFormat::Npy);
  ++written;

  std::cout << "wick_fuzz_corpus: " << written << " seed files in " << dir << '\n';
  return 0;
}
