#include "tree.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <sstream>

#include "table.h"
#include "wick/core/error.h"
#include "wick/io/native/tree_path.h"

namespace wick::cli {

namespace {
std::vector<Found> find_pointer(const Value& root, std::string_view path) {
  const Value* node = &root;
  for (const std::string& step : io::split_path(path)) {
    node = io::child_node(*node, step);
    if (node == nullptr) return {};
  }
  return {Found{node, std::string(path)}};
}

// Each node is reached from one parent at one position of `dotted`, so the search visits every
// node at most once however the keys' dots make the spelling ambiguous.
std::vector<Found> find_dotted(const Value& root, std::string_view dotted, std::size_t max) {
  static constexpr std::size_t kDone = std::string_view::npos;
  struct Todo {
    const Value* node;
    std::size_t at;  // where the next step starts, or kDone
    std::string pointer;
  };
  std::vector<Found> found;
  std::vector<Todo> todo{{&root, 0, ""}};
  while (!todo.empty() && found.size() < max) {
    Todo t = std::move(todo.back());
    todo.pop_back();
    if (t.at == kDone) {
      found.push_back(Found{t.node, std::move(t.pointer)});
      continue;
    }
    const std::string_view rest = dotted.substr(t.at);
    // Every prefix of `rest` that ends at a '.' or at the end may be the next key.
    for (std::size_t end = rest.find('.');; end = rest.find('.', end + 1)) {
      const std::string_view step = rest.substr(0, end);
      if (const Value* c = io::child_node(*t.node, step)) {
        std::string pointer = t.pointer;
        io::append_path_key(pointer, step);
        todo.push_back(Todo{c, end == kDone ? kDone : t.at + end + 1, std::move(pointer)});
      }
      if (end == kDone) break;
    }
  }
  return found;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::vector<std::string> steps_of(std::string_view path) {
  if (path.empty() || path.front() == '/') return io::split_path(path);
  std::vector<std::string> steps;
  for (std::size_t start = 0;;) {
    const std::size_t end = path.find('.', start);
    steps.emplace_back(path.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return steps;
    start = end + 1;
  }
}

// A node reached by following a path's steps, some of them with typos.
struct Candidate {
  const Value* node;
  std::string pointer;
  std::size_t cost;   // edits summed over the steps
  std::size_t depth;  // steps followed
};

// The items of `c` within a few edits of `step`. A key far longer or shorter than the step
// cannot be close, so only keys of about the step's length pay for an edit distance.
void close_children(const Candidate& c, std::string_view step, std::vector<Candidate>& out) {
  const std::size_t limit = std::max<std::size_t>(2, step.size() / 4);
  if (c.node->is_list() || c.node->is_tuple()) {
    if (const Value* item = io::child_node(*c.node, step)) {
      std::string pointer = c.pointer;
      io::append_path_key(pointer, step);
      out.push_back(Candidate{item, std::move(pointer), c.cost, c.depth + 1});
    }
    return;
  }
  if (!c.node->is_dict()) return;
  for (const auto& [k, value] : c.node->dict()) {
    const std::string key = k.text();
    const std::size_t gap =
        key.size() > step.size() ? key.size() - step.size() : step.size() - key.size();
    if (gap > limit) continue;
    const std::size_t d = key == step ? 0 : edit_distance(key, step);
    if (d > limit) continue;
    std::string pointer = c.pointer;
    io::append_path_key(pointer, key);
    out.push_back(Candidate{&value, std::move(pointer), c.cost + d, c.depth + 1});
  }
}
// The selections below one node: the steps each has left (an empty one selects the node).
using Selections = std::vector<std::vector<std::string>>;

// The selections that go on into the child named `step` (unescaped), without that step.
Selections into(const Selections& sel, std::string_view step) {
  Selections out;
  for (const auto& steps : sel) {
    if (!steps.empty() && steps.front() == step) out.emplace_back(steps.begin() + 1, steps.end());
  }
  return out;
}

// Recursion is bounded by the pointers' lengths, themselves bounded by the tree's depth.
Value select(const Value& node, const Selections& sel) {
  for (const auto& steps : sel) {
    if (steps.empty()) return node;  // the whole subtree
  }
  if (node.is_dict()) {
    Dict out;
    for (const auto& [key, child] : node.dict()) {
      const Selections below = into(sel, key.text());
      if (!below.empty()) out.insert(key, select(child, below));
    }
    return out;
  }
  std::vector<Value> items;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const Selections below = into(sel, std::to_string(i));
    if (!below.empty()) items.push_back(select(node[i], below));
  }
  if (node.is_tuple()) return Tuple(std::move(items));
  return List(std::move(items));
}
}  // namespace

Value select_subtrees(const Value& root, const std::vector<std::string>& pointers) {
  Selections sel;
  for (const std::string& p : pointers)
    sel.push_back(io::split_path(p));
  return select(root, sel);
}

bool is_leaf(const Value& v) {
  return (!v.is_dict() && !v.is_list() && !v.is_tuple()) || v.size() == 0;
}

void for_each_leaf(const Value& root, const NodeFn& fn) {
  io::for_each_node(root, [&](const std::string& path, const Value& v) {
    if (is_leaf(v)) fn(path, v);
  });
}

std::vector<Found> find_nodes(const Value& root, std::string_view path, std::size_t max) {
  if (path.empty() || path.front() == '/') return find_pointer(root, path);
  return find_dotted(root, path, max);
}

std::vector<std::string> similar_paths(const Value& root, std::string_view path, std::size_t n) {
  constexpr std::size_t kBeam = 5;  // candidates followed from one step to the next
  const auto by_cost = [](const Candidate& x, const Candidate& y) { return x.cost < y.cost; };
  std::vector<Candidate> beam{Candidate{&root, "", 0, 0}};
  std::vector<Candidate> seen;
  for (const std::string& step : steps_of(path)) {
    std::vector<Candidate> next;
    for (const Candidate& c : beam)
      close_children(c, step, next);
    if (next.empty()) break;
    std::stable_sort(next.begin(), next.end(), by_cost);
    if (next.size() > kBeam) next.resize(kBeam);
    seen.insert(seen.end(), next.begin(), next.end());
    beam = std::move(next);
  }
  // Deepest first (closest to what was asked for), then fewest edits.
  std::stable_sort(seen.begin(), seen.end(), [](const Candidate& x, const Candidate& y) {
    return x.depth != y.depth ? x.depth > y.depth : x.cost < y.cost;
  });
  std::vector<std::string> out;
  for (const Candidate& c : seen) {
    if (out.size() == n) break;
    if (std::find(out.begin(), out.end(), c.pointer) == out.end()) out.push_back(c.pointer);
  }
  return out;
}

std::string repr(const Value& v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

std::string describe(const Value& v) {
  if (v.is_tensor()) return describe(v.tensor().dtype(), v.tensor().shape());
  if (v.is_list() || v.is_tuple()) {
    return std::string(kind_name(v.kind())) + " (" + std::to_string(v.size()) +
           (v.size() == 1 ? " item)" : " items)");
  }
  if (v.is_dict())
    return "dict (" + std::to_string(v.size()) + (v.size() == 1 ? " key)" : " keys)");
  return repr(v);
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  WICK_CHECK(a.shape() == b.shape(), ShapeError,
             "max_abs_diff: shapes differ: ", shape_str(a.shape()), " vs ", shape_str(b.shape()));
  // Converted to float64 a chunk at a time, so a huge tensor needs no float64 copy of itself.
  constexpr int64_t kChunk = int64_t{1} << 16;
  const int64_t n = a.numel();
  const Tensor fa = a.contiguous().view({n});
  const Tensor fb = b.contiguous().view({n});
  double worst = 0.0;
  for (int64_t start = 0; start < n; start += kChunk) {
    const int64_t end = std::min(n, start + kChunk);
    const Tensor x = fa.slice(0, start, end).to(kFloat64).contiguous();
    const Tensor y = fb.slice(0, start, end).to(kFloat64).contiguous();
    const auto xs = x.span<double>();
    const auto ys = y.span<double>();
    for (std::size_t i = 0; i < xs.size(); ++i) {
      if (xs[i] == ys[i] || (std::isnan(xs[i]) && std::isnan(ys[i]))) continue;
      const double d = std::fabs(xs[i] - ys[i]);
      if (std::isnan(d)) return std::numeric_limits<double>::quiet_NaN();
      worst = std::max(worst, d);
    }
  }
  return worst;
}

}  // namespace wick::cli
