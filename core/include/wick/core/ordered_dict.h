#pragma once
/// \file
/// An insertion-ordered string-keyed map, the shape of Python's dict and PyTorch's state dicts.

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "wick/core/error.h"

namespace wick {

/// Ordered string -> V map with O(1) lookup; iteration follows insertion order; keys are unique.
template <class V>
class OrderedDict {
 public:
  using Item = std::pair<std::string, V>;
  using iterator = typename std::vector<Item>::iterator;
  using const_iterator = typename std::vector<Item>::const_iterator;

  OrderedDict() = default;
  /// Builds from pairs; ArgumentError on a duplicate key.
  OrderedDict(std::initializer_list<Item> items) {
    for (const auto& item : items)
      insert(item.first, item.second);
  }

  /// Appends `key`; ArgumentError naming the key when it is already present.
  void insert(std::string key, V value) {
    WICK_CHECK(!index_.contains(key), ArgumentError, "dict insert: duplicate key '", key, "'");
    index_.emplace(key, items_.size());
    items_.emplace_back(std::move(key), std::move(value));
  }
  /// Sets `key`: replaces the value in place when present, appends otherwise.
  void insert_or_assign(std::string key, V value) {
    if (auto it = index_.find(key); it != index_.end()) {
      items_[it->second].second = std::move(value);
    } else {
      insert(std::move(key), std::move(value));
    }
  }
  /// True when `key` is present.
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  /// Pointer to the value for `key`, or nullptr.
  const V* find(std::string_view key) const {
    auto it = index_.find(std::string(key));
    return it == index_.end() ? nullptr : &items_[it->second].second;
  }
  V* find(std::string_view key) {
    return const_cast<V*>(static_cast<const OrderedDict*>(this)->find(key));
  }
  /// The value for `key`; ArgumentError naming the key and the keys present when absent.
  const V& at(std::string_view key) const {
    if (const V* v = find(key)) return *v;
    std::string available;
    for (const auto& item : items_)
      available += (available.empty() ? "'" : ", '") + item.first + "'";
    throw ArgumentError(detail::cat("dict lookup: no key '", key, "' (keys: ",
                                    available.empty() ? std::string("none") : available, ")"));
  }
  V& at(std::string_view key) {
    return const_cast<V&>(static_cast<const OrderedDict*>(this)->at(key));
  }

  std::size_t size() const noexcept { return items_.size(); }
  bool empty() const noexcept { return items_.empty(); }
  iterator begin() noexcept { return items_.begin(); }
  iterator end() noexcept { return items_.end(); }
  const_iterator begin() const noexcept { return items_.begin(); }
  const_iterator end() const noexcept { return items_.end(); }
  /// The keys in order.
  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    out.reserve(items_.size());
    for (const auto& item : items_)
      out.push_back(item.first);
    return out;
  }
  /// The items in order.
  const std::vector<Item>& items() const noexcept { return items_; }

 private:
  std::vector<Item> items_;
  std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace wick
