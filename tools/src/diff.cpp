#include <cmath>
#include <cstdio>
#include <map>
#include <ostream>

#include "commands.h"
#include "errors.h"
#include "table.h"
#include "tree.h"
#include "wick/core/ops.h"
#include "wick/io/reader.h"

namespace wick::cli {

namespace {
struct Loaded {
  Value root;
  Dict metadata;
};

Loaded load_file(const std::string& file) {
  return on_file(file, [&] {
    LoadOptions options;
    options.mmap = true;
    io::Reader reader(file, options);
    return Loaded{reader.value(), reader.metadata()};
  });
}

// One path present in both files.
struct Common {
  std::string path;
  const Value* a;
  const Value* b;
  std::vector<std::string> changes;  // "dtype", "shape", "values", "value"; empty when equal
  std::optional<double> max_abs;     // tensors of one shape only
};

Common compare(const std::string& path, const Value& a, const Value& b) {
  Common c{path, &a, &b, {}, std::nullopt};
  if (!a.is_tensor() || !b.is_tensor()) {
    if (!(a == b)) c.changes.emplace_back("value");
    return c;
  }
  const Tensor& x = a.tensor();
  const Tensor& y = b.tensor();
  if (x.dtype() != y.dtype()) c.changes.emplace_back("dtype");
  if (x.shape() != y.shape()) {
    c.changes.emplace_back("shape");
    return c;
  }
  c.max_abs = max_abs_diff(x, y);
  // Bits decide equality: int64 beyond 2^53 or -0.0 vs 0.0 can differ at difference 0.
  if (x.dtype() == y.dtype() && !bitwise_equal(x, y)) c.changes.emplace_back("values");
  if (x.dtype() != y.dtype() && *c.max_abs != 0.0) c.changes.emplace_back("values");
  return c;
}

std::string number(std::optional<double> v) {
  if (!v) return "-";
  if (std::isnan(*v)) return "nan";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", *v);
  return buf;
}

// "same", "dtype differs", "dtype and values differ".
std::string status(const std::vector<std::string>& changes) {
  if (changes.empty()) return "same";
  std::string s;
  for (std::size_t i = 0; i < changes.size(); ++i)
    s += (i == 0 ? "" : i + 1 == changes.size() ? " and " : ", ") + changes[i];
  return s + (changes.size() > 1 || changes[0] == "values" ? " differ" : " differs");
}

std::string count(std::size_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

struct Result {
  std::vector<const Leaf*> only_a, only_b;
  std::vector<Common> common;
  std::vector<std::string> metadata;  // keys that differ or exist on one side only
  bool equal() const {
    bool same = only_a.empty() && only_b.empty() && metadata.empty();
    for (const Common& c : common)
      same = same && c.changes.empty();
    return same;
  }
};

Result diff(const Loaded& a, const Loaded& b, const std::vector<Leaf>& la,
            const std::vector<Leaf>& lb) {
  Result r;
  std::map<std::string, const Leaf*> in_b;
  for (const Leaf& l : lb)
    in_b.emplace(l.path, &l);
  std::map<std::string, const Leaf*> in_a;
  for (const Leaf& l : la) {
    in_a.emplace(l.path, &l);
    auto it = in_b.find(l.path);
    if (it == in_b.end()) {
      r.only_a.push_back(&l);
    } else {
      r.common.push_back(compare(l.path, *l.value, *it->second->value));
    }
  }
  for (const Leaf& l : lb) {
    if (!in_a.contains(l.path)) r.only_b.push_back(&l);
  }
  for (const auto& [key, value] : a.metadata) {
    const Value* other = b.metadata.find(key);
    if (other == nullptr || !(*other == value)) r.metadata.push_back(key);
  }
  for (const auto& [key, value] : b.metadata) {
    if (!a.metadata.contains(key)) r.metadata.push_back(key);
  }
  return r;
}

std::string side(const Dict& metadata, const std::string& key) {
  const Value* v = metadata.find(key);
  return v == nullptr ? "-" : repr(*v);
}

Json to_json(const Result& r, const Loaded& a, const Loaded& b, const std::string& fa,
             const std::string& fb) {
  Json j = {{"a", fa}, {"b", fb}, {"equal", r.equal()}};
  j["only_in_a"] = Json::array();
  for (const Leaf* l : r.only_a)
    j["only_in_a"].push_back({{"path", l->path}, {"a", describe(*l->value)}});
  j["only_in_b"] = Json::array();
  for (const Leaf* l : r.only_b)
    j["only_in_b"].push_back({{"path", l->path}, {"b", describe(*l->value)}});
  j["common"] = Json::array();
  for (const Common& c : r.common) {
    Json m = nullptr;
    if (c.max_abs && !std::isnan(*c.max_abs)) m = *c.max_abs;
    if (c.max_abs && std::isnan(*c.max_abs)) m = "nan";
    j["common"].push_back({{"path", c.path},
                           {"a", describe(*c.a)},
                           {"b", describe(*c.b)},
                           {"changes", c.changes},
                           {"max_abs_diff", m}});
  }
  j["metadata"] = Json::array();
  for (const std::string& key : r.metadata) {
    const Value* va = a.metadata.find(key);
    const Value* vb = b.metadata.find(key);
    j["metadata"].push_back({{"key", key},
                             {"a", va ? cli::to_json(*va) : nullptr},
                             {"b", vb ? cli::to_json(*vb) : nullptr}});
  }
  return j;
}

void print(const Result& r, const Loaded& a, const Loaded& b, const std::string& fa,
           const std::string& fb, std::ostream& out) {
  out << "A: " << fa << "\nB: " << fb << '\n';
  Table table({"path", "A", "B", "max abs diff", "status"}, {false, false, false, true, false});
  for (const Common& c : r.common) {
    table.add({c.path.empty() ? "(root)" : c.path, describe(*c.a), describe(*c.b),
               number(c.max_abs), status(c.changes)});
  }
  for (const Leaf* l : r.only_a)
    table.add({l->path.empty() ? "(root)" : l->path, describe(*l->value), "-", "-", "only in A"});
  for (const Leaf* l : r.only_b)
    table.add({l->path.empty() ? "(root)" : l->path, "-", describe(*l->value), "-", "only in B"});
  table.print(out);
  if (!r.metadata.empty()) {
    out << "metadata:\n";
    Table meta({"key", "A", "B"}, {});
    for (const std::string& key : r.metadata)
      meta.add({key, side(a.metadata, key), side(b.metadata, key)});
    meta.print(out, "  ");
  }
  std::size_t changed = 0;
  for (const Common& c : r.common)
    changed += c.changes.empty() ? 0 : 1;
  if (r.equal()) {
    out << "equal: " << count(r.common.size(), "entry", "entries") << " and the metadata match\n";
  } else {
    out << "differ: " << r.only_a.size() << " only in A, " << r.only_b.size() << " only in B, "
        << changed << " changed, " << count(r.metadata.size(), "metadata key", "metadata keys")
        << " changed\n";
  }
}
}  // namespace

int run_diff(const std::string& a, const std::string& b, bool json, std::ostream& out) {
  const Loaded la = load_file(a);
  const Loaded lb = load_file(b);
  const std::vector<Leaf> leaves_a = leaves(la.root);
  const std::vector<Leaf> leaves_b = leaves(lb.root);
  const Result r = diff(la, lb, leaves_a, leaves_b);
  if (json) {
    out << dump(to_json(r, la, lb, a, b)) << '\n';
  } else {
    print(r, la, lb, a, b, out);
  }
  return r.equal() ? kOk : kDiffer;
}

}  // namespace wick::cli
