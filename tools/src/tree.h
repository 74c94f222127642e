#pragma once
// Walking a value tree by dotted path (as io/FORMAT.md names tensors: "model.hidden.weight",
// list items by index), and comparing tensors.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "wick/io/value.h"

namespace wick::cli {

/// JSON that keeps keys in insertion order, so reports read top-down.
using Json = nlohmann::ordered_json;

/// Calls `fn(path, node)` for every node, parents before children; the root's path is "".
void for_each_node(const Value& root,
                   const std::function<void(const std::string&, const Value&)>& fn);

/// One leaf of a tree: a tensor, a scalar, or an empty list or dict.
struct Leaf {
  std::string path;
  const Value* value;
};

/// The leaves of `root` in tree order.
std::vector<Leaf> leaves(const Value& root);

/// The node at `path`, or nullptr.
const Value* find_node(const Value& root, std::string_view path);

/// Python-style repr of a value ("3", "'text'", "tensor([1., 2.])").
std::string repr(const Value& v);

/// "float32 [2, 3]" for a tensor, repr for anything else.
std::string describe(const Value& v);

/// Largest |a - b| over all elements, computed in float64. Elements equal as numbers count 0,
/// and so do NaNs facing NaNs; a NaN facing a number makes the result NaN. The shapes must match.
double max_abs_diff(const Tensor& a, const Tensor& b);

/// A scalar as JSON (none -> null); other values as their repr string.
Json to_json(const Value& v);

/// `j` indented by 2, invalid UTF-8 (keys may hold any bytes) replaced rather than thrown on.
std::string dump(const Json& j);

}  // namespace wick::cli
