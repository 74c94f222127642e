#pragma once
// Private: which tensors of a value a writer stores as one record and views of it (FORMAT.md
// "Writers", views sharing a storage).

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "wick/core/tensor.h"
#include "wick/core/value.h"

namespace wick::io::detail {

/// Tensors of one storage and dtype that a 2.1 writer stores as one record: the storage's
/// elements from the first any of them reaches to the last ([first, end)), held by `record`.
/// `record` is a member when one covers exactly that run in row-major order (its shape is
/// kept), else the run as a 1-d tensor.
struct ViewGroup {
  uint64_t first = 0;
  uint64_t end = 0;
  Tensor record;
};

/// The groups of a value: tensors that view one storage with one dtype, at least two of them
/// distinct, each with an element and reaching no element twice. Every other tensor is stored
/// on its own, as in 1.0 (expanded and empty views are copies; see FORMAT.md "Writers").
class ViewPlan {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;
  explicit ViewPlan(const Value& root);
  explicit ViewPlan(const TensorDict& tensors);
  /// `tensors` in the order a writer meets them (tensors_in_tree_order()).
  explicit ViewPlan(std::vector<const Tensor*> tensors);
  /// True when some storage is shared: the value needs format 2.1 to keep it.
  bool any() const noexcept { return !groups_.empty(); }
  /// The index of `t`'s group, or kNone when `t` is stored on its own.
  uint32_t find(const Tensor& t) const;
  const ViewGroup& group(uint32_t i) const noexcept { return groups_[i]; }
  std::size_t size() const noexcept { return groups_.size(); }

 private:
  void plan(std::vector<const Tensor*> tensors);
  static ViewGroup make_group(std::vector<const Tensor*>::const_iterator from,
                              std::vector<const Tensor*>::const_iterator to);
  std::vector<ViewGroup> groups_;
  // Only shared storages; a state_dict of separate parameters leaves it empty.
  std::unordered_multimap<const Storage*, uint32_t> by_storage_;
};

/// The tensors of `root` in tree order, the order a writer meets them (so that a group's record
/// is chosen the same way from a Value as from a TensorDict). Sets `*needs_2_0` when the tree
/// holds a tuple or a dict with an int key (FORMAT.md "Version history").
std::vector<const Tensor*> tensors_in_tree_order(const Value& root, bool* needs_2_0 = nullptr);

/// True when `t` is its group's record in the record's own layout: the first element, the
/// record's shape and row-major order (strides of size-1 dimensions do not matter). Such a
/// tensor is written as the record (tag 6), any other member as a view (tag 11).
bool is_record_layout(const Tensor& t, const ViewGroup& g);

/// The view of `t` into its group's record: offset from the record's first element.
uint64_t offset_in_record(const Tensor& t, const ViewGroup& g);

}  // namespace wick::io::detail
