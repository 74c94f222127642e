#include <cmath>
#include <cstdio>
#include <ostream>

#include "commands.h"
#include "errors.h"
#include "json_writer.h"
#include "source.h"
#include "table.h"
#include "text.h"
#include "tree.h"
#include "wick/core/ops.h"
#include "wick/io/native/reader.h"
#include "wick/io/native/tree_path.h"

namespace wick::cli {

namespace {
struct DiffInput {
  std::string file;
  Value root;
  Dict metadata;
  io::FileFormat format = io::FileFormat::Wick;
};

// "a.pt (PyTorch zip (torch.save))"; a wick file by its name alone.
std::string named(const DiffInput& d) {
  std::string s = shown(d.file, kMaxMessageBytes, Escape::kLine);
  if (d.format != io::FileFormat::Wick) s += " (" + std::string(format_label(d.format)) + ")";
  return s;
}

// Any format wick reads; foreign ones are loaded whole.
DiffInput load_file(const std::string& file) {
  cli::Loaded l = load_any(file);
  return DiffInput{file, std::move(l.root), std::move(l.metadata), l.format};
}

// ---- walking two trees side by side ----

enum class Side { kBoth, kOnlyA, kOnlyB };

/// Called for each leaf of either tree with its path (a buffer valid during the call), which
/// side has it, and the node on each side (nullptr on the side without it).
using PairFn =
    std::function<void(const std::string& path, Side side, const Value* a, const Value* b)>;

// Every leaf below `v`, which only one side has.
void walk_one_side(std::string& path, Side side, const Value& v, const PairFn& fn) {
  if (is_leaf(v)) {
    fn(path, side, side == Side::kOnlyA ? &v : nullptr, side == Side::kOnlyB ? &v : nullptr);
    return;
  }
  const std::size_t n = path.size();
  if (v.is_dict()) {
    for (const auto& [key, child] : v.dict()) {
      io::append_path_key(path, key.text());
      walk_one_side(path, side, child, fn);
      path.resize(n);
    }
    return;
  }
  for (std::size_t i = 0; i < v.size(); ++i) {
    io::append_path_index(path, i);
    walk_one_side(path, side, v[i], fn);
    path.resize(n);
  }
}

bool same_container_kind(const Value& a, const Value& b) {
  return (a.is_dict() && b.is_dict()) || (a.is_list() && b.is_list()) ||
         (a.is_tuple() && b.is_tuple());
}

// Matches the trees by structure: dict items by key, list items by index. A node that is a
// container on one side and anything else (or the other kind of container) on the other is
// one pair, compared as a whole: a list is never taken for a dict whose keys are "0", "1", ...,
// nor {"a.b": x} for {"a": {"b": x}}, however their paths print.
void walk_pair(std::string& path, const Value& a, const Value& b, const PairFn& fn) {
  if (!same_container_kind(a, b) || (a.size() == 0 && b.size() == 0)) {
    fn(path, Side::kBoth, &a, &b);
    return;
  }
  const std::size_t n = path.size();
  if (a.is_dict()) {
    for (const auto& [key, va] : a.dict()) {
      io::append_path_key(path, key.text());
      if (const Value* vb = b.dict().find(key)) {
        walk_pair(path, va, *vb, fn);
      } else {
        walk_one_side(path, Side::kOnlyA, va, fn);
      }
      path.resize(n);
    }
    for (const auto& [key, vb] : b.dict()) {
      if (a.dict().contains(key)) continue;
      io::append_path_key(path, key.text());
      walk_one_side(path, Side::kOnlyB, vb, fn);
      path.resize(n);
    }
    return;
  }
  const std::vector<Value>& la = a.is_list() ? a.list() : a.tuple();
  const std::vector<Value>& lb = b.is_list() ? b.list() : b.tuple();
  for (std::size_t i = 0; i < std::max(la.size(), lb.size()); ++i) {
    io::append_path_index(path, i);
    if (i < la.size() && i < lb.size()) {
      walk_pair(path, la[i], lb[i], fn);
    } else if (i < la.size()) {
      walk_one_side(path, Side::kOnlyA, la[i], fn);
    } else {
      walk_one_side(path, Side::kOnlyB, lb[i], fn);
    }
    path.resize(n);
  }
}

void walk(const DiffInput& a, const DiffInput& b, const PairFn& fn) {
  std::string path;
  walk_pair(path, a.root, b.root, fn);
}

// ---- comparing one pair ----

/// What differs between the two sides of a pair, as bits.
enum Change : uint8_t { kKind = 1, kDtype = 2, kShape = 4, kValues = 8, kValue = 16 };

struct Outcome {
  uint8_t changes = 0;
  std::optional<double> max_abs;  // tensors of one shape only
};

Outcome compare(const Value& a, const Value& b) {
  Outcome o;
  const auto container = [](const Value& v) { return v.is_dict() || v.is_list() || v.is_tuple(); };
  if (a.kind() != b.kind() && (container(a) || container(b))) {
    o.changes = kKind;
    return o;
  }
  if (!a.is_tensor() || !b.is_tensor()) {
    if (!(a == b)) o.changes = kValue;
    return o;
  }
  const Tensor& x = a.tensor();
  const Tensor& y = b.tensor();
  if (x.dtype() != y.dtype()) o.changes |= kDtype;
  if (x.shape() != y.shape()) {
    o.changes |= kShape;
    return o;
  }
  o.max_abs = max_abs_diff(x, y);
  // Bits decide equality: int64 beyond 2^53 or -0.0 vs 0.0 can differ at difference 0.
  if (x.dtype() == y.dtype() && !bitwise_equal(x, y)) o.changes |= kValues;
  if (x.dtype() != y.dtype() && *o.max_abs != 0.0) o.changes |= kValues;
  return o;
}

std::vector<std::string> change_names(uint8_t changes) {
  std::vector<std::string> names;
  for (const auto& [bit, name] : {std::pair<uint8_t, const char*>{kKind, "kind"},
                                  {kDtype, "dtype"},
                                  {kShape, "shape"},
                                  {kValues, "values"},
                                  {kValue, "value"}}) {
    if (changes & bit) names.emplace_back(name);
  }
  return names;
}

// "same", "dtype differs", "dtype and values differ".
std::string status(uint8_t changes) {
  const std::vector<std::string> names = change_names(changes);
  if (names.empty()) return "same";
  std::string s;
  for (std::size_t i = 0; i < names.size(); ++i)
    s += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
  return s + (names.size() > 1 || names[0] == "values" ? " differ" : " differs");
}

std::string number(std::optional<double> v) {
  if (!v) return "-";
  if (std::isnan(*v)) return "nan";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", *v);
  return buf;
}

std::string count(std::size_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// ---- the result: outcomes of the pairs in walk order, and counts ----

struct Result {
  std::vector<Outcome> outcomes;  // one per pair on both sides, in walk order
  std::size_t changed = 0, only_a = 0, only_b = 0;
  std::vector<const std::string*> metadata;  // keys that differ or exist on one side only
  std::size_t limit = 0;                     // 0: no limit

  std::size_t same() const { return outcomes.size() - changed; }
  std::size_t differences() const { return changed + only_a + only_b; }
  bool equal() const { return differences() == 0 && metadata.empty(); }
  bool within(std::size_t rank) const { return limit == 0 || rank < limit; }
  // Differences are listed first (up to the limit), entries that are the same with what room
  // is left, each in tree order.
  std::size_t same_room() const {
    return limit == 0 ? SIZE_MAX : limit - std::min(limit, differences());
  }
  std::size_t listed() const {
    const std::size_t d = limit == 0 ? differences() : std::min(limit, differences());
    return d + std::min(same(), same_room());
  }
  std::size_t not_listed() const { return outcomes.size() + only_a + only_b - listed(); }
  std::size_t metadata_listed() const {
    return limit == 0 ? metadata.size() : std::min(limit, metadata.size());
  }
};

Result diff(const DiffInput& a, const DiffInput& b, std::size_t limit) {
  Result r;
  r.limit = limit;
  walk(a, b, [&](const std::string&, Side side, const Value* va, const Value* vb) {
    if (side == Side::kOnlyA) {
      ++r.only_a;
    } else if (side == Side::kOnlyB) {
      ++r.only_b;
    } else {
      r.outcomes.push_back(compare(*va, *vb));
      r.changed += r.outcomes.back().changes != 0 ? 1 : 0;
    }
  });
  for (const auto& [key, value] : a.metadata) {
    const Value* other = b.metadata.find(key);
    if (other == nullptr || !(*other == value)) r.metadata.push_back(&key.str());
  }
  for (const auto& [key, value] : b.metadata) {
    if (!a.metadata.contains(key)) r.metadata.push_back(&key.str());
  }
  return r;
}

/// Called for each listed pair of one side, in tree order.
using ListedFn = std::function<void(const std::string& path, const Value* a, const Value* b,
                                    const Outcome* outcome)>;

// The listed pairs of `side`, by their rank: differences in the order common, only in A, only
// in B; then the pairs that are the same.
void for_each_listed(const DiffInput& a, const DiffInput& b, const Result& r, Side side,
                     const ListedFn& fn) {
  std::size_t pair = 0, changed = 0, same = 0, one_side = 0;
  const std::size_t first_rank = side == Side::kBoth    ? 0
                                 : side == Side::kOnlyA ? r.changed
                                                        : r.changed + r.only_a;
  walk(a, b, [&](const std::string& path, Side s, const Value* va, const Value* vb) {
    if (s != side) return;
    if (side != Side::kBoth) {
      if (r.within(first_rank + one_side++)) fn(path, va, vb, nullptr);
      return;
    }
    const Outcome& o = r.outcomes[pair++];
    const bool listed = o.changes != 0 ? r.within(changed++) : same++ < r.same_room();
    if (listed) fn(path, va, vb, &o);
  });
}

// ---- reports ----

std::string metadata_side(const Dict& metadata, const std::string& key) {
  const Value* v = metadata.find(key);
  return v == nullptr ? "-" : shown(repr(*v), kMaxShownBytes, Escape::kLine);
}

std::string shown_path(const std::string& path) {
  return path.empty() ? "(root)" : shown(path);
}

std::string cell(const Value* v) {
  return v == nullptr ? "-" : shown(describe(*v), kMaxShownBytes, Escape::kLine);
}

void print_entries(const DiffInput& a, const DiffInput& b, const Result& r, std::ostream& out) {
  print_table(
      out, {"path", "A", "B", "max abs diff", "status"}, {false, false, false, true, false}, "",
      [&](const RowSink& sink) {
        for_each_listed(
            a, b, r, Side::kBoth,
            [&](const std::string& path, const Value* va, const Value* vb, const Outcome* o) {
              sink({shown_path(path), cell(va), cell(vb), number(o->max_abs), status(o->changes)});
            });
        for (const Side side : {Side::kOnlyA, Side::kOnlyB}) {
          for_each_listed(
              a, b, r, side,
              [&](const std::string& path, const Value* va, const Value* vb, const Outcome*) {
                sink({shown_path(path), cell(va), cell(vb), "-",
                      side == Side::kOnlyA ? "only in A" : "only in B"});
              });
        }
      });
  if (r.not_listed() > 0) {
    const std::size_t listed_differences = std::min(r.limit, r.differences());
    out << "... and " << count(r.not_listed(), "more entry", "more entries") << " not listed ("
        << r.differences() - listed_differences << " of them differ; --limit 0 lists them all)\n";
  }
}

void print_metadata(const DiffInput& a, const DiffInput& b, const Result& r, std::ostream& out) {
  if (r.metadata.empty()) return;
  out << "metadata:\n";
  print_table(out, {"key", "A", "B"}, {}, "  ", [&](const RowSink& sink) {
    for (std::size_t i = 0; i < r.metadata_listed(); ++i) {
      const std::string& key = *r.metadata[i];
      sink({shown(key), metadata_side(a.metadata, key), metadata_side(b.metadata, key)});
    }
  });
  if (r.metadata_listed() < r.metadata.size()) {
    out << "  ... and " << count(r.metadata.size() - r.metadata_listed(), "more key", "more keys")
        << " not listed\n";
  }
}

void print(const DiffInput& a, const DiffInput& b, const Result& r, std::ostream& out) {
  out << "A: " << named(a) << "\nB: " << named(b) << '\n';
  print_entries(a, b, r, out);
  print_metadata(a, b, r, out);
  if (r.equal()) {
    out << "equal: " << count(r.outcomes.size(), "entry", "entries") << " and the metadata match\n";
  } else {
    out << "differ: " << r.only_a << " only in A, " << r.only_b << " only in B, " << r.changed
        << " changed, " << count(r.metadata.size(), "metadata key", "metadata keys")
        << " changed\n";
  }
}

void write_max_abs(JsonWriter& w, const Outcome& o) {
  w.key("max_abs_diff");
  if (!o.max_abs) {
    w.null();
  } else if (std::isnan(*o.max_abs)) {
    w.value("nan");
  } else {
    w.value(*o.max_abs);
  }
}

void write_one_side(JsonWriter& w, const DiffInput& a, const DiffInput& b, const Result& r,
                    Side side) {
  const char* name = side == Side::kOnlyA ? "a" : "b";
  w.key(side == Side::kOnlyA ? "only_in_a" : "only_in_b").begin_array();
  for_each_listed(a, b, r, side,
                  [&](const std::string& path, const Value* va, const Value* vb, const Outcome*) {
                    w.begin_object()
                        .field("path", path)
                        .field(name, describe(va != nullptr ? *va : *vb))
                        .end_object();
                  });
  w.end_array();
}

void write_json(const DiffInput& a, const DiffInput& b, const Result& r, std::ostream& out) {
  JsonWriter w(out);
  w.begin_object().field("a", a.file).field("b", b.file);
  w.field("a_format", io::format_name(a.format)).field("b_format", io::format_name(b.format));
  w.field("equal", r.equal());
  w.field("limit", r.limit);
  w.key("counts")
      .begin_object()
      .field("common", r.outcomes.size())
      .field("changed", r.changed)
      .field("same", r.same())
      .field("only_in_a", r.only_a)
      .field("only_in_b", r.only_b)
      .field("not_listed", r.not_listed())
      .field("metadata", r.metadata.size())
      .field("metadata_not_listed", r.metadata.size() - r.metadata_listed())
      .end_object();
  write_one_side(w, a, b, r, Side::kOnlyA);
  write_one_side(w, a, b, r, Side::kOnlyB);
  w.key("common").begin_array();
  for_each_listed(a, b, r, Side::kBoth,
                  [&](const std::string& path, const Value* va, const Value* vb, const Outcome* o) {
                    w.begin_object()
                        .field("path", path)
                        .field("a", describe(*va))
                        .field("b", describe(*vb))
                        .key("changes")
                        .begin_array();
                    for (const std::string& c : change_names(o->changes))
                      w.value(c);
                    w.end_array();
                    write_max_abs(w, *o);
                    w.end_object();
                  });
  w.end_array();
  w.key("metadata").begin_array();
  for (std::size_t i = 0; i < r.metadata_listed(); ++i) {
    const std::string& key = *r.metadata[i];
    const Value* va = a.metadata.find(key);
    const Value* vb = b.metadata.find(key);
    w.begin_object().field("key", key).key("a");
    va != nullptr ? w.value(*va) : w.null();
    w.key("b");
    vb != nullptr ? w.value(*vb) : w.null();
    w.end_object();
  }
  w.end_array().end_object().finish();
}
// The pointer `path` names in `d`, or "" when it names nothing there; Failure when ambiguous.
std::optional<std::string> pointer_in(const DiffInput& d, const std::string& path) {
  const std::vector<Found> found = find_nodes(d.root, path);
  if (found.empty()) return std::nullopt;
  if (found.size() > 1) {
    throw Failure(kUsage, "'" + shown(path) + "' names more than one entry in " + d.file + " ('" +
                              shown(found[0].pointer) + "', '" + shown(found[1].pointer) +
                              "'); name one by its JSON pointer");
  }
  return found[0].pointer;
}

// Both trees cut down to the subtree at `path` (paths stay whole); a side without it keeps
// nothing, so the other side's entries show as only there.
void restrict_to(DiffInput& a, DiffInput& b, const std::string& path) {
  const std::optional<std::string> pa = pointer_in(a, path);
  const std::optional<std::string> pb = pointer_in(b, path);
  if (!pa && !pb) {
    throw Failure(kUsage, "no entry '" + shown(path) + "' in " + a.file + " or " + b.file);
  }
  const std::string pointer = pa ? *pa : *pb;
  a.root = pa ? select_subtrees(a.root, {pointer}) : Value(Dict{});
  b.root = pointer_in(b, pointer) ? select_subtrees(b.root, {pointer}) : Value(Dict{});
}
}  // namespace

int run_diff(const std::string& a, const std::string& b, const std::optional<std::string>& path,
             bool json, std::size_t limit, std::ostream& out) {
  DiffInput la = load_file(a);
  DiffInput lb = load_file(b);
  if (path) restrict_to(la, lb, *path);
  const Result r = diff(la, lb, limit);
  if (json) {
    write_json(la, lb, r, out);
  } else {
    print(la, lb, r, out);
  }
  return r.equal() ? kOk : kDiffer;
}

}  // namespace wick::cli
