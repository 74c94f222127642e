// wick::Key: accessors and Python's repr.

#include "wick/core/key.h"

#include <chrono>
#include <cstdint>
#include <ostream>
#include <random>
#include <sstream>

#include "repr.h"
#include "wick/core/error.h"

namespace wick {

namespace detail {
int64_t key_int(uint64_t v) {
  WICK_CHECK(v <= static_cast<uint64_t>(INT64_MAX), ArgumentError, "Key: ", v,
             " is above the largest int key, 2^63-1");
  return static_cast<int64_t>(v);
}

uint64_t key_hash_seed() noexcept {
  static const uint64_t seed = [] {
    try {
      std::random_device device;
      return (static_cast<uint64_t>(device()) << 32) ^ device();
    } catch (...) {
      // No entropy source: the clock and where this process was loaded still differ per run.
      return static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
             reinterpret_cast<uintptr_t>(&key_hash_seed);
    }
  }();
  return seed;
}
}  // namespace detail

const std::string& Key::str() const {
  if (const std::string* s = if_string()) return *s;
  throw ArgumentError(detail::cat("Key::str: the key is the int ", *if_int(), ", not a string"));
}

int64_t Key::as_int() const {
  if (const int64_t* i = if_int()) return *i;
  throw ArgumentError(detail::cat("Key::as_int: the key is the string ", repr(), ", not an int"));
}

std::string Key::repr() const {
  std::ostringstream out;
  out << *this;
  return out.str();
}

std::string Key::text() const {
  if (const std::string* s = if_string()) return *s;
  return std::to_string(*if_int());
}

std::ostream& operator<<(std::ostream& out, const Key& key) {
  if (const int64_t* i = key.if_int()) return out << *i;
  detail::write_string_repr(out, *key.if_string());
  return out;
}

}  // namespace wick
