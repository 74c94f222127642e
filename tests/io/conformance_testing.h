#pragma once
// The conformance corpus (tests/conformance/, README there): the plain form of a file's contents
// (JSON + one .bin of raw storage bytes), converted from and to a Value, and the writing of
// corpus files when WICK_UPDATE_CONFORMANCE=1. Shared by test_conformance.cpp (valid files,
// the runner) and test_hostile.cpp (the hostile builder's files, valid and invalid).

#include <gtest/gtest.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <unordered_map>

#include "wick/wick.h"

namespace wick::conformance {

using nlohmann::json;
namespace fs = std::filesystem;

/// tests/conformance in the source tree.
inline fs::path corpus_dir() {
  return fs::path(WICK_SOURCE_DIR) / "tests" / "conformance";
}

/// True when this run rewrites the corpus (WICK_UPDATE_CONFORMANCE=1).
inline bool updating() {
  const char* e = std::getenv("WICK_UPDATE_CONFORMANCE");
  return e != nullptr && std::string(e) == "1";
}

/// A file's contents in plain form: the JSON document and the bytes of its storages.
struct Plain {
  json doc;
  std::string bin;
};

/// The f64 bits as "0x" + 16 hex digits: NaN payloads, -0.0 and infinities stay exact.
inline std::string float_bits(double d) {
  uint64_t bits = 0;
  std::memcpy(&bits, &d, 8);
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016" PRIx64, bits);
  return buf;
}

inline double float_from_bits(const std::string& s) {
  const uint64_t bits = std::stoull(s, nullptr, 16);
  double d = 0;
  std::memcpy(&d, &bits, 8);
  return d;
}

/// Value -> plain form. Storages are numbered in order of first appearance in the tree, tensors
/// (one per distinct view: storage, offset, shape, strides) likewise, so two trees that share
/// the same way give the same document.
class ToPlain {
 public:
  json node(const Value& v) {
    switch (v.kind()) {
      case Value::Kind::None:
        return {{"none", nullptr}};
      case Value::Kind::Bool:
        return {{"bool", v.as_bool()}};
      case Value::Kind::Int:
        return {{"int", v.as_int()}};
      case Value::Kind::Float:
        return {{"float", float_bits(v.as_float())}};
      case Value::Kind::String:
        return {{"str", v.as_string()}};
      case Value::Kind::Tensor:
        return {{"tensor", tensor_id(v.tensor())}};
      case Value::Kind::List:
        return {{"list", items(v.list())}};
      case Value::Kind::Tuple:
        return {{"tuple", items(v.tuple())}};
      case Value::Kind::Dict:
        return {{"dict", entries(v.dict())}};
    }
    return {};
  }

  json entries(const Dict& d) {
    json out = json::array();
    for (const auto& [key, value] : d) {
      json k = key.is_int() ? json(key.as_int()) : json(key.str());
      out.push_back(json::array({k, node(value)}));
    }
    return out;
  }

  Plain finish(json doc) {
    doc["storages"] = storages_;
    doc["tensors"] = tensors_;
    return {std::move(doc), std::move(bin_)};
  }

 private:
  template <class Items>
  json items(const Items& xs) {
    json out = json::array();
    for (const Value& x : xs)
      out.push_back(node(x));
    return out;
  }

  std::size_t storage_id(const Tensor& t) {
    const Storage* s = t.storage().get();
    const auto [it, fresh] = storage_ids_.try_emplace(s, storage_ids_.size());
    if (fresh) {
      storages_.push_back({{"dtype", std::string(dtype_name(t.dtype()))},
                           {"elements", s->nbytes() / t.element_size()},
                           {"bin", bin_.size()}});
      bin_.append(reinterpret_cast<const char*>(s->data()), s->nbytes());
    }
    return it->second;
  }

  std::size_t tensor_id(const Tensor& t) {
    const std::size_t s = storage_id(t);
    const auto [it, fresh] = tensor_ids_.try_emplace(
        std::make_tuple(s, t.offset(), t.shape(), t.strides()), tensor_ids_.size());
    if (fresh) {
      tensors_.push_back(
          {{"storage", s}, {"offset", t.offset()}, {"shape", t.shape()}, {"strides", t.strides()}});
    }
    return it->second;
  }

  std::unordered_map<const Storage*, std::size_t> storage_ids_;
  std::map<std::tuple<std::size_t, int64_t, Shape, Shape>, std::size_t> tensor_ids_;
  json storages_ = json::array();
  json tensors_ = json::array();
  std::string bin_;
};

/// The plain form of a loaded file: version, metadata, value, storages and tensors.
inline Plain to_plain(const Value& value, const Dict& metadata, int major, int minor) {
  ToPlain p;
  json doc;
  doc["version"] = std::to_string(major) + "." + std::to_string(minor);
  doc["metadata"] = p.entries(metadata);
  doc["value"] = p.node(value);
  return p.finish(std::move(doc));
}

/// Plain form -> Value: one Storage per storage entry, one Tensor per tensor entry (a tensor
/// referenced twice is the same tensor: tied).
class FromPlain {
 public:
  FromPlain(const json& doc, const std::string& bin) {
    for (const json& s : doc.at("storages")) {
      const DType d = *dtype_from_name(s.at("dtype").get<std::string>());
      const std::size_t n = s.at("elements").get<std::size_t>() * dtype_size(d);
      auto storage = Storage::allocate(n);
      if (n > 0) std::memcpy(storage->data(), bin.data() + s.at("bin").get<std::size_t>(), n);
      storages_.push_back({storage, d});
    }
    for (const json& t : doc.at("tensors")) {
      const auto& [storage, d] = storages_.at(t.at("storage").get<std::size_t>());
      tensors_.emplace_back(storage, t.at("shape").get<Shape>(), t.at("strides").get<Shape>(),
                            t.at("offset").get<int64_t>(), d);
    }
  }

  Value node(const json& n) const {
    // One-key object: {"kind": contents}. (Not `*n.items().begin()`: nlohmann's proxy returns a
    // reference to the temporary iterator, which dies at the end of that statement.)
    const auto first = n.begin();
    const std::string& kind = first.key();
    const json& x = first.value();
    if (kind == "none") return nullptr;
    if (kind == "bool") return x.get<bool>();
    if (kind == "int") return x.get<int64_t>();
    if (kind == "float") return float_from_bits(x.get<std::string>());
    if (kind == "str") return x.get<std::string>();
    if (kind == "tensor") return tensors_.at(x.get<std::size_t>());
    if (kind == "list" || kind == "tuple") {
      std::vector<Value> items;
      for (const json& i : x)
        items.push_back(node(i));
      if (kind == "tuple") return Tuple(std::move(items));
      return List(items.begin(), items.end());
    }
    if (kind == "dict") return entries(x);
    throw std::runtime_error("plain form: unknown node kind " + kind);
  }

  Dict entries(const json& x) const {
    Dict d;
    for (const json& e : x) {
      if (e.at(0).is_number_integer())
        d.insert(Key(e.at(0).get<int64_t>()), node(e.at(1)));
      else
        d.insert(Key(e.at(0).get<std::string>()), node(e.at(1)));
    }
    return d;
  }

 private:
  std::vector<std::pair<std::shared_ptr<Storage>, DType>> storages_;
  std::vector<Tensor> tensors_;
};

/// What save() writes for the plain form's value and metadata, in the plain form's version.
inline std::string save_plain(const json& doc, const std::string& bin) {
  const FromPlain p(doc, bin);
  SaveOptions o;
  o.metadata = p.entries(doc.at("metadata"));
  const std::string v = doc.at("version").get<std::string>();
  o.format_major = std::stoi(v.substr(0, v.find('.')));
  o.format_minor = std::stoi(v.substr(v.find('.') + 1));
  std::ostringstream out;
  save(p.node(doc.at("value")), out, o);
  return out.str();
}

/// True when save() reproduces `bytes` exactly from the plain form.
inline bool writer_reproduces(const Plain& plain, const std::string& bytes) {
  try {
    return save_plain(plain.doc, plain.bin) == bytes;
  } catch (const Error&) {
    return false;
  }
}

inline void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << p;
}

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Empties `sub` (valid/ or invalid/) the first time this process writes into it, so a run with
/// WICK_UPDATE_CONFORMANCE=1 leaves no stale case behind.
inline fs::path fresh_dir(const std::string& sub) {
  static std::set<std::string> cleared;
  const fs::path dir = corpus_dir() / sub;
  if (cleared.insert(sub).second) {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  return dir;
}

/// Writes a valid case: `<name>.wick` (unless `doc` names another file), `<name>.json`, and
/// `<name>.bin` when the storages hold bytes.
inline void write_valid(const std::string& name, const std::string* bytes, Plain plain) {
  const fs::path dir = fresh_dir("valid");
  if (bytes != nullptr) {
    write_file(dir / (name + ".wick"), *bytes);
    plain.doc["rewrite"] = writer_reproduces(plain, *bytes);
  }
  if (!plain.bin.empty()) {
    plain.doc["bin"] = name + ".bin";
    write_file(dir / (name + ".bin"), plain.bin);
  }
  // Indented for reading and diffs, unless that costs too much (512 levels of nesting indent
  // quadratically).
  std::string text = plain.doc.dump(1);
  if (text.size() > (std::size_t{64} << 10)) text = plain.doc.dump();
  write_file(dir / (name + ".json"), text + "\n");
}

/// The name of the running test, "Suite.Name", numbered "-2", "-3", ... on its later calls.
inline std::string case_name(const std::string& sub) {
  static std::map<std::string, int> calls;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string base = std::string(info->test_suite_name()) + "." + info->name();
  const int n = ++calls[sub + "/" + base];
  return n == 1 ? base : base + "-" + std::to_string(n);
}

/// What a refusal reports, as the corpus pins it: offset (or null) and structure; the detail
/// is kept for people, not compared.
inline json refusal_json(const ErrorInfo& info) {
  return {{"offset", info.offset ? json(*info.offset) : json(nullptr)},
          {"structure", info.structure},
          {"detail", info.detail}};
}

}  // namespace wick::conformance
