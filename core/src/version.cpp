#include "wick/core/version.h"

namespace wick {

std::string_view version() noexcept {
  return WICK_VERSION_STRING;
}

}  // namespace wick
