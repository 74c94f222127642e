#pragma once
/// \file
/// Tree paths: how wick names a node of a value tree, in every API and tool that prints or takes
/// one. The syntax is JSON Pointer (RFC 6901), so that no key can be mistaken for a path step:
/// "" is the root; each step is "/" followed by the dict key, with "~" written "~0" and "/"
/// written "~1", or by a list index in decimal. `{"model": {"hidden.weight": t}}` names `t`
/// "/model/hidden.weight"; `[t, u]` names them "/0" and "/1"; `{"a/b": t}` names it "/a~1b".

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wick/core/value.h"

namespace wick::io {

namespace detail {
struct PathTable;
}

/// The path of one node of a file's value tree, as Reader::entries() gives it. It refers to the
/// file's index instead of holding the text, so listing a file costs memory in proportion to
/// the file even when one long key sits above many tensors; str() spells it out.
class TreePath {
 public:
  /// The root ("").
  TreePath() = default;
  /// Node `node` of `table` (used by the readers).
  TreePath(std::shared_ptr<const detail::PathTable> table, uint32_t node) noexcept
      : table_(std::move(table)), node_(node) {}

  /// The JSON pointer, e.g. "/model/hidden.weight".
  std::string str() const;
  /// Bytes of str(), without building it.
  std::size_t size() const noexcept;
  /// True for the root (the empty pointer).
  bool empty() const noexcept { return size() == 0; }
  /// str(), so a path passes where a string is expected.
  operator std::string() const { return str(); }  // NOLINT: a path reads as its text

  /// True when str() is `b`.
  friend bool operator==(const TreePath& a, std::string_view b) {
    return a.size() == b.size() && a.str() == b;
  }
  /// True when both spell the same pointer.
  friend bool operator==(const TreePath& a, const TreePath& b) { return a == b.str(); }
  /// Writes str().
  friend std::ostream& operator<<(std::ostream& out, const TreePath& p);

 private:
  std::shared_ptr<const detail::PathTable> table_;
  uint32_t node_ = 0;
};

/// Appends the step into dict key `key` to `path`.
void append_path_key(std::string& path, std::string_view key);

/// Appends the step into list item `index` to `path`.
void append_path_index(std::string& path, std::size_t index);

/// The path of the dict-key steps `keys` below the root: {"model", "w"} -> "/model/w".
std::string path_of(const std::vector<std::string>& keys);

/// The unescaped steps of `path` ("" -> none). ArgumentError naming the path when it is not a
/// JSON Pointer: it does not start with "/", or has a "~" not followed by "0" or "1".
std::vector<std::string> split_path(std::string_view path);

/// True when `step` is how `path` names list item `index`: decimal digits without a leading zero.
bool is_index_step(std::string_view step, std::size_t& index) noexcept;

/// The int key `step` spells, if it is how a path spells one: decimal digits without a leading
/// zero, after a '-' for a negative key ("-0" spells none).
std::optional<int64_t> int_key_step(std::string_view step) noexcept;

/// The item of container `node` named by the unescaped `step`, or nullptr. A dict's int key is
/// named by its decimal digits, which no string key of a wick file's dict spells too.
const Value* child_node(const Value& node, std::string_view step);

/// The node of `root` that `path` names (a JSON pointer), or nullptr when there is none.
/// ArgumentError when `path` is not a JSON pointer.
const Value* find_node(const Value& root, std::string_view path);
/// find_node() for a tree the caller may change.
Value* find_node(Value& root, std::string_view path);

/// Called with each node's path and the node.
using NodeFn = std::function<void(const std::string& path, const Value& node)>;
/// Calls `fn` on every node of `root` in tree order, parents before their items. ArgumentError
/// for nesting deeper than 512 (the format's limit), before recursing further.
void for_each_node(const Value& root, const NodeFn& fn);

}  // namespace wick::io
