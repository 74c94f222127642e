// Conversions between float/double and the 16-bit formats, written once for any pair of IEEE
// layouts so that every path rounds exactly once from the source value.

#include "wick/core/half.h"

#include <bit>
#include <cstdint>

namespace wick {
namespace {

/// IEEE-style binary layout: `Bits` is the unsigned integer of the same width.
template <class Bits, int kExpBits, int kMantBits>
struct Layout {
  using U = Bits;
  static constexpr int kWidth = 8 * static_cast<int>(sizeof(Bits));
  static constexpr int kMant = kMantBits;
  static constexpr int kBias = (1 << (kExpBits - 1)) - 1;
  static constexpr U kSign = U{1} << (kWidth - 1);
  static constexpr U kExpMask = static_cast<U>(((U{1} << kExpBits) - 1) << kMantBits);
  static constexpr U kMantMask = static_cast<U>((U{1} << kMantBits) - 1);
  static constexpr U kQuiet = U{1} << (kMantBits - 1);
};

using F64 = Layout<uint64_t, 11, 52>;
using F32 = Layout<uint32_t, 8, 23>;
using F16 = Layout<uint16_t, 5, 10>;
using BF16 = Layout<uint16_t, 8, 7>;

/// Rounds the value encoded by `bits` (layout Src) to layout Dst, nearest with ties to even.
/// Dst must be narrower than Src in both exponent and significand.
template <class Dst, class Src>
typename Dst::U narrow(typename Src::U bits) noexcept {
  using DU = typename Dst::U;
  using SU = typename Src::U;
  const DU sign = (bits & Src::kSign) ? Dst::kSign : DU{0};
  const SU exp_field = bits & Src::kExpMask;
  const SU mant = bits & Src::kMantMask;

  if (exp_field == Src::kExpMask) {
    if (mant == 0) return static_cast<DU>(sign | Dst::kExpMask);
    // Keep the top payload bits, and force the quiet bit so no payload can collapse to inf.
    const auto payload = static_cast<DU>(mant >> (Src::kMant - Dst::kMant));
    return static_cast<DU>(sign | Dst::kExpMask | Dst::kQuiet | payload);
  }

  // value = sig * 2^e exactly.
  SU sig = mant;
  int e = 1 - Src::kBias - Src::kMant;
  if (exp_field != 0) {
    sig |= SU{1} << Src::kMant;
    e = static_cast<int>(exp_field >> Src::kMant) - Src::kBias - Src::kMant;
  }
  if (sig == 0) return sign;

  // The value's binade is 2^top; Dst represents it as k * 2^quantum with k < 2^(Dst::kMant+1),
  // where the quantum stops shrinking below Dst's smallest normal binade (subnormals).
  const int top = static_cast<int>(std::bit_width(sig)) - 1 + e;
  if (top > Dst::kBias) return static_cast<DU>(sign | Dst::kExpMask);
  constexpr int kMinNormal = 1 - Dst::kBias;
  const int quantum = (top > kMinNormal ? top : kMinNormal) - Dst::kMant;
  const int shift = quantum - e;  // > 0 because Dst has fewer significand bits than Src.

  SU k = 0;
  if (shift <= Src::kMant + 1) {  // otherwise value < quantum / 2: rounds to zero
    const SU rem = sig & ((SU{1} << shift) - 1);
    const SU half = SU{1} << (shift - 1);
    k = sig >> shift;
    if (rem > half || (rem == half && (k & 1) != 0)) ++k;
  }
  // For normal results the implicit bit of k lands on the exponent field's lowest bit, so a
  // carry out of the significand (k == 2^(kMant+1)) moves to the next binade by itself, and a
  // subnormal that rounds up to 2^kMant becomes the smallest normal.
  const int binade = top > kMinNormal ? top - kMinNormal : 0;
  const SU magnitude = (static_cast<SU>(binade) << Dst::kMant) + k;
  if (magnitude >= Dst::kExpMask) return static_cast<DU>(sign | Dst::kExpMask);
  return static_cast<DU>(sign | static_cast<DU>(magnitude));
}

/// Exact widening of a 16-bit layout to float bits; NaNs come out quiet with their payload.
template <class Src>
uint32_t widen(uint16_t bits) noexcept {
  const uint32_t sign = (bits & Src::kSign) ? F32::kSign : 0u;
  const uint32_t exp_field = (bits & Src::kExpMask) >> Src::kMant;
  uint32_t mant = bits & Src::kMantMask;
  constexpr int kShift = F32::kMant - Src::kMant;

  if (exp_field == (Src::kExpMask >> Src::kMant)) {
    if (mant == 0) return sign | F32::kExpMask;
    return sign | F32::kExpMask | F32::kQuiet | (mant << kShift);
  }
  if (exp_field == 0) {
    if (mant == 0) return sign;
    if constexpr (Src::kBias == F32::kBias) {
      return sign | (mant << kShift);  // same exponent range: float subnormal as well
    } else {
      // Normalise: move the leading one up to the implicit position.
      const int lead = static_cast<int>(std::bit_width(mant)) - 1;
      const int normal_shift = Src::kMant - lead;
      mant = (mant << normal_shift) & Src::kMantMask;
      const auto exp = static_cast<uint32_t>(1 - Src::kBias - normal_shift + F32::kBias);
      return sign | (exp << F32::kMant) | (mant << kShift);
    }
  }
  const uint32_t exp = exp_field - static_cast<uint32_t>(Src::kBias) + F32::kBias;
  return sign | (exp << F32::kMant) | (mant << kShift);
}

}  // namespace

uint16_t float_to_half_bits(float value) noexcept {
  return narrow<F16, F32>(std::bit_cast<uint32_t>(value));
}

uint16_t double_to_half_bits(double value) noexcept {
  return narrow<F16, F64>(std::bit_cast<uint64_t>(value));
}

float half_bits_to_float(uint16_t bits) noexcept {
  return std::bit_cast<float>(widen<F16>(bits));
}

uint16_t float_to_bfloat16_bits(float value) noexcept {
  return narrow<BF16, F32>(std::bit_cast<uint32_t>(value));
}

uint16_t double_to_bfloat16_bits(double value) noexcept {
  return narrow<BF16, F64>(std::bit_cast<uint64_t>(value));
}

float bfloat16_bits_to_float(uint16_t bits) noexcept {
  return std::bit_cast<float>(widen<BF16>(bits));
}

}  // namespace wick
