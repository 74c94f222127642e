// FORMAT.md "Writers", views: which tensors of a value share one record.

#include "native/views.h"

#include <algorithm>
#include <cstdint>
#include <functional>

#include "native/format.h"

namespace wick::io::detail {

namespace {
// A tensor a view row can describe: an element, non-negative strides, no element reached twice
// (FORMAT.md "Kind 2: index", part 4). Expanded views (stride 0) and empty ones are copies.
bool shareable(const Tensor& t) {
  // Strides are never negative: the Tensor constructor refuses them.
  if (!t.defined() || t.numel() == 0 || t.dim() > kMaxRank) return false;
  return element_span(static_cast<uint64_t>(t.offset()), t.shape(), t.strides()).has_value() &&
         steps_past_smaller_dims(t.shape(), t.strides());
}

// One layout, whatever the strides of size-1 dimensions: those reach no other element.
bool same_layout(const Tensor& a, const Tensor& b) {
  return a.offset() == b.offset() && a.shape() == b.shape() &&
         layout_strides(a.shape(), a.strides()) == layout_strides(b.shape(), b.strides());
}

// The tensors whose storage another tensor of the list also views, found with one flat
// open-addressing table of storage addresses (no allocation per tensor): most values share
// nothing, and then this pass is all a save pays for views.
std::vector<const Tensor*> on_repeated_storages(const std::vector<const Tensor*>& tensors) {
  std::size_t capacity = 16;
  while (capacity < 2 * tensors.size())
    capacity *= 2;
  struct Slot {
    const Storage* storage = nullptr;
    bool repeated = false;
  };
  std::vector<Slot> table(capacity);
  const auto slot_of = [&](const Storage* s) -> Slot& {
    // Fibonacci hashing of the address; addresses come from this process, not from a file.
    std::size_t i = (reinterpret_cast<std::uintptr_t>(s) * 0x9E3779B97F4A7C15ull) >> 20;
    while (true) {
      Slot& slot = table[i & (capacity - 1)];
      if (slot.storage == nullptr || slot.storage == s) return slot;
      ++i;
    }
  };
  bool any = false;
  for (const Tensor* t : tensors) {
    if (!t->defined()) continue;
    Slot& slot = slot_of(t->storage().get());
    any |= slot.storage != nullptr;
    slot.repeated |= slot.storage != nullptr;
    slot.storage = t->storage().get();
  }
  std::vector<const Tensor*> out;
  if (!any) return out;
  for (const Tensor* t : tensors)
    if (t->defined() && slot_of(t->storage().get()).repeated) out.push_back(t);
  return out;
}
}  // namespace

std::vector<const Tensor*> tensors_in_tree_order(const Value& root, bool* needs_2_0) {
  std::vector<const Tensor*> out;
  std::vector<const Value*> pending{&root};  // an explicit stack: trees may nest 512 deep
  while (!pending.empty()) {
    const Value& v = *pending.back();
    pending.pop_back();
    if (v.is_tensor()) {
      out.push_back(&v.tensor());
    } else if (v.is_list() || v.is_tuple()) {
      if (v.is_tuple() && needs_2_0 != nullptr) *needs_2_0 = true;
      for (std::size_t i = v.size(); i-- > 0;)  // pushed last to first: popped in order
        pending.push_back(&v[i]);
    } else if (v.is_dict()) {
      const auto& items = v.dict().items();
      for (auto it = items.rbegin(); it != items.rend(); ++it) {
        if (it->first.is_int() && needs_2_0 != nullptr) *needs_2_0 = true;
        pending.push_back(&it->second);
      }
    }
  }
  return out;
}

ViewPlan::ViewPlan(const Value& root) : ViewPlan(tensors_in_tree_order(root)) {}

ViewPlan::ViewPlan(const TensorDict& dict) {
  std::vector<const Tensor*> tensors;
  tensors.reserve(dict.size());
  for (const auto& [key, t] : dict)
    tensors.push_back(&t);
  plan(std::move(tensors));
}

ViewPlan::ViewPlan(std::vector<const Tensor*> tensors) {
  plan(std::move(tensors));
}

// Sorted by storage and dtype, each run of tensors is one candidate group.
void ViewPlan::plan(std::vector<const Tensor*> all) {
  std::vector<const Tensor*> tensors = on_repeated_storages(all);
  std::erase_if(tensors, [](const Tensor* t) { return !shareable(*t); });
  const auto key = [](const Tensor* t) { return std::pair(t->storage().get(), t->dtype()); };
  // std::less: addresses of unrelated storages have no order under <.
  std::stable_sort(tensors.begin(), tensors.end(), [&](const Tensor* a, const Tensor* b) {
    const auto [sa, da] = key(a);
    const auto [sb, db] = key(b);
    return sa != sb ? std::less<const Storage*>{}(sa, sb) : da < db;
  });
  for (auto run = tensors.begin(); run != tensors.end();) {
    const auto end =
        std::find_if(run, tensors.end(), [&](const Tensor* t) { return key(t) != key(*run); });
    const bool shared =
        std::any_of(run, end, [&](const Tensor* t) { return !same_layout(*t, **run); });
    if (shared) {
      by_storage_.emplace(key(*run).first, static_cast<uint32_t>(groups_.size()));
      groups_.push_back(make_group(run, end));
    }
    run = end;
  }
}

// The run of the storage the members reach, held by a member covering it row-major, else by
// the run itself as a 1-d tensor.
ViewGroup ViewPlan::make_group(std::vector<const Tensor*>::const_iterator from,
                               std::vector<const Tensor*>::const_iterator to) {
  ViewGroup g{UINT64_MAX, 0, {}};
  for (auto it = from; it != to; ++it) {
    const Tensor& t = **it;
    const ElementSpan s = *element_span(static_cast<uint64_t>(t.offset()), t.shape(), t.strides());
    g.first = std::min(g.first, s.first);
    g.end = std::max(g.end, s.end);
  }
  for (auto it = from; it != to && !g.record.defined(); ++it) {
    const Tensor& t = **it;
    if (static_cast<uint64_t>(t.offset()) == g.first &&
        static_cast<uint64_t>(t.numel()) == g.end - g.first &&
        is_row_major(t.shape(), t.strides())) {
      g.record = t;
    }
  }
  if (!g.record.defined()) {
    const Tensor& t = **from;
    g.record = Tensor(t.storage(), {static_cast<int64_t>(g.end - g.first)}, {1},
                      static_cast<int64_t>(g.first), t.dtype());
  }
  return g;
}

uint32_t ViewPlan::find(const Tensor& t) const {
  if (by_storage_.empty() || !t.defined()) return kNone;
  const auto [from, to] = by_storage_.equal_range(t.storage().get());
  for (auto it = from; it != to; ++it) {
    const ViewGroup& g = groups_[it->second];
    if (g.record.dtype() == t.dtype() && shareable(t)) return it->second;
  }
  return kNone;
}

bool is_record_layout(const Tensor& t, const ViewGroup& g) {
  return t.shape() == g.record.shape() && static_cast<uint64_t>(t.offset()) == g.first &&
         is_row_major(t.shape(), t.strides());
}

uint64_t offset_in_record(const Tensor& t, const ViewGroup& g) {
  return static_cast<uint64_t>(t.offset()) - g.first;
}

}  // namespace wick::io::detail
