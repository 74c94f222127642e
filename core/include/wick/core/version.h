#pragma once
/// \file
/// The library version.

#include <string_view>

namespace wick {

/// "major.minor.patch" of the wick library this program was linked with.
std::string_view version() noexcept;

}  // namespace wick
