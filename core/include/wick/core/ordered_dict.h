#pragma once
/// \file
/// An insertion-ordered map, the shape of Python's dict and PyTorch's state dicts.

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "wick/core/error.h"
#include "wick/core/key.h"

namespace wick {

namespace detail {
/// How a key is named in messages: 'name' for strings, Key::repr() for Value keys.
inline std::string key_repr(std::string_view key) {
  return cat("'", key, "'");
}
inline std::string key_repr(const std::string& key) {
  return key_repr(std::string_view(key));
}
inline std::string key_repr(const Key& key) {
  return key.repr();
}
}  // namespace detail

/// Ordered K -> V map with O(1) lookup; iteration follows insertion order; keys are unique.
/// K is std::string (TensorDict) or Key (the dicts of a Value, whose keys may be ints).
template <class V, class K = std::string>
class OrderedDict {
 public:
  /// One entry: key and value.
  using Item = std::pair<K, V>;
  /// What lookups take: a string_view for string keys, a Key (implicit from both) otherwise.
  using KeyRef = std::conditional_t<std::is_same_v<K, std::string>, std::string_view, const K&>;
  /// Iterators over the Items in insertion order.
  ///@{
  using iterator = typename std::vector<Item>::iterator;
  using const_iterator = typename std::vector<Item>::const_iterator;
  ///@}

  OrderedDict() = default;
  /// Builds from pairs; ArgumentError on a duplicate key.
  OrderedDict(std::initializer_list<Item> items) {
    for (const auto& item : items)
      insert(item.first, item.second);
  }

  /// Appends `key`; ArgumentError naming the key when it is already present.
  void insert(K key, V value) {
    WICK_CHECK(!index_.contains(key), ArgumentError, "dict insert: duplicate key ",
               detail::key_repr(key));
    index_.emplace(key, items_.size());
    items_.emplace_back(std::move(key), std::move(value));
  }
  /// Sets `key`: replaces the value in place when present, appends otherwise.
  void insert_or_assign(K key, V value) {
    if (auto it = index_.find(key); it != index_.end()) {
      items_[it->second].second = std::move(value);
    } else {
      insert(std::move(key), std::move(value));
    }
  }
  /// True when `key` is present.
  bool contains(KeyRef key) const { return find(key) != nullptr; }
  /// Pointer to the value for `key`, or nullptr.
  const V* find(KeyRef key) const {
    const auto it = index_find(key);
    return it == index_.end() ? nullptr : &items_[it->second].second;
  }
  /// Pointer to the value for `key`, or nullptr.
  V* find(KeyRef key) { return const_cast<V*>(static_cast<const OrderedDict*>(this)->find(key)); }
  /// The value for `key`; ArgumentError naming the key and the keys present when absent.
  const V& at(KeyRef key) const {
    if (const V* v = find(key)) return *v;
    std::string available;
    for (const auto& item : items_)
      available += (available.empty() ? "" : ", ") + detail::key_repr(item.first);
    throw ArgumentError(detail::cat("dict lookup: no key ", detail::key_repr(key), " (keys: ",
                                    available.empty() ? std::string("none") : available, ")"));
  }
  /// The value for `key`; ArgumentError naming the key and the keys present when absent.
  V& at(KeyRef key) { return const_cast<V&>(static_cast<const OrderedDict*>(this)->at(key)); }

  /// Removes `key` (Python's `del d[key]`), keeping the order of the rest; ArgumentError naming
  /// the key when it is absent (Python raises KeyError). O(size()): later items move up by one.
  void erase(KeyRef key) { (void)remove_at(index_find_or_throw(key, "erase")); }
  /// Removes `key` and returns its value (`d.pop(key)`); ArgumentError naming the key when absent.
  V pop(KeyRef key) { return remove_at(index_find_or_throw(key, "pop")); }
  /// Removes `key` and returns its value, or returns `fallback` when it is absent
  /// (`d.pop(key, default)`).
  V pop(KeyRef key, V fallback) {
    const auto it = index_find(key);
    return it == index_.end() ? fallback : remove_at(it);
  }

  /// Number of entries.
  std::size_t size() const noexcept { return items_.size(); }
  /// True when there are no entries.
  bool empty() const noexcept { return items_.empty(); }
  /// Iteration over the Items in insertion order.
  ///@{
  iterator begin() noexcept { return items_.begin(); }
  iterator end() noexcept { return items_.end(); }
  const_iterator begin() const noexcept { return items_.begin(); }
  const_iterator end() const noexcept { return items_.end(); }
  ///@}
  /// The keys in order.
  std::vector<K> keys() const {
    std::vector<K> out;
    out.reserve(items_.size());
    for (const auto& item : items_)
      out.push_back(item.first);
    return out;
  }
  /// The items in order.
  const std::vector<Item>& items() const noexcept { return items_; }

 private:
  using Index = std::unordered_map<K, std::size_t>;

  typename Index::const_iterator index_find(KeyRef key) const {
    if constexpr (std::is_same_v<K, std::string>) {
      return index_.find(std::string(key));
    } else {
      return index_.find(key);
    }
  }
  typename Index::const_iterator index_find_or_throw(KeyRef key, const char* op) const {
    const auto it = index_find(key);
    WICK_CHECK(it != index_.end(), ArgumentError, "dict ", op, ": no key ", detail::key_repr(key));
    return it;
  }
  // Erases the item `it` points at and renumbers the ones after it, so index_ stays exact.
  V remove_at(typename Index::const_iterator it) {
    const std::size_t pos = it->second;
    V value = std::move(items_[pos].second);
    index_.erase(it);
    items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(pos));
    for (std::size_t i = pos; i < items_.size(); ++i)
      index_.find(items_[i].first)->second = i;
    return value;
  }

  std::vector<Item> items_;
  Index index_;
};

}  // namespace wick
