// wick::Key: accessors and Python's repr.

#include "wick/core/key.h"

#include <ostream>
#include <sstream>

#include "repr.h"
#include "wick/core/error.h"

namespace wick {

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
