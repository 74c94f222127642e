// Generator (xoshiro256++ / splitmix64 / Box-Muller), its saved state, and rand/randn/uniform.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <numbers>
#include <set>
#include <string>
#include <vector>

#include "wick/core/creation.h"
#include "wick/core/random.h"

namespace wick {
namespace {

// Reference algorithms transcribed from https://prng.di.unimi.it/ (xoshiro256plusplus.c and
// splitmix64.c), kept deliberately naive.
struct RefXoshiro {
  uint64_t s[4];
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t next() {
    const uint64_t result = rotl(s[0] + s[3], 23) + s[0];
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
};

struct RefSplitMix {
  uint64_t x;
  uint64_t next() {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
};

RefXoshiro seeded_reference(uint64_t seed) {
  RefSplitMix sm{seed};
  RefXoshiro x{};
  for (auto& w : x.s)
    w = sm.next();
  return x;
}

// A state tensor in the documented layout (see random.cpp).
Tensor make_state(std::array<uint64_t, 4> words, uint64_t seed = 0, uint64_t flag = 0,
                  uint64_t normal_bits = 0) {
  Tensor t = empty({Generator::kStateBytes}, kUInt8);
  uint8_t* p = t.data<uint8_t>();
  const uint64_t fields[7] = {words[0], words[1], words[2], words[3], seed, flag, normal_bits};
  for (int f = 0; f < 7; ++f)
    for (int b = 0; b < 8; ++b)
      p[8 * f + b] = static_cast<uint8_t>(fields[f] >> (8 * b));
  return t;
}

std::vector<uint8_t> state_bytes(const Generator& g) {
  const Tensor s = g.get_state();
  const uint8_t* p = s.data<uint8_t>();
  return std::vector<uint8_t>(p, p + s.numel());
}

template <class T>
std::vector<T> values(const Tensor& t) {
  const T* p = t.data<T>();
  return std::vector<T>(p, p + t.numel());
}

template <class Error>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception";
  return {};
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// ---------------------------------------------------------------------------------------------
// The raw stream

TEST(Generator, KnownStateMatchesPublishedXoshiro256PlusPlusOutputs) {
  Generator g;
  g.set_state(make_state({1, 2, 3, 4}));
  // First outputs of xoshiro256plusplus.c from s = {1, 2, 3, 4}.
  const uint64_t published[] = {0x0000000002800001ULL, 0x0000000003800067ULL,
                                0x000cc00003800067ULL, 0x000cc201994400b2ULL,
                                0x8012a2019ac433cdULL, 0x8a69978acdee33baULL};
  for (const uint64_t v : published)
    EXPECT_EQ(g.next_u64(), v);
  RefXoshiro ref{{1, 2, 3, 4}};
  for (int i = 0; i < 6; ++i)
    ref.next();
  for (int i = 0; i < 1000; ++i)
    ASSERT_EQ(g.next_u64(), ref.next()) << i;
}

TEST(Generator, SeedsThroughSplitMix64) {
  // Published splitmix64 outputs for x = 0.
  RefSplitMix sm{0};
  EXPECT_EQ(sm.next(), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(sm.next(), 0x6e789e6aa1b965f4ULL);
  for (const uint64_t seed : {uint64_t{0}, uint64_t{1}, uint64_t{42}, Generator::kDefaultSeed,
                              std::numeric_limits<uint64_t>::max()}) {
    Generator g(seed);
    EXPECT_EQ(g.initial_seed(), seed);
    RefXoshiro ref = seeded_reference(seed);
    for (int i = 0; i < 100; ++i)
      ASSERT_EQ(g.next_u64(), ref.next()) << "seed " << seed << " output " << i;
  }
  EXPECT_EQ(Generator().initial_seed(), Generator::kDefaultSeed);
  EXPECT_TRUE(Generator() == Generator(Generator::kDefaultSeed));
}

TEST(Generator, SameSeedSameStreamDifferentSeedsDiffer) {
  Generator a(7), b(7);
  for (int i = 0; i < 1000; ++i)
    ASSERT_EQ(a.next_u64(), b.next_u64());
  std::set<uint64_t> firsts;
  for (uint64_t seed = 0; seed < 200; ++seed)
    firsts.insert(Generator(seed).next_u64());
  EXPECT_EQ(firsts.size(), 200u);
  Generator c(1), d(2);
  int equal = 0;
  for (int i = 0; i < 100; ++i)
    equal += c.next_u64() == d.next_u64();
  EXPECT_EQ(equal, 0);
}

TEST(Generator, ManualSeedRestartsTheStreamAndDropsTheCachedNormal) {
  Generator g(5);
  const double first = g.next_normal();  // leaves the pair's second value cached
  g.next_u64();
  g.manual_seed(5);
  EXPECT_TRUE(g == Generator(5));
  EXPECT_EQ(g.next_normal(), first);
  g.manual_seed(6);
  EXPECT_EQ(g.initial_seed(), 6u);
  EXPECT_TRUE(g == Generator(6));
}

TEST(Generator, FloatAndDoubleUseTheTopBits) {
  Generator g(99);
  RefXoshiro ref = seeded_reference(99);
  for (int i = 0; i < 1000; ++i) {
    const float f = g.next_float();
    ASSERT_EQ(f, static_cast<float>(ref.next() >> 40) * 0x1p-24f);
    ASSERT_GE(f, 0.0f);
    ASSERT_LT(f, 1.0f);
    const double d = g.next_double();
    ASSERT_EQ(d, static_cast<double>(ref.next() >> 11) * 0x1p-53);
    ASSERT_LT(d, 1.0);
  }
  // The largest possible outputs stay below 1.
  Generator top;
  top.set_state(make_state({0, 0, 0, ~uint64_t{0}}));  // first output is rotl(~0, 23) = ~0
  EXPECT_EQ(Generator(top).next_u64(), ~uint64_t{0});
  EXPECT_EQ(Generator(top).next_float(), 1.0f - 0x1p-24f);
  EXPECT_EQ(Generator(top).next_double(), 1.0 - 0x1p-53);
}

TEST(Generator, NormalsAreBoxMullerPairs) {
  Generator g(3);
  RefXoshiro ref = seeded_reference(3);
  for (int i = 0; i < 100; ++i) {
    const double u1 = 1.0 - static_cast<double>(ref.next() >> 11) * 0x1p-53;
    const double u2 = static_cast<double>(ref.next() >> 11) * 0x1p-53;
    const double r = std::sqrt(-2.0 * std::log(u1));
    EXPECT_NEAR(g.next_normal(), r * std::cos(2 * std::numbers::pi * u2), 1e-12);
    EXPECT_NEAR(g.next_normal(), r * std::sin(2 * std::numbers::pi * u2), 1e-12);
  }
  EXPECT_EQ(g.next_u64(), ref.next());  // exactly two draws per pair
}

TEST(Generator, NormalIsFiniteWhenTheUniformIsZero) {
  // With s = {0, 1, 0, 0} the first output is rotl(0 + 0, 23) + 0 = 0, so next_double() = 0.
  Generator g;
  g.set_state(make_state({0, 1, 0, 0}));
  EXPECT_EQ(Generator(g).next_u64(), 0u);
  const double z0 = g.next_normal();  // log(1 - 0) = 0: radius 0, never log(0)
  const double z1 = g.next_normal();
  EXPECT_TRUE(std::isfinite(z0));
  EXPECT_TRUE(std::isfinite(z1));
  EXPECT_EQ(z0, 0.0);
  EXPECT_EQ(z1, 0.0);
}

// ---------------------------------------------------------------------------------------------
// State save / restore

TEST(GeneratorState, LayoutIsLittleEndianWords) {
  Generator g(0x0102030405060708ULL);
  const auto bytes = state_bytes(g);
  ASSERT_EQ(bytes.size(), 56u);
  EXPECT_EQ(Generator::kStateBytes, 56);
  const Tensor state = g.get_state();
  EXPECT_EQ(state.dtype(), kUInt8);
  EXPECT_EQ(state.shape(), (Shape{56}));
  RefXoshiro ref = seeded_reference(0x0102030405060708ULL);
  for (int w = 0; w < 4; ++w)
    for (int b = 0; b < 8; ++b)
      ASSERT_EQ(bytes[static_cast<std::size_t>(8 * w + b)],
                static_cast<uint8_t>(ref.s[w] >> (8 * b)));
  const std::vector<uint8_t> seed(bytes.begin() + 32, bytes.begin() + 40);
  EXPECT_EQ(seed, (std::vector<uint8_t>{8, 7, 6, 5, 4, 3, 2, 1}));
  EXPECT_EQ(std::vector<uint8_t>(bytes.begin() + 40, bytes.end()), std::vector<uint8_t>(16, 0));

  const double z0 = g.next_normal();
  (void)z0;
  const auto cached = state_bytes(g);
  EXPECT_EQ(cached[40], 1);
  uint64_t normal_bits = 0;
  for (int b = 0; b < 8; ++b)
    normal_bits |= uint64_t{cached[static_cast<std::size_t>(48 + b)]} << (8 * b);
  EXPECT_EQ(std::bit_cast<double>(normal_bits), Generator(g).next_normal());
}

TEST(GeneratorState, RestoreMidStreamReproducesTheContinuation) {
  for (const bool pending_normal : {false, true}) {
    SCOPED_TRACE(pending_normal ? "with a cached normal" : "without a cached normal");
    Generator g(2024);
    for (int i = 0; i < 37; ++i)
      g.next_u64();
    if (pending_normal) g.next_normal();
    const Tensor saved = g.get_state();

    std::vector<double> expected;
    for (int i = 0; i < 20; ++i) {
      expected.push_back(g.next_normal());
      expected.push_back(g.next_double());
      expected.push_back(static_cast<double>(g.next_u64() >> 11));
    }
    const auto after = state_bytes(g);

    Generator h(1);  // different seed, different position, its own cached normal
    h.next_normal();
    h.set_state(saved);
    EXPECT_EQ(h.initial_seed(), 2024u);
    for (std::size_t i = 0; i < expected.size(); i += 3) {
      ASSERT_EQ(std::bit_cast<uint64_t>(h.next_normal()), std::bit_cast<uint64_t>(expected[i]));
      ASSERT_EQ(h.next_double(), expected[i + 1]);
      ASSERT_EQ(static_cast<double>(h.next_u64() >> 11), expected[i + 2]);
    }
    EXPECT_EQ(state_bytes(h), after);
    EXPECT_TRUE(h == g);

    // Restoring into the generator the state came from rewinds it.
    g.set_state(saved);
    EXPECT_EQ(std::bit_cast<uint64_t>(g.next_normal()), std::bit_cast<uint64_t>(expected[0]));

    // The tensor is a snapshot: advancing the generator leaves it unchanged.
    const Tensor again = g.get_state();
    g.next_u64();
    EXPECT_NE(state_bytes(g), values<uint8_t>(again));
  }
}

TEST(GeneratorState, TensorOpsContinueAfterRestore) {
  Generator g(11);
  (void)randn({3}, g);  // odd count leaves a cached normal
  const Tensor saved = g.get_state();
  const auto a = values<float>(randn({5}, g));
  const auto b = values<double>(rand({4}, g, kFloat64));
  g.set_state(saved);
  EXPECT_EQ(values<float>(randn({5}, g)), a);
  EXPECT_EQ(values<double>(rand({4}, g, kFloat64)), b);
}

TEST(GeneratorState, AcceptsANonContiguousStateView) {
  Generator g(8);
  g.next_normal();
  Tensor wide = zeros({Generator::kStateBytes, 2}, kUInt8);
  Tensor column = wide.select(1, 1);
  ASSERT_FALSE(column.is_contiguous());
  column.copy_(g.get_state());
  Generator h;
  h.set_state(column);
  EXPECT_TRUE(h == g);
  EXPECT_EQ(h.initial_seed(), 8u);
}

TEST(GeneratorState, RejectsBadStatesAndKeepsTheOldOne) {
  Generator g(77);
  g.next_normal();
  const Generator before = g;
  const auto before_bytes = state_bytes(g);

  auto msg = error_of<ArgumentError>([&] { g.set_state(Tensor()); });
  EXPECT_TRUE(contains(msg, "Generator::set_state") && contains(msg, "undefined")) << msg;

  msg = error_of<ArgumentError>([&] { g.set_state(zeros({56}, kFloat32)); });
  EXPECT_TRUE(contains(msg, "set_state") && contains(msg, "uint8") && contains(msg, "float32"))
      << msg;
  msg = error_of<ArgumentError>([&] { g.set_state(make_state({1, 2, 3, 4}).to(kInt8)); });
  EXPECT_TRUE(contains(msg, "uint8") && contains(msg, "int8")) << msg;

  msg = error_of<ShapeError>([&] { g.set_state(zeros({55}, kUInt8)); });
  EXPECT_TRUE(contains(msg, "set_state") && contains(msg, "[56]") && contains(msg, "[55]")) << msg;
  msg = error_of<ShapeError>([&] { g.set_state(zeros({7, 8}, kUInt8)); });
  EXPECT_TRUE(contains(msg, "[56]") && contains(msg, "[7, 8]")) << msg;
  msg = error_of<ShapeError>([&] { g.set_state(zeros({}, kUInt8)); });
  EXPECT_TRUE(contains(msg, "[56]") && contains(msg, "[]")) << msg;

  msg = error_of<FormatError>([&] { g.set_state(make_state({0, 0, 0, 0}, 5)); });
  EXPECT_TRUE(contains(msg, "set_state") && contains(msg, "nonzero") && contains(msg, "all four"))
      << msg;

  msg = error_of<FormatError>([&] { g.set_state(make_state({1, 2, 3, 4}, 0, 2)); });
  EXPECT_TRUE(contains(msg, "flag 0 or 1") && contains(msg, "got 2")) << msg;
  // A stray high byte in the flag word is caught too, not just the low byte.
  msg = error_of<FormatError>([&] { g.set_state(make_state({1, 2, 3, 4}, 0, uint64_t{1} << 56)); });
  EXPECT_TRUE(contains(msg, "got 72057594037927936")) << msg;

  const uint64_t nan_bits = std::bit_cast<uint64_t>(std::numeric_limits<double>::quiet_NaN());
  msg = error_of<FormatError>([&] { g.set_state(make_state({1, 2, 3, 4}, 0, 1, nan_bits)); });
  EXPECT_TRUE(contains(msg, "finite cached normal") && contains(msg, "nan")) << msg;
  const uint64_t inf_bits = std::bit_cast<uint64_t>(-std::numeric_limits<double>::infinity());
  msg = error_of<FormatError>([&] { g.set_state(make_state({1, 2, 3, 4}, 0, 1, inf_bits)); });
  EXPECT_TRUE(contains(msg, "finite cached normal")) << msg;

  EXPECT_TRUE(g == before);
  EXPECT_EQ(state_bytes(g), before_bytes);
  EXPECT_EQ(g.initial_seed(), 77u);

  // Without the flag the cached-normal bytes are ignored, whatever they hold.
  g.set_state(make_state({1, 2, 3, 4}, 9, 0, nan_bits));
  EXPECT_EQ(g.next_u64(), 0x2800001u);
  EXPECT_EQ(g.initial_seed(), 9u);
}

TEST(Generator, EqualityComparesTheStream) {
  Generator a(3), b(3);
  EXPECT_TRUE(a == b);
  a.next_u64();
  EXPECT_FALSE(a == b);
  b.next_u64();
  EXPECT_TRUE(a == b);
  a.next_normal();
  EXPECT_FALSE(a == b);  // a has a cached normal, b has not
  Generator c = a;
  EXPECT_TRUE(c == a);
  c.next_normal();  // consumes the cache only
  EXPECT_FALSE(c == a);
}

// ---------------------------------------------------------------------------------------------
// Tensor factories

TEST(Rand, MatchesTheGeneratorStream) {
  Generator g(21), ref(21);
  const Tensor t = rand({2, 3}, g);
  EXPECT_EQ(t.dtype(), kFloat32);
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  EXPECT_TRUE(t.is_contiguous());
  for (const float v : values<float>(t))
    EXPECT_EQ(v, ref.next_float());
  for (const double v : values<double>(rand({5}, g, kFloat64)))
    EXPECT_EQ(v, ref.next_double());
  for (const float v : values<float>(randn({5}, g)))
    EXPECT_EQ(v, static_cast<float>(ref.next_normal()));
  for (const double v : values<double>(randn({3}, g, kFloat64)))
    EXPECT_EQ(v, ref.next_normal());
  for (const Half v : values<Half>(randn({3}, g, kFloat16)))
    EXPECT_EQ(v.bits, Half(ref.next_normal()).bits);
  EXPECT_TRUE(g == ref);
  EXPECT_EQ(rand({0, 4}, g).numel(), 0);
  EXPECT_TRUE(g == ref);  // an empty tensor draws nothing
}

TEST(Rand, UniformInUnitIntervalWithTheRightMoments) {
  Generator g(12345);
  const auto v = values<float>(rand({100000}, g));
  double sum = 0, sum_sq = 0;
  float lo = 1, hi = 0;
  for (const float x : v) {
    ASSERT_GE(x, 0.0f);
    ASSERT_LT(x, 1.0f);
    sum += x;
    sum_sq += static_cast<double>(x) * x;
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  const double mean = sum / 1e5;
  const double var = sum_sq / 1e5 - mean * mean;
  EXPECT_NEAR(mean, 0.5, 0.01);       // standard error ~0.0009
  EXPECT_NEAR(var, 1.0 / 12, 0.005);  // standard error ~0.0003
  EXPECT_LT(lo, 1e-3f);
  EXPECT_GT(hi, 0.999f);
  EXPECT_GT(std::set<float>(v.begin(), v.end()).size(), 99000u);
}

TEST(Rand, SixteenBitDTypesStayOnTheirGridBelowOne) {
  Generator g(4);
  for (const DType d : {kFloat16, kBFloat16}) {
    const int digits = d == kFloat16 ? 11 : 8;
    const Tensor t = rand({40000}, g, d);
    EXPECT_EQ(t.dtype(), d);
    std::set<float> distinct;
    visit_dtype(d, [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (detail::is_half_like_v<T>) {
        for (const T x : values<T>(t)) {
          const float f = static_cast<float>(x);
          ASSERT_GE(f, 0.0f);
          ASSERT_LT(f, 1.0f);
          const float scaled = std::ldexp(f, digits);
          ASSERT_EQ(scaled, std::floor(scaled)) << f;
          distinct.insert(f);
        }
      }
    });
    EXPECT_EQ(distinct.size(), std::size_t{1} << digits) << d;  // every grid point shows up
  }
}

TEST(Randn, StandardNormalMoments) {
  Generator g(31337);
  const auto v = values<double>(randn({100000}, g, kFloat64));
  double sum = 0, m2 = 0, m3 = 0, m4 = 0;
  int within_one = 0;
  for (const double x : v) {
    ASSERT_TRUE(std::isfinite(x));
    sum += x;
    within_one += std::fabs(x) < 1.0;
  }
  const double mean = sum / 1e5;
  for (const double x : v) {
    const double d = x - mean;
    m2 += d * d;
    m3 += d * d * d;
    m4 += d * d * d * d;
  }
  m2 /= 1e5;
  m3 /= 1e5;
  m4 /= 1e5;
  // Standard errors: mean 0.003, variance 0.0045, skewness 0.008, kurtosis 0.015, P 0.0015.
  EXPECT_NEAR(mean, 0.0, 0.02);
  EXPECT_NEAR(m2, 1.0, 0.03);
  EXPECT_NEAR(m3 / std::pow(m2, 1.5), 0.0, 0.05);
  EXPECT_NEAR(m4 / (m2 * m2), 3.0, 0.15);
  EXPECT_NEAR(within_one / 1e5, 0.6827, 0.01);
}

TEST(Randn, EveryFloatingDTypeAndSeedDeterminism) {
  for (const DType d : {kFloat16, kBFloat16, kFloat32, kFloat64}) {
    Generator a(5), b(5), c(6);
    const Tensor x = randn({64}, a, d), y = randn({64}, b, d), z = randn({64}, c, d);
    EXPECT_EQ(x.dtype(), d);
    const Tensor xf = x.to(kFloat64), yf = y.to(kFloat64), zf = z.to(kFloat64);
    const auto xv = values<double>(xf), yv = values<double>(yf), zv = values<double>(zf);
    EXPECT_EQ(xv, yv) << d;
    EXPECT_NE(xv, zv) << d;
    double sum_sq = 0;
    for (const double v : xv)
      sum_sq += v * v;
    EXPECT_GT(sum_sq, 16.0) << d;  // not all zeros, and of normal scale
    EXPECT_LT(sum_sq, 256.0) << d;
  }
}

TEST(Uniform, StaysInBoundsAndCoversTheRange) {
  Generator g(8);
  for (const DType d : {kFloat16, kBFloat16, kFloat32, kFloat64}) {
    const auto v = values<double>(uniform({20000}, -2.0, 3.0, g, d).to(kFloat64));
    double lo = 3, hi = -2, sum = 0;
    for (const double x : v) {
      ASSERT_GE(x, -2.0) << d;
      ASSERT_LT(x, 3.0) << d;
      lo = std::min(lo, x);
      hi = std::max(hi, x);
      sum += x;
    }
    EXPECT_LT(lo, -1.95) << d;
    EXPECT_GT(hi, 2.95) << d;
    EXPECT_NEAR(sum / 2e4, 0.5, 0.05) << d;  // standard error ~0.01
  }
}

// A range one ulp wide: low + (high - low) * u rounds to high for about half of all u, and every
// one of those must be pulled back below high.
TEST(Uniform, RoundingNeverReturnsHigh) {
  struct Case {
    DType dtype;
    double low, high;
  };
  const Case cases[] = {
      {kFloat32, 1.0, 1.0 + 0x1p-23},
      {kFloat32, -1.0 - 0x1p-23, -1.0},
      {kFloat32, -static_cast<double>(std::numeric_limits<float>::denorm_min()), 0.0},
      {kFloat64, 1.0, 1.0 + 0x1p-52},
      {kFloat64, -std::numeric_limits<double>::denorm_min(), 0.0},
      {kFloat16, 1.0, 1.0 + 0x1p-10},
      {kFloat16, -0x1p-24, 0.0},
      {kFloat16, 65472.0, 65504.0},
      {kBFloat16, 1.0, 1.0 + 0x1p-7},
      {kBFloat16, -1.0 - 0x1p-7, -1.0},
  };
  Generator g(10);
  for (const auto& c : cases) {
    const auto v = values<double>(uniform({4000}, c.low, c.high, g, c.dtype).to(kFloat64));
    for (const double x : v)
      ASSERT_EQ(x, c.low) << c.dtype << " [" << c.low << ", " << c.high << ")";
  }
}

TEST(Uniform, DegenerateRangeGivesLow) {
  Generator g(1);
  for (const double x : values<float>(uniform({10}, 0.25, 0.25, g)))
    EXPECT_EQ(x, 0.25f);
}

TEST(Uniform, MatchesTheFormula) {
  Generator g(17), ref(17);
  for (const float v : values<float>(uniform({100}, -0.5, 0.75, g)))
    EXPECT_EQ(v, static_cast<float>(-0.5 + 1.25 * static_cast<double>(ref.next_float())));
  for (const double v : values<double>(uniform({100}, 10.0, 20.0, g, kFloat64)))
    EXPECT_EQ(v, 10.0 + 10.0 * ref.next_double());
}

TEST(RandomFactories, RejectNonFloatingDTypes) {
  Generator g;
  const Generator before = g;
  auto msg = error_of<ArgumentError>([&] { (void)rand({2}, g, kInt32); });
  EXPECT_TRUE(contains(msg, "rand") && contains(msg, "floating") && contains(msg, "int32")) << msg;
  msg = error_of<ArgumentError>([&] { (void)randn({2}, g, kBool); });
  EXPECT_TRUE(contains(msg, "randn") && contains(msg, "bool")) << msg;
  msg = error_of<ArgumentError>([&] { (void)uniform({2}, 0, 1, g, kInt64); });
  EXPECT_TRUE(contains(msg, "uniform") && contains(msg, "int64")) << msg;
  msg = error_of<ArgumentError>([&] { (void)rand({2}, kUInt8); });
  EXPECT_TRUE(contains(msg, "uint8")) << msg;
  EXPECT_TRUE(g == before);
}

TEST(Uniform, RejectsBadBounds) {
  Generator g;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  auto msg = error_of<ArgumentError>([&] { (void)uniform({2}, 1.0, 0.0, g); });
  EXPECT_TRUE(contains(msg, "uniform") && contains(msg, "low <= high") && contains(msg, "low 1") &&
              contains(msg, "high 0"))
      << msg;
  msg = error_of<ArgumentError>([&] { (void)uniform({2}, nan, 1.0, g); });
  EXPECT_TRUE(contains(msg, "low <= high")) << msg;
  msg = error_of<ArgumentError>([&] { (void)uniform({2}, 0.0, inf, g); });
  EXPECT_TRUE(contains(msg, "finite range")) << msg;
  msg = error_of<ArgumentError>([&] { (void)uniform({2}, -1e308, 1e308, g, kFloat64); });
  EXPECT_TRUE(contains(msg, "finite range")) << msg;
  msg = error_of<ArgumentError>([&] { (void)uniform({2}, 0.0, 1e5, g, kFloat16); });
  EXPECT_TRUE(contains(msg, "65504") && contains(msg, "float16") && contains(msg, "100000")) << msg;
  msg = error_of<ArgumentError>([&] { (void)uniform({2}, -1e39, 0.0, g, kFloat32); });
  EXPECT_TRUE(contains(msg, "float32")) << msg;
  EXPECT_NO_THROW((void)uniform({2}, -1e39, 0.0, g, kFloat64));
  EXPECT_NO_THROW((void)uniform({2}, -1e38, 0.0, g, kBFloat16));
}

TEST(DefaultGenerator, ManualSeedMakesItReproducible) {
  manual_seed(123);
  EXPECT_EQ(default_generator().initial_seed(), 123u);
  const auto a = values<float>(rand({10}));
  const auto an = values<float>(randn({3}));
  manual_seed(123);
  EXPECT_EQ(values<float>(rand({10})), a);
  EXPECT_EQ(values<float>(randn({3})), an);
  Generator fresh(123);
  EXPECT_EQ(values<float>(rand({10}, fresh)), a);
  EXPECT_EQ(&default_generator(), &default_generator());
  manual_seed(124);
  EXPECT_NE(values<float>(rand({10})), a);
}

}  // namespace
}  // namespace wick
