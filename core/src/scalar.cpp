#include "wick/core/scalar.h"

#include <cmath>
#include <ostream>

namespace wick {

int64_t Scalar::to_int64() const noexcept {
  return kind_ == Kind::Float ? convert_value<int64_t>(d_) : i_;
}

std::ostream& operator<<(std::ostream& out, const Scalar& s) {
  switch (s.kind()) {
    case Scalar::Kind::Bool:
      return out << (s.to_bool() ? "True" : "False");
    case Scalar::Kind::Int:
      return out << s.to_int64();
    case Scalar::Kind::Float: {
      const double v = s.to_double();
      if (std::isnan(v)) return out << "nan";
      if (std::isinf(v)) return out << (v > 0 ? "inf" : "-inf");
      return out << v;
    }
  }
  return out;
}

}  // namespace wick
