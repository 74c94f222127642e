#pragma once
// Walking a value tree and naming its nodes by JSON pointer (io/FORMAT.md "Tree paths":
// "/model/hidden.weight", list items by index, '~' and '/' in keys written "~0" and "~1"), and
// comparing tensors.
//
// A walk keeps one path buffer that grows by a step on the way down and shrinks on the way back,
// so it costs the file's size and its deepest path, never the sum of every node's path (which a
// long key above many nodes makes the square of the file).

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "wick/core/value.h"
#include "wick/io/native/tree_path.h"

namespace wick::cli {

/// Called with a node's path (a buffer valid only during the call) and the node.
using NodeFn = io::NodeFn;

/// True for a tensor, a scalar, or an empty list or dict: what diff compares and info lists.
bool is_leaf(const Value& v);

/// Calls `fn` for every node, parents before children, in file order; the root's path is "".
using io::for_each_node;

/// Calls `fn` for every leaf in tree order.
void for_each_leaf(const Value& root, const NodeFn& fn);

/// A node and its JSON pointer.
struct Found {
  const Value* node = nullptr;
  std::string pointer;
};

/// The nodes `path` names: a JSON pointer ("" or starting with '/'): at most one; otherwise
/// the dotted spelling of PyTorch's state_dict keys ("model.hidden.weight", list items by
/// index), which keys holding dots can make name several nodes: up to `max` of them, so two
/// tell the caller it is ambiguous. ArgumentError for a malformed pointer.
std::vector<Found> find_nodes(const Value& root, std::string_view path, std::size_t max = 2);

/// Up to `n` pointers of nodes spelled like `path` (a pointer or a dotted path that names
/// nothing): nodes reached by following its steps with small typos (a few edits per step,
/// closest first), then the deepest nodes on its way that exist. Costs the tree's size times
/// the path's, never more.
std::vector<std::string> similar_paths(const Value& root, std::string_view path, std::size_t n = 5);

/// The part of `root` the JSON pointers `pointers` name (each must name a node): those subtrees
/// whole, and above them their ancestors holding only the selected children, in file order.
/// A list or tuple ancestor keeps the selected items only, so they are renumbered from 0.
Value select_subtrees(const Value& root, const std::vector<std::string>& pointers);

/// Python-style repr of a value ("3", "'text'", "tensor([1., 2.])").
std::string repr(const Value& v);

/// "float32 [2, 3]" for a tensor, "list (2 items)" or "dict (1 key)" for a container, repr for
/// anything else.
std::string describe(const Value& v);

/// Largest |a - b| over all elements, computed in float64. Elements equal as numbers count 0,
/// and so do NaNs facing NaNs; a NaN facing a number makes the result NaN. The shapes must match.
double max_abs_diff(const Tensor& a, const Tensor& b);

}  // namespace wick::cli
