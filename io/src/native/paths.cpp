// FORMAT.md "Tree paths": naming and finding nodes of an index's value tree without ever
// holding every path at once.

#include <algorithm>
#include <array>
#include <charconv>
#include <ostream>

#include "native/format.h"
#include "wick/core/error.h"
#include "wick/io/native/tree_path.h"

namespace wick::io::detail {

namespace {
bool is_container(const FlatNode& n) {
  return (is_sequence_tag(n.tag) || is_dict_tag(n.tag)) && n.n > 0;
}

uint64_t escaped_size(std::string_view key) {
  return key.size() + static_cast<uint64_t>(std::count(key.begin(), key.end(), '~')) +
         static_cast<uint64_t>(std::count(key.begin(), key.end(), '/'));
}

uint64_t decimal_size(uint32_t v) {
  uint64_t n = 1;
  while (v >= 10) {
    v /= 10;
    ++n;
  }
  return n;
}

// Parent, ordinal and path length of every node, with one stack of open containers.
void link_nodes(PathTable& t) {
  const Index& index = *t.index;
  const std::size_t n = index.tree.size();
  t.parent.assign(n, PathTable::kNone);
  t.ordinal.assign(n, 0);
  t.length.assign(n, 0);
  struct Open {
    uint32_t node;
    uint32_t next;
    uint32_t left;
  };
  std::vector<Open> stack;
  for (uint32_t i = 0; i < n; ++i) {
    const FlatNode& node = index.tree[i];
    if (!stack.empty()) {
      Open& p = stack.back();
      t.parent[i] = p.node;
      t.ordinal[i] = p.next++;
      const bool in_dict = is_dict_tag(index.tree[p.node].tag);
      Index::KeyDigits digits;
      t.length[i] = t.length[p.node] + 1 +
                    (in_dict ? escaped_size(index.key(node, digits)) : decimal_size(t.ordinal[i]));
    }
    if (is_container(node)) {
      stack.push_back(Open{i, 0, node.n});
      continue;
    }
    while (!stack.empty() && --stack.back().left == 0)
      stack.pop_back();
  }
}

// Items grouped by container (a counting sort on the parent keeps file order within a group),
// then each dict's group sorted by key for binary search.
void group_children(PathTable& t) {
  const Index& index = *t.index;
  const std::size_t n = index.tree.size();
  t.first.assign(n + 1, 0);
  for (uint32_t i = 0; i < n; ++i)
    if (t.parent[i] != PathTable::kNone) ++t.first[t.parent[i] + 1];
  for (std::size_t i = 0; i < n; ++i)
    t.first[i + 1] += t.first[i];
  t.children.assign(n == 0 ? 0 : n - 1, 0);
  std::vector<uint32_t> fill(t.first.begin(), t.first.end() - 1);
  for (uint32_t i = 0; i < n; ++i)
    if (t.parent[i] != PathTable::kNone) t.children[fill[t.parent[i]]++] = i;
  for (uint32_t i = 0; i < n; ++i) {
    if (!is_dict_tag(index.tree[i].tag)) continue;
    std::sort(t.children.begin() + t.first[i], t.children.begin() + t.first[i + 1],
              [&](uint32_t a, uint32_t b) {
                Index::KeyDigits da, db;
                return index.key(index.tree[a], da) < index.key(index.tree[b], db);
              });
  }
}

void append_step(const PathTable& t, uint32_t node, std::string& out) {
  const uint32_t parent = t.parent[node];
  if (is_dict_tag(t.index->tree[parent].tag)) {
    Index::KeyDigits digits;
    append_path_key(out, t.index->key(t.index->tree[node], digits));
  } else {
    append_path_index(out, t.ordinal[node]);
  }
}
}  // namespace

std::shared_ptr<const PathTable> build_path_table(std::shared_ptr<const Index> index) {
  auto t = std::make_shared<PathTable>();
  t->index = std::move(index);
  link_nodes(*t);
  group_children(*t);
  return t;
}

std::string PathTable::path(uint32_t node) const {
  std::vector<uint32_t> chain;  // at most the nesting limit deep
  for (uint32_t at = node; parent[at] != kNone; at = parent[at])
    chain.push_back(at);
  std::string out;
  out.reserve(static_cast<std::size_t>(length[node]));
  for (auto it = chain.rbegin(); it != chain.rend(); ++it)
    append_step(*this, *it, out);
  return out;
}

uint32_t PathTable::child(uint32_t node, std::string_view step) const {
  const FlatNode& n = index->tree[node];
  if (!is_container(n)) return kNone;
  const auto begin = children.begin() + first[node];
  const auto end = children.begin() + first[node + 1];
  if (is_sequence_tag(n.tag)) {
    std::size_t i = 0;
    return is_index_step(step, i) && i < n.n ? *(begin + static_cast<std::ptrdiff_t>(i)) : kNone;
  }
  Index::KeyDigits digits;
  const auto it = std::lower_bound(begin, end, step, [&](uint32_t c, std::string_view k) {
    return index->key(index->tree[c], digits) < k;
  });
  // No int key is spelled like a string key of its dict (FORMAT.md "Values"), so at most one
  // item has this step.
  return it != end && index->key(index->tree[*it], digits) == step ? *it : kNone;
}

uint32_t PathTable::find(std::string_view path_text) const {
  if (index->tree.empty()) return kNone;
  uint32_t node = 0;
  for (const std::string& step : split_path(path_text)) {
    node = child(node, step);
    if (node == kNone) return kNone;
  }
  return node;
}

std::vector<uint32_t> PathTable::find_dotted(std::string_view dotted) const {
  // Each node is reached through one parent at one position of `dotted`, so the search visits
  // every node at most once however the keys' dots make the spelling ambiguous.
  std::vector<uint32_t> found;
  if (index->tree.empty()) return found;
  std::vector<std::pair<uint32_t, std::size_t>> todo{{0, 0}};
  while (!todo.empty()) {
    const auto [node, at] = todo.back();
    todo.pop_back();
    const FlatNode& n = index->tree[node];
    if (at == dotted.size() || (node == 0 && dotted.empty())) {
      if (is_tensor_tag(n.tag)) found.push_back(node);
      continue;
    }
    if (!is_container(n)) continue;
    const std::string_view rest = dotted.substr(at);
    // Every prefix of `rest` that ends at a '.' or at the end may be the next key.
    for (std::size_t end = rest.find('.');; end = rest.find('.', end + 1)) {
      const std::string_view step = rest.substr(0, end);
      if (const uint32_t c = child(node, step); c != kNone) {
        todo.emplace_back(c, end == std::string_view::npos ? dotted.size() : at + end + 1);
      }
      if (end == std::string_view::npos) break;
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

namespace {

// One row of Levenshtein's table (the distances of every prefix of the query to one path
// prefix of length `len`), kept only on the diagonal band |j - len| <= k, outside which no cell
// can be k or less: each step costs 2k + 1 cells whatever the query's length.
struct Band {
  static constexpr int kWidth = 2 * PathTable::kMaxEdits + 1;
  uint64_t len = 0;
  std::array<uint32_t, kWidth> cell{};
};

class EditSearch {
 public:
  EditSearch(std::string_view query, uint32_t k) : q_(query), k_(k) {}

  // The row of the empty path.
  Band root() const {
    Band b;
    for (int d = 0; d < Band::kWidth; ++d)
      b.cell[d] = at_root(d);
    return b;
  }
  // Extends `b` by `c`; false once every cell exceeds k (no extension can come back).
  bool feed(Band& b, char c) const {
    Band n;
    n.len = b.len + 1;
    bool alive = false;
    for (int d = 0; d < Band::kWidth; ++d) {
      const int64_t j = static_cast<int64_t>(n.len) - k_ + d;
      uint32_t v = kFar;
      if (j == 0) {
        v = static_cast<uint32_t>(std::min<uint64_t>(n.len, kFar));
      } else if (j > 0 && j <= static_cast<int64_t>(q_.size())) {
        v = std::min({get(b, j) + 1, d > 0 ? n.cell[d - 1] + 1 : kFar,
                      get(b, j - 1) + (q_[static_cast<std::size_t>(j - 1)] != c)});
      }
      n.cell[d] = std::min(v, kFar);
      alive = alive || n.cell[d] <= k_;
    }
    b = n;
    return alive;
  }
  // The distance of the whole query to the path `b` ends, or kFar.
  uint32_t distance(const Band& b) const { return get(b, static_cast<int64_t>(q_.size())); }

 private:
  static constexpr uint32_t kFar = PathTable::kMaxEdits + 1;

  uint32_t at_root(int d) const {
    const int64_t j = d - static_cast<int64_t>(k_);
    return j < 0 || j > static_cast<int64_t>(q_.size()) ? kFar : static_cast<uint32_t>(j);
  }
  uint32_t get(const Band& b, int64_t j) const {
    const int64_t d = j - static_cast<int64_t>(b.len) + k_;
    return d < 0 || d >= Band::kWidth || j < 0 ? kFar : b.cell[static_cast<std::size_t>(d)];
  }

  std::string_view q_;
  int64_t k_;
};

// Feeds one path step (separator and key, or list index) of `node`; false when it strays too
// far. Pointer keys are fed escaped, as the pointer spells them.
bool feed_step(const EditSearch& s, const PathTable& t, uint32_t node, bool pointer, Band& b) {
  const uint32_t parent = t.parent[node];
  if ((pointer || parent != 0) && !s.feed(b, pointer ? '/' : '.')) return false;
  std::array<char, 20> digits;
  std::string_view key;
  Index::KeyDigits key_digits;
  if (is_dict_tag(t.index->tree[parent].tag)) {
    key = t.index->key(t.index->tree[node], key_digits);
  } else {
    const auto [end, ec] =
        std::to_chars(digits.data(), digits.data() + digits.size(), t.ordinal[node]);
    key = std::string_view(digits.data(), static_cast<std::size_t>(end - digits.data()));
  }
  for (const char c : key) {
    const bool alive = !pointer || (c != '~' && c != '/')
                           ? s.feed(b, c)
                           : s.feed(b, '~') && s.feed(b, c == '~' ? '0' : '1');
    if (!alive) return false;
  }
  return true;
}

// Inserts (d, node) after every kept candidate at most d away (nodes come in tree order, so
// ties stay in tree order) and drops the farthest beyond `max`.
void keep_best(std::vector<std::pair<uint32_t, uint32_t>>& best, uint32_t d, uint32_t node,
               std::size_t max) {
  auto at = best.begin();
  while (at != best.end() && at->first <= d)
    ++at;
  if (static_cast<std::size_t>(at - best.begin()) >= max) return;
  best.insert(at, {d, node});
  if (best.size() > max) best.pop_back();
}

}  // namespace

// One pass over the tree in pre-order with a stack of the rows of the open ancestors. A node's
// key is fed only while some cell stays within k, and every cell of a row for a path longer
// than the query plus k exceeds k, so the stack holds at most |query| + k + 1 rows and each
// node costs at most (its key's bytes + 1) * (2k + 1) cells: O(query) memory, O(tree) time.
std::vector<uint32_t> PathTable::close_tensors(std::string_view query, std::size_t max) const {
  std::vector<std::pair<uint32_t, uint32_t>> best;  // (distance, node), closest first, <= max
  const std::size_t n = index->tree.size();
  if (n == 0 || max == 0) return {};
  const auto k = static_cast<uint32_t>(std::clamp<std::size_t>(query.size() / 3, 1, kMaxEdits));
  const bool pointer = !query.empty() && query.front() == '/';
  const EditSearch search(query, k);
  std::vector<std::pair<uint32_t, Band>> open{{0, search.root()}};
  std::vector<bool> alive(n, false);
  alive[0] = true;
  for (uint32_t node = 1; node < n; ++node) {
    const uint32_t p = parent[node];
    if (!alive[p]) continue;
    while (open.back().first != p)
      open.pop_back();
    Band b = open.back().second;
    if (!feed_step(search, *this, node, pointer, b)) continue;
    alive[node] = true;
    if (is_tensor_tag(index->tree[node].tag)) {
      if (const uint32_t d = search.distance(b); d <= k) keep_best(best, d, node, max);
    }
    if (is_container(index->tree[node])) open.emplace_back(node, b);
  }
  std::vector<uint32_t> out;
  for (const auto& [d, node] : best)
    out.push_back(node);
  return out;
}

std::string tensor_name(const Index& index, uint32_t id) {
  // The first reference in pre-order; its path is rebuilt with a stack of open containers.
  struct Open {
    uint32_t node;
    uint32_t next;
    uint32_t left;
  };
  std::vector<Open> stack;
  for (uint32_t i = 0; i < index.tree.size(); ++i) {
    const FlatNode& node = index.tree[i];
    if (!stack.empty()) ++stack.back().next;
    if (is_tensor_tag(node.tag) && index.record_of(node) == id) {
      // stack[k] holds the step at depth k: its current item is stack[k + 1], or this node.
      std::string path;
      for (std::size_t k = 0; k < stack.size(); ++k) {
        const Open& o = stack[k];
        const uint32_t item = k + 1 < stack.size() ? stack[k + 1].node : i;
        if (is_dict_tag(index.tree[o.node].tag)) {
          Index::KeyDigits digits;
          append_path_key(path, index.key(index.tree[item], digits));
        } else {
          append_path_index(path, o.next - 1);
        }
      }
      return "'" + path + "'";
    }
    if (is_container(node)) {
      stack.push_back(Open{i, 0, node.n});
      continue;
    }
    while (!stack.empty() && --stack.back().left == 0)
      stack.pop_back();
  }
  return wick::detail::cat("#", id);
}

}  // namespace wick::io::detail

namespace wick::io {

std::string TreePath::str() const {
  return table_ ? table_->path(node_) : std::string();
}

std::size_t TreePath::size() const noexcept {
  return table_ ? static_cast<std::size_t>(table_->length[node_]) : 0;
}

std::ostream& operator<<(std::ostream& out, const TreePath& p) {
  return out << p.str();
}

}  // namespace wick::io
