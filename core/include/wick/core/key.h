#pragma once
/// \file
/// wick::Key: the key of a Value dict, a string or an int, as in the dicts PyTorch saves
/// (module state is keyed by name, optimizer state by parameter index).

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <variant>

namespace wick {

namespace detail {
/// Character types are not ints here: `dict.at('a')` must not look up the key 97.
template <class T>
concept KeyInt =
    std::integral<T> && !std::same_as<T, bool> && !std::same_as<T, char> &&
    !std::same_as<T, signed char> && !std::same_as<T, unsigned char> && !std::same_as<T, wchar_t> &&
    !std::same_as<T, char8_t> && !std::same_as<T, char16_t> && !std::same_as<T, char32_t>;
/// `v` as an int key; ArgumentError for an unsigned value above INT64_MAX.
int64_t key_int(uint64_t v);
/// A per-process random seed mixed into int keys' hashes, so that no file can choose keys that
/// all land in one hash bucket (which would make loading it quadratic).
uint64_t key_hash_seed() noexcept;
}  // namespace detail

/// A dict key: a string or an int. Converts implicitly from both, so `dict["w"]` and
/// `dict.at(0)` read naturally. The int 0 and the string "0" are different keys, as in Python.
class Key {
 public:
  /// The empty string key.
  Key() = default;
  /// A string key, or an int key from any integer type (implicit: `dict["w"]`, `dict.at(0)`).
  ///@{
  Key(std::string s) : v_(std::move(s)) {}         // NOLINT: implicit by design
  Key(const char* s) : v_(std::string(s)) {}       // NOLINT
  Key(std::string_view s) : v_(std::string(s)) {}  // NOLINT
  template <detail::KeyInt T>
  Key(T v)  // NOLINT: implicit by design
      : v_(std::is_signed_v<T> ? static_cast<int64_t>(v)
                               : detail::key_int(static_cast<uint64_t>(v))) {}
  ///@}

  /// Which of the two the key is.
  ///@{
  bool is_string() const noexcept { return v_.index() == 0; }
  bool is_int() const noexcept { return v_.index() == 1; }
  ///@}
  /// The string; ArgumentError for an int key.
  const std::string& str() const;
  /// The int; ArgumentError for a string key.
  int64_t as_int() const;
  /// Python's repr: `'name'` (quoted and escaped like a Value string) or `3`.
  std::string repr() const;
  /// The key as a path step or a flattened name: the string itself, or the int in decimal.
  std::string text() const;

  /// Same kind and same value (the int 0 is not the string "0").
  friend bool operator==(const Key&, const Key&) = default;
  /// String keys before int keys; strings by bytes, ints by value.
  friend auto operator<=>(const Key&, const Key&) = default;

  /// The string, or nullptr for an int key (for callers that handle both without throwing).
  const std::string* if_string() const noexcept { return std::get_if<std::string>(&v_); }
  /// The int, or nullptr for a string key.
  const int64_t* if_int() const noexcept { return std::get_if<int64_t>(&v_); }

 private:
  std::variant<std::string, int64_t> v_;
};

/// Prints repr().
std::ostream& operator<<(std::ostream& out, const Key& key);

}  // namespace wick

/// Int keys are mixed with a per-process random seed (splitmix64's finalizer): std::hash of an
/// integer is the integer itself, so a file could otherwise pick keys that all share a bucket.
template <>
struct std::hash<wick::Key> {
  std::size_t operator()(const wick::Key& k) const noexcept {
    if (const int64_t* i = k.if_int()) {
      uint64_t z = static_cast<uint64_t>(*i) ^ wick::detail::key_hash_seed();
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      return static_cast<std::size_t>(z ^ (z >> 31));
    }
    return std::hash<std::string>{}(*k.if_string());
  }
};
