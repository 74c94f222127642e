// xoshiro256++ (Blackman & Vigna, https://prng.di.unimi.it/xoshiro256plusplus.c) seeded with
// splitmix64, Box-Muller normals, and the tensor factories built on them.
//
// get_state() layout, kStateBytes = 56 bytes, every field a little-endian uint64:
//   [0, 32)   xoshiro256++ state words s[0], s[1], s[2], s[3] (never all zero)
//   [32, 40)  seed of the last manual_seed()
//   [40, 48)  1 when a second Box-Muller normal is cached, else 0
//   [48, 56)  the cached normal as IEEE-754 binary64 bits (0 when none is cached)

#include "wick/core/random.h"

#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <numbers>
#include <type_traits>

#include "wick/core/convert.h"
#include "wick/core/creation.h"

namespace wick {
namespace {

constexpr int64_t kSeedOffset = 32;
constexpr int64_t kFlagOffset = 40;
constexpr int64_t kNormalOffset = 48;
static_assert(Generator::kStateBytes == kNormalOffset + 8);

uint64_t splitmix64(uint64_t& x) noexcept {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void store_u64(uint8_t* out, uint64_t v) noexcept {
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint64_t load_u64(const uint8_t* in) noexcept {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<uint64_t>(in[i]) << (8 * i);
  return v;
}

template <class T>
inline constexpr bool is_float_elem_v = std::is_floating_point_v<T> || detail::is_half_like_v<T>;

void check_floating(DType dtype, const char* op) {
  WICK_CHECK(is_floating(dtype), ArgumentError, op,
             ": expected a floating dtype (float16, bfloat16, float32 or float64), got ", dtype);
}

/// Fills a new tensor with sample(TypeTag<T>) for each element, in row-major order.
template <class Sample>
Tensor generate(const Shape& shape, DType dtype, const char* op, Sample&& sample) {
  check_floating(dtype, op);
  Tensor out = empty(shape, dtype);
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_float_elem_v<T>) {
      T* p = out.data<T>();
      for (int64_t i = 0; i < out.numel(); ++i)
        p[i] = sample(tag);
    }
  });
  return out;
}

/// Largest finite value of a floating element type, as double.
template <class T>
double max_finite() noexcept {
  if constexpr (std::is_same_v<T, Half>) {
    return 65504.0;
  } else if constexpr (std::is_same_v<T, BFloat16>) {
    return static_cast<double>(static_cast<float>(BFloat16::from_bits(0x7F7F)));
  } else {
    return static_cast<double>(std::numeric_limits<T>::max());
  }
}

template <class T>
double to_double(T v) noexcept {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<double>(v);
  } else {
    return static_cast<double>(static_cast<float>(v));
  }
}

/// The next representable value below finite `v` (never called with the most negative one).
template <class T>
T next_below(T v) noexcept {
  if constexpr (std::is_floating_point_v<T>) {
    return std::nextafter(v, -std::numeric_limits<T>::infinity());
  } else {
    const uint16_t magnitude = v.bits & 0x7FFF;
    if (magnitude == 0) return T::from_bits(0x8001);  // below +-0: the negative smallest subnormal
    const bool negative = (v.bits & 0x8000) != 0;
    return T::from_bits(static_cast<uint16_t>(negative ? v.bits + 1 : v.bits - 1));
  }
}

}  // namespace

void Generator::manual_seed(uint64_t seed) {
  seed_ = seed;
  uint64_t x = seed;
  // splitmix64 is a bijection of its counter, so four consecutive outputs are never all zero.
  for (auto& word : s_)
    word = splitmix64(x);
  has_cached_normal_ = false;
  cached_normal_ = 0.0;
}

uint64_t Generator::next_u64() noexcept {
  const uint64_t result = std::rotl(s_[0] + s_[3], 23) + s_[0];
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = std::rotl(s_[3], 45);
  return result;
}

float Generator::next_float() noexcept {
  return static_cast<float>(next_u64() >> 40) * 0x1p-24f;
}

double Generator::next_double() noexcept {
  return static_cast<double>(next_u64() >> 11) * 0x1p-53;
}

double Generator::next_normal() noexcept {
  if (has_cached_normal_) {
    has_cached_normal_ = false;
    const double z = cached_normal_;
    cached_normal_ = 0.0;
    return z;
  }
  const double u1 = 1.0 - next_double();  // in (0, 1], so the log is finite
  const double u2 = next_double();
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double theta = 2.0 * std::numbers::pi * u2;
  cached_normal_ = r * std::sin(theta);
  has_cached_normal_ = true;
  return r * std::cos(theta);
}

Tensor Generator::get_state() const {
  Tensor state = empty({kStateBytes}, kUInt8);
  uint8_t* p = state.data<uint8_t>();
  for (std::size_t i = 0; i < s_.size(); ++i)
    store_u64(p + 8 * i, s_[i]);
  store_u64(p + kSeedOffset, seed_);
  store_u64(p + kFlagOffset, has_cached_normal_ ? 1 : 0);
  store_u64(p + kNormalOffset, has_cached_normal_ ? std::bit_cast<uint64_t>(cached_normal_) : 0);
  return state;
}

void Generator::set_state(const Tensor& state) {
  constexpr const char* kOp = "Generator::set_state";
  WICK_CHECK(state.defined(), ArgumentError, kOp,
             ": expected a uint8 tensor from get_state(), got an undefined tensor");
  WICK_CHECK(state.dtype() == kUInt8, ArgumentError, kOp, ": expected dtype ", kUInt8, ", got ",
             state.dtype());
  WICK_CHECK(state.dim() == 1 && state.numel() == kStateBytes, ShapeError, kOp,
             ": expected shape [", kStateBytes, "], got ", shape_str(state.shape()));
  const Tensor bytes = state.contiguous();
  const uint8_t* p = bytes.data<uint8_t>();

  std::array<uint64_t, 4> s{};
  for (std::size_t i = 0; i < s.size(); ++i)
    s[i] = load_u64(p + 8 * i);
  WICK_CHECK(s[0] != 0 || s[1] != 0 || s[2] != 0 || s[3] != 0, FormatError, kOp,
             ": expected a xoshiro256++ state with a nonzero word, got all four words zero");
  const uint64_t flag = load_u64(p + kFlagOffset);
  WICK_CHECK(flag <= 1, FormatError, kOp, ": expected cached-normal flag 0 or 1 at byte ",
             kFlagOffset, ", got ", flag);
  const double cached = flag == 1 ? std::bit_cast<double>(load_u64(p + kNormalOffset)) : 0.0;
  WICK_CHECK(std::isfinite(cached), FormatError, kOp, ": expected a finite cached normal at byte ",
             kNormalOffset, ", got ", cached);

  s_ = s;
  seed_ = load_u64(p + kSeedOffset);
  has_cached_normal_ = flag == 1;
  cached_normal_ = cached;
}

bool Generator::operator==(const Generator& other) const noexcept {
  if (s_ != other.s_ || has_cached_normal_ != other.has_cached_normal_) return false;
  return !has_cached_normal_ ||
         std::bit_cast<uint64_t>(cached_normal_) == std::bit_cast<uint64_t>(other.cached_normal_);
}

Generator& default_generator() noexcept {
  static Generator gen;
  return gen;
}

void manual_seed(uint64_t seed) {
  default_generator().manual_seed(seed);
}

Tensor rand(const Shape& shape, Generator& gen, DType dtype) {
  return generate(shape, dtype, "rand", [&gen](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, double>) {
      return gen.next_double();
    } else if constexpr (std::is_same_v<T, float>) {
      return gen.next_float();
    } else {
      // k * 2^-digits on the 16-bit type's own significand grid: exact, so never rounds up to 1.
      constexpr int kDigits = std::is_same_v<T, Half> ? 11 : 8;
      const auto k = static_cast<float>(gen.next_u64() >> (64 - kDigits));
      return T(std::ldexp(k, -kDigits));
    }
  });
}

Tensor rand(const Shape& shape, DType dtype) {
  return rand(shape, default_generator(), dtype);
}

Tensor randn(const Shape& shape, Generator& gen, DType dtype) {
  return generate(shape, dtype, "randn", [&gen](auto tag) {
    using T = typename decltype(tag)::type;
    return convert_value<T>(gen.next_normal());  // one rounding from double
  });
}

Tensor randn(const Shape& shape, DType dtype) {
  return randn(shape, default_generator(), dtype);
}

Tensor uniform(const Shape& shape, double low, double high, Generator& gen, DType dtype) {
  check_floating(dtype, "uniform");
  WICK_CHECK(low <= high, ArgumentError, "uniform: expected low <= high, got low ", low,
             " and high ", high);  // also rejects NaN
  WICK_CHECK(std::isfinite(high - low), ArgumentError, "uniform: expected a finite range, got [",
             low, ", ", high, ")");
  const double limit = visit_dtype(dtype, [](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_float_elem_v<T>) return max_finite<T>();
    return 0.0;
  });
  WICK_CHECK(-limit <= low && high <= limit, ArgumentError, "uniform: expected bounds within +-",
             limit, " for ", dtype, ", got [", low, ", ", high, ")");
  return generate(shape, dtype, "uniform", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const double u =
        std::is_same_v<T, double> ? gen.next_double() : static_cast<double>(gen.next_float());
    T v = convert_value<T>(low + (high - low) * u);
    // Rounding (in double, then to T) can land on `high`; the value below is then nearest.
    if (low < high && to_double(v) >= high) v = next_below(v);
    return v;
  });
}

}  // namespace wick
