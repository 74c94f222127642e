#pragma once
// Private: Python's repr of strings and floats, shared by Value and Key printing.

#include <iosfwd>
#include <string_view>

namespace wick::detail {

/// Python's str repr, quotes included; the string is taken as UTF-8 (details in repr.cpp).
void write_string_repr(std::ostream& out, std::string_view s);
/// Python's float repr: the shortest digits that round-trip ("0.1", "1e-05", "2.0", "nan").
void write_float_repr(std::ostream& out, double x);

}  // namespace wick::detail
