// Elementwise ops: broadcasting, type promotion, integer wrap-around, half rounding, views as
// inputs, comparisons, equal / bitwise_equal / allclose, and every error message.

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <vector>

#include "testing.h"
#include "wick/wick.h"

namespace wick {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

Tensor rnd(const Shape& shape, DType dtype, uint32_t seed, double lo = -4.0, double hi = 4.0) {
  return testing::random_values(shape, dtype, seed, lo, hi);
}

using testing::values;

// Calls f(index) for every multi-index of `shape`, row-major.
void for_each_index(const Shape& shape, const std::function<void(const Shape&)>& f) {
  if (shape_numel(shape) == 0) return;
  Shape idx(shape.size(), 0);
  while (true) {
    f(idx);
    std::size_t d = shape.size();
    while (d > 0) {
      --d;
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
      if (d == 0) return;
    }
    if (shape.empty()) return;
  }
}

// Element of `t` at `idx` of a (possibly higher-rank) broadcast shape, as double.
double at(const Tensor& t, const Shape& idx) {
  const std::size_t lead = idx.size() - static_cast<std::size_t>(t.dim());
  int64_t flat = 0;
  for (std::size_t d = 0; d < static_cast<std::size_t>(t.dim()); ++d)
    flat = flat * t.shape()[d] + (t.shape()[d] == 1 ? 0 : idx[lead + d]);
  return values(t)[static_cast<std::size_t>(flat)];
}

// Reference binary op on broadcast operands, computed in double by `f`, stored as `dtype`.
Tensor reference(const Tensor& a, const Tensor& b, DType dtype,
                 const std::function<double(double, double)>& f) {
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), "reference");
  std::vector<double> out;
  const auto va = a.to(kFloat64).contiguous();
  const auto vb = b.to(kFloat64).contiguous();
  for_each_index(shape, [&](const Shape& idx) { out.push_back(f(at(va, idx), at(vb, idx))); });
  return from_vector(out, shape).to(dtype);
}

// ---- broadcasting ------------------------------------------------------------------------------

TEST(OpsBroadcast, RowVectorAddsToEveryRow) {
  const Tensor a = tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
  const Tensor b = tensor({10.0, 20.0, 30.0});
  const Tensor c = a + b;
  EXPECT_EQ(c.shape(), (Shape{2, 3}));
  EXPECT_EQ(values(c), (std::vector<double>{11, 22, 33, 14, 25, 36}));
  EXPECT_EQ(values(b + a), values(c));
}

TEST(OpsBroadcast, ColumnTimesRowMakesAnOuterProduct) {
  const Tensor col = tensor({1.0, 2.0}).view({2, 1});
  const Tensor row = tensor({1.0, 10.0, 100.0}).view({1, 3});
  const Tensor c = col * row;
  EXPECT_EQ(c.shape(), (Shape{2, 3}));
  EXPECT_EQ(values(c), (std::vector<double>{1, 10, 100, 2, 20, 200}));
}

TEST(OpsBroadcast, ZeroDimOperands) {
  const Tensor s = scalar_tensor(2.0, kFloat32);
  const Tensor m = tensor({{1.0, 2.0}, {3.0, 4.0}});
  EXPECT_EQ(values(s * m), (std::vector<double>{2, 4, 6, 8}));
  EXPECT_EQ(values(m - s), (std::vector<double>{-1, 0, 1, 2}));
  const Tensor ss = s / s;
  EXPECT_EQ(ss.dim(), 0);
  EXPECT_EQ(ss.item<double>(), 1.0);
}

TEST(OpsBroadcast, EmptyOperands) {
  const Tensor e = zeros({0, 3});
  const Tensor c = e + tensor({1.0, 2.0, 3.0});
  EXPECT_EQ(c.shape(), (Shape{0, 3}));
  EXPECT_EQ(c.numel(), 0);
  EXPECT_EQ((zeros({2, 0}, kInt32) * ones({1}, kInt32)).shape(), (Shape{2, 0}));
  EXPECT_EQ((zeros({2, 0}) < ones({2, 1})).shape(), (Shape{2, 0}));
  EXPECT_EQ(relu(zeros({0})).numel(), 0);
}

TEST(OpsBroadcast, IncompatibleShapesNameBothShapes) {
  const Tensor a = zeros({2, 3});
  const Tensor b = zeros({4});
  WICK_EXPECT_THROW_MSG(a + b, ShapeError, "add: shapes [2, 3] and [4] cannot be broadcast");
  WICK_EXPECT_THROW_MSG(a - b, ShapeError, "sub: shapes [2, 3] and [4]");
  WICK_EXPECT_THROW_MSG(a * b, ShapeError, "mul: shapes [2, 3] and [4]");
  WICK_EXPECT_THROW_MSG(a / b, ShapeError, "div: shapes [2, 3] and [4]");
  WICK_EXPECT_THROW_MSG(a < b, ShapeError, "lt: shapes [2, 3] and [4]");
  WICK_EXPECT_THROW_MSG(eq(a, b), ShapeError, "eq: shapes [2, 3] and [4]");
  WICK_EXPECT_THROW_MSG(zeros({2, 3}) + zeros({3, 2}), ShapeError, "[2, 3] and [3, 2]");
}

TEST(OpsBroadcast, ThreeDimensionalBroadcastMatchesReference) {
  for (const DType dt : {kFloat32, kFloat64, kInt32, kInt64, kInt16}) {
    const Tensor a = rnd({4, 1, 5}, dt, 1);
    const Tensor b = rnd({3, 1}, dt, 2, 0.5, 4.0);
    SCOPED_TRACE(dtype_name(dt));
    EXPECT_TRUE(equal(a + b, reference(a, b, dt, [](double x, double y) { return x + y; })));
    EXPECT_TRUE(equal(a - b, reference(a, b, dt, [](double x, double y) { return x - y; })));
    EXPECT_TRUE(equal(b * a, reference(b, a, dt, [](double x, double y) { return x * y; })));
    const DType div_dt = is_floating(dt) ? dt : kFloat32;
    EXPECT_TRUE(allclose(a / b, reference(a, b, div_dt, [](double x, double y) { return x / y; }),
                         1e-6, 0));
  }
}

// float32 + - * / computed in double and rounded once equals the float result exactly, so the
// SIMD path must match the reference bit for bit.
TEST(OpsArithmetic, Float32MatchesDoubleReferenceExactly) {
  const Shape shapes[][2] = {{{17}, {17}}, {{5, 33}, {33}}, {{3, 1, 20}, {1, 7, 1}}, {{64}, {1}}};
  uint32_t seed = 10;
  for (const auto& s : shapes) {
    const Tensor a = rnd(s[0], kFloat32, seed++);
    const Tensor b = rnd(s[1], kFloat32, seed++, 0.25, 3.0);
    SCOPED_TRACE(shape_str(s[0]) + " op " + shape_str(s[1]));
    EXPECT_TRUE(bitwise_equal(a + b, reference(a, b, kFloat32, std::plus<double>())));
    EXPECT_TRUE(bitwise_equal(a - b, reference(a, b, kFloat32, std::minus<double>())));
    EXPECT_TRUE(bitwise_equal(a * b, reference(a, b, kFloat32, std::multiplies<double>())));
    EXPECT_TRUE(bitwise_equal(a / b, reference(a, b, kFloat32, std::divides<double>())));
  }
}

// ---- views as inputs ---------------------------------------------------------------------------

TEST(OpsViews, TransposedSlicedAndExpandedInputs) {
  const Tensor base = rnd({6, 8}, kFloat32, 3);
  const Tensor t = base.t();                                 // [8, 6], strides [1, 8]
  const Tensor stepped = base.slice(1, 1, 8, 2);             // [6, 4], strides [8, 2]
  const Tensor offset = base.slice(0, 2, 6).slice(1, 3, 8);  // [4, 5] at offset 19
  const Tensor expanded = base.select(0, 1).slice(0, 0, 6).unsqueeze(1).expand({6, 4});
  EXPECT_TRUE(equal(t + t, t.contiguous() + t.contiguous()));
  EXPECT_TRUE(equal(stepped * expanded, stepped.contiguous() * expanded.contiguous()));
  EXPECT_TRUE(equal(offset - 1.0, offset.contiguous() - 1.0));
  EXPECT_TRUE(equal(exp(t), exp(t.contiguous())));
  EXPECT_TRUE(equal(relu(stepped), relu(stepped.contiguous())));
  EXPECT_TRUE(equal(sigmoid(expanded), sigmoid(expanded.contiguous())));
  EXPECT_TRUE(equal(stepped < expanded, stepped.contiguous() < expanded.contiguous()));
  EXPECT_TRUE(equal(-offset, -(offset.contiguous())));
  const Tensor ti = rnd({5, 4}, kInt32, 4).t();
  EXPECT_TRUE(equal(ti * ti, ti.contiguous() * ti.contiguous()));
  EXPECT_TRUE(equal(relu(ti), relu(ti.contiguous())));
}

TEST(OpsViews, InputsAreNotModified) {
  const Tensor a = rnd({3, 4}, kFloat32, 5);
  const Tensor before = a.clone();
  (void)(a + a);
  (void)exp(a);
  (void)(a > 0.0);
  EXPECT_TRUE(bitwise_equal(a, before));
}

// ---- type promotion ----------------------------------------------------------------------------

struct PromotionCase {
  DType a, b, add, div;
};

TEST(OpsPromotion, TensorTensorTable) {
  const PromotionCase cases[] = {
      {kInt32, kFloat32, kFloat32, kFloat32}, {kUInt8, kInt8, kInt16, kFloat32},
      {kInt64, kFloat16, kFloat16, kFloat16}, {kFloat16, kBFloat16, kFloat32, kFloat32},
      {kBool, kBool, kBool, kFloat32},        {kBool, kInt8, kInt8, kFloat32},
      {kInt32, kInt64, kInt64, kFloat32},     {kFloat32, kFloat64, kFloat64, kFloat64},
      {kUInt8, kUInt8, kUInt8, kFloat32},     {kBFloat16, kInt64, kBFloat16, kBFloat16},
      {kUInt8, kBool, kUInt8, kFloat32},      {kInt16, kInt32, kInt32, kFloat32},
  };
  for (const auto& c : cases) {
    const Tensor a = ones({2}, c.a);
    const Tensor b = ones({2}, c.b);
    SCOPED_TRACE(std::string(dtype_name(c.a)) + " with " + std::string(dtype_name(c.b)));
    EXPECT_EQ((a + b).dtype(), c.add);
    EXPECT_EQ((b * a).dtype(), c.add);
    EXPECT_EQ((a / b).dtype(), c.div);
    EXPECT_EQ((a < b).dtype(), kBool);
    EXPECT_EQ(values(a / b), (std::vector<double>{1, 1}));
  }
}

TEST(OpsPromotion, TensorScalarRules) {
  EXPECT_EQ((ones({2}, kInt32) + 2).dtype(), kInt32);
  EXPECT_EQ((ones({2}, kInt32) + 2.5).dtype(), kFloat32);
  EXPECT_EQ(values(ones({2}, kInt32) + 2.5), (std::vector<double>{3.5, 3.5}));
  EXPECT_EQ((ones({2}, kBool) + 1).dtype(), kInt64);
  EXPECT_EQ(values(ones({2}, kBool) + 1), (std::vector<double>{2, 2}));
  EXPECT_EQ((ones({2}, kBool) + 1.5).dtype(), kFloat32);
  EXPECT_EQ((ones({2}, kBool) + true).dtype(), kBool);
  EXPECT_EQ((ones({2}, kFloat16) + 2.5).dtype(), kFloat16);
  EXPECT_EQ((ones({2}, kFloat64) * 2).dtype(), kFloat64);
  EXPECT_EQ((ones({2}, kUInt8) / 2).dtype(), kFloat32);
  EXPECT_EQ(values(ones({2}, kUInt8) / 2), (std::vector<double>{0.5, 0.5}));
  EXPECT_EQ((2 - ones({2}, kInt8)).dtype(), kInt8);
  EXPECT_EQ((2.0 / ones({2}, kInt64)).dtype(), kFloat32);
  EXPECT_EQ((ones({2}, kInt16) > 1.5).dtype(), kBool);
}

TEST(OpsPromotion, IntegerDivisionIsTrueDivision) {
  const Tensor a = tensor({7, -7, 1, 0});
  const Tensor b = tensor({2, 2, 0, 0});
  const Tensor q = a / b;
  EXPECT_EQ(q.dtype(), kFloat32);
  const auto v = values(q);
  EXPECT_EQ(v[0], 3.5);
  EXPECT_EQ(v[1], -3.5);
  EXPECT_EQ(v[2], kInf);
  EXPECT_TRUE(std::isnan(v[3]));
}

// ---- integers and bools ------------------------------------------------------------------------

TEST(OpsIntegers, ArithmeticWrapsAroundLikePyTorch) {
  EXPECT_EQ(values(from_vector(std::vector<int16_t>{300}) * from_vector(std::vector<int16_t>{300})),
            (std::vector<double>{24464}));
  EXPECT_EQ(values(from_vector(std::vector<uint8_t>{200}) + from_vector(std::vector<uint8_t>{100})),
            (std::vector<double>{44}));
  EXPECT_EQ(values(from_vector(std::vector<int8_t>{1, 2}) + 1000), (std::vector<double>{-23, -22}));
  const int32_t i32max = std::numeric_limits<int32_t>::max();
  EXPECT_EQ((from_vector(std::vector<int32_t>{i32max}) + 1).item<int64_t>(),
            std::numeric_limits<int32_t>::min());
  const int64_t i64max = std::numeric_limits<int64_t>::max();
  EXPECT_EQ((from_vector(std::vector<int64_t>{i64max}) + 1).item<int64_t>(),
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ((from_vector(std::vector<int64_t>{i64max}) * 2).item<int64_t>(), -2);
  EXPECT_EQ(
      (from_vector(std::vector<int64_t>{std::numeric_limits<int64_t>::min()}) - 1).item<int64_t>(),
      i64max);
}

TEST(OpsIntegers, Int64StaysExact) {
  const int64_t big = (int64_t{1} << 53) + 1;
  EXPECT_EQ((from_vector(std::vector<int64_t>{big}) + 2).item<int64_t>(), big + 2);
  EXPECT_EQ((from_vector(std::vector<int64_t>{big}) * from_vector(std::vector<int64_t>{3}))
                .item<int64_t>(),
            big * 3);
}

TEST(OpsIntegers, BoolAddIsOrAndMulIsAnd) {
  const Tensor a = tensor({true, true, false, false});
  const Tensor b = tensor({true, false, true, false});
  EXPECT_EQ(values(a + b), (std::vector<double>{1, 1, 1, 0}));
  EXPECT_EQ(values(a * b), (std::vector<double>{1, 0, 0, 0}));
  EXPECT_EQ((a + b).dtype(), kBool);
}

TEST(OpsIntegers, BoolSubtractionIsRejected) {
  const Tensor a = tensor({true, false});
  WICK_EXPECT_THROW_MSG(a - a, ArgumentError, "sub: subtraction with bool operands");
  WICK_EXPECT_THROW_MSG(a - a, ArgumentError, "got bool and bool");
  WICK_EXPECT_THROW_MSG(a - true, ArgumentError, "sub: subtraction with bool operands");
  WICK_EXPECT_THROW_MSG(true - a, ArgumentError, "sub");
  EXPECT_EQ((a - 1).dtype(), kInt64);  // the int scalar promotes, as in PyTorch
}

TEST(OpsIntegers, MixedIntegerFloatValues) {
  const Tensor i = tensor({1, 2, 3});
  const Tensor f = tensor({0.5, 0.25, 0.125});
  EXPECT_EQ(values(i * f), (std::vector<double>{0.5, 0.5, 0.375}));
  EXPECT_EQ((i * f).dtype(), kFloat32);
  EXPECT_EQ(values(f - i), (std::vector<double>{-0.5, -1.75, -2.875}));
}

// ---- half types --------------------------------------------------------------------------------

TEST(OpsHalf, ComputedInFloatAndRoundedOnce) {
  for (const DType dt : {kFloat16, kBFloat16}) {
    const Tensor a = rnd({40}, dt, 7);
    const Tensor b = rnd({40}, dt, 8, 0.5, 2.0);
    SCOPED_TRACE(dtype_name(dt));
    // float32 holds the exact sum/product of two halves, so rounding it to the half type is
    // the single correctly rounded result.
    for (const auto& [name, op] :
         std::vector<std::pair<std::string, std::function<Tensor(const Tensor&, const Tensor&)>>>{
             {"add", [](const Tensor&x, const Tensor&y) { return x + y; }},
             {"sub", [](const Tensor&x, const Tensor&y) { return x - y; }},
             {"mul", [](const Tensor&x, const Tensor&y) { return x * y; }},
             {"div", [](const Tensor&x, const Tensor&y) { return x / y; }}}) {
      const Tensor got = op(a, b);
      const Tensor want = op(a.to(kFloat32), b.to(kFloat32)).to(dt);
      EXPECT_EQ(got.dtype(), dt);
      EXPECT_TRUE(bitwise_equal(got, want)) << name;
    }
    EXPECT_TRUE(bitwise_equal(exp(a), exp(a.to(kFloat32)).to(dt)));
    EXPECT_TRUE(bitwise_equal(relu(a), relu(a.to(kFloat32)).to(dt)));
  }
}

TEST(OpsHalf, IntegerOperandIsCastToTheHalfTypeFirst) {
  // PyTorch: int64 2049 becomes float16 2048 before the add; 2048 + 1 ties back to 2048.
  const Tensor h = ones({1}, kFloat16);
  EXPECT_EQ((tensor({2049}) + h).item<double>(), 2048.0);
  EXPECT_EQ((h + 2049).item<double>(), 2048.0);
  EXPECT_EQ((h + 2049.0).item<double>(), 2048.0);
}

// ---- unary ops ---------------------------------------------------------------------------------

template <class T>
void check_transcendentals(double rtol) {
  constexpr DType dt = dtype_of<T>();
  const Tensor x = rnd({37}, dt, 11);
  const Tensor pos = rnd({37}, dt, 12, 1e-3, 100.0);
  const auto vx = values(x);
  const auto vp = values(pos);
  std::vector<double> e, l, t, s;
  for (std::size_t i = 0; i < vx.size(); ++i) {
    const T xi = static_cast<T>(vx[i]);
    e.push_back(static_cast<double>(std::exp(xi)));
    l.push_back(static_cast<double>(std::log(static_cast<T>(vp[i]))));
    t.push_back(static_cast<double>(std::tanh(xi)));
    s.push_back(static_cast<double>(T(1) / (T(1) + std::exp(-xi))));
  }
  EXPECT_TRUE(allclose(exp(x), from_vector(e).to(dt), rtol, 0));
  EXPECT_TRUE(allclose(log(pos), from_vector(l).to(dt), rtol, rtol));
  EXPECT_TRUE(allclose(tanh(x), from_vector(t).to(dt), rtol, rtol));
  EXPECT_TRUE(allclose(sigmoid(x), from_vector(s).to(dt), rtol, rtol));
}

TEST(OpsUnary, TranscendentalsMatchTheStandardLibrary) {
  check_transcendentals<float>(4e-7);
  check_transcendentals<double>(1e-15);
}

TEST(OpsUnary, TranscendentalSpecialValues) {
  const Tensor x = tensor({0.0, -0.0, kInf, -kInf, kNaN, -1.0});
  const auto e = values(exp(x));
  EXPECT_EQ(e[0], 1.0);
  EXPECT_EQ(e[2], kInf);
  EXPECT_EQ(e[3], 0.0);
  EXPECT_TRUE(std::isnan(e[4]));
  const auto l = values(log(x));
  EXPECT_EQ(l[0], -kInf);
  EXPECT_EQ(l[2], kInf);
  EXPECT_TRUE(std::isnan(l[4]));
  EXPECT_TRUE(std::isnan(l[5]));
  const auto t = values(tanh(x));
  EXPECT_EQ(t[2], 1.0);
  EXPECT_EQ(t[3], -1.0);
  const auto s = values(sigmoid(x));
  EXPECT_EQ(s[0], 0.5);
  EXPECT_EQ(s[2], 1.0);
  EXPECT_EQ(s[3], 0.0);
  EXPECT_TRUE(std::isnan(s[4]));
}

TEST(OpsUnary, IntegralAndBoolInputsGiveFloat32) {
  for (const DType dt : {kBool, kUInt8, kInt32, kInt64}) {
    SCOPED_TRACE(dtype_name(dt));
    const Tensor x = ones({3}, dt);
    for (const Tensor& y : {exp(x), log(x), tanh(x), sigmoid(x)})
      EXPECT_EQ(y.dtype(), kFloat32);
    EXPECT_FLOAT_EQ(exp(x).view({3})[0].item<float>(), std::exp(1.0f));
    EXPECT_EQ(log(x).view({3})[2].item<float>(), 0.0f);
  }
  EXPECT_EQ(exp(ones({2}, kFloat64)).dtype(), kFloat64);
  EXPECT_EQ(tanh(ones({2}, kBFloat16)).dtype(), kBFloat16);
}

TEST(OpsUnary, ReluKeepsNegativeZeroAndNaN) {
  const Tensor r = relu(tensor({-2.0, -0.0, 0.0, 3.0, kNaN, -kInf, kInf}));
  const auto v = values(r);
  EXPECT_EQ(v[0], 0.0);
  EXPECT_FALSE(std::signbit(v[0]));
  EXPECT_TRUE(std::signbit(v[1]));  // -0.0 < 0 is false, as in PyTorch
  EXPECT_EQ(v[3], 3.0);
  EXPECT_TRUE(std::isnan(v[4]));
  EXPECT_EQ(v[5], 0.0);
  EXPECT_EQ(v[6], kInf);
}

TEST(OpsUnary, ReluOnIntegers) {
  const Tensor r = relu(from_vector(std::vector<int8_t>{-128, -1, 0, 5, 127}));
  EXPECT_EQ(r.dtype(), kInt8);
  EXPECT_EQ(values(r), (std::vector<double>{0, 0, 0, 5, 127}));
  EXPECT_EQ(values(relu(from_vector(std::vector<uint8_t>{0, 200}))), (std::vector<double>{0, 200}));
  EXPECT_EQ(values(relu(tensor({-3, 4}))), (std::vector<double>{0, 4}));
}

TEST(OpsUnary, NegationWrapsIntegersAndKeepsDtype) {
  EXPECT_EQ(values(-from_vector(std::vector<int8_t>{-128, 1, 0})),
            (std::vector<double>{-128, -1, 0}));
  EXPECT_EQ(values(-from_vector(std::vector<uint8_t>{1})), (std::vector<double>{255}));
  EXPECT_EQ((-ones({1}, kInt64)).dtype(), kInt64);
  const Tensor n = -tensor({0.0, 1.5});
  EXPECT_TRUE(std::signbit(values(n)[0]));
  EXPECT_EQ(values(n)[1], -1.5);
  EXPECT_EQ((-ones({2}, kFloat16)).dtype(), kFloat16);
}

TEST(OpsUnary, BoolErrors) {
  const Tensor b = tensor({true});
  WICK_EXPECT_THROW_MSG(-b, ArgumentError, "neg: negation of a bool tensor is not supported");
  WICK_EXPECT_THROW_MSG(relu(b), ArgumentError, "relu: bool inputs are not supported");
}

TEST(OpsUnary, AbsOfFloatsClearsTheSignBitAndKeepsNaN) {
  for (const DType d : {kFloat32, kFloat64, kFloat16, kBFloat16}) {
    SCOPED_TRACE(std::string(dtype_name(d)));
    const Tensor r = abs(tensor({-2.5, -0.0, 0.0, 3.0, kNaN, -kInf, kInf}, d));
    EXPECT_EQ(r.dtype(), d);
    const auto v = values(r);
    EXPECT_EQ(v[0], 2.5);
    EXPECT_FALSE(std::signbit(v[1]));  // abs(-0.0) is 0.0, as in PyTorch
    EXPECT_EQ(v[3], 3.0);
    EXPECT_TRUE(std::isnan(v[4]));
    EXPECT_EQ(v[5], kInf);
    EXPECT_EQ(v[6], kInf);
  }
  // Views and broadcast inputs go through the same kernels.
  const Tensor m = tensor({{-1.0, 2.0, -3.0}, {4.0, -5.0, 6.0}});
  EXPECT_EQ(values(abs(m.t())), (std::vector<double>{1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(values(abs(tensor({-7.0}).expand({3}))), (std::vector<double>{7, 7, 7}));
  EXPECT_EQ(abs(zeros({0, 3})).shape(), (Shape{0, 3}));
}

TEST(OpsUnary, AbsOfIntegersKeepsTheDtypeAndWrapsTheMinimum) {
  const Tensor r = abs(from_vector(std::vector<int8_t>{-128, -1, 0, 5, 127}));
  EXPECT_EQ(r.dtype(), kInt8);
  EXPECT_EQ(values(r), (std::vector<double>{-128, 1, 0, 5, 127}));  // torch.abs wraps too
  EXPECT_EQ(values(abs(from_vector(std::vector<uint8_t>{0, 255}))), (std::vector<double>{0, 255}));
  const Tensor big = abs(tensor({std::numeric_limits<int64_t>::min() + 1, int64_t{-3}}));
  EXPECT_EQ(big.dtype(), kInt64);
  EXPECT_EQ(big.data<int64_t>()[0], std::numeric_limits<int64_t>::max());
  EXPECT_EQ(big.data<int64_t>()[1], 3);
  EXPECT_EQ(values(abs(from_vector(std::vector<int16_t>{-300}))), (std::vector<double>{300}));
  EXPECT_EQ(values(abs(from_vector(std::vector<int32_t>{-70000}))), (std::vector<double>{70000}));
}

TEST(OpsUnary, AbsErrors) {
  WICK_EXPECT_THROW_MSG(abs(tensor({true})), ArgumentError,
                        "abs: bool inputs are not supported (expected a numeric dtype, got bool)");
  WICK_EXPECT_THROW_MSG(abs(Tensor()), ArgumentError, "abs");
}

TEST(OpsUnary, AbsGradientIsTheSignAndZeroAtZero) {
  Tensor x = tensor({-2.0, 0.0, 3.0});
  x.set_requires_grad(true);
  sum(abs(x)).backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{-1, 0, 1}));
}

// ---- maximum / minimum
// ---------------------------------------------------------------------------

TEST(OpsExtremum, ElementwiseWithBroadcasting) {
  const Tensor a = tensor({{1.0, 5.0, -2.0}, {0.5, -7.0, 8.0}});
  const Tensor b = tensor({0.0, 6.0, -3.0});
  EXPECT_EQ(maximum(a, b).shape(), (Shape{2, 3}));
  EXPECT_EQ(values(maximum(a, b)), (std::vector<double>{1, 6, -2, 0.5, 6, 8}));
  EXPECT_EQ(values(minimum(a, b)), (std::vector<double>{0, 5, -3, 0, -7, -3}));
  EXPECT_EQ(values(maximum(b, a)), values(maximum(a, b)));
  // A 0-d operand, a column against a row, transposed views.
  EXPECT_EQ(values(maximum(a, scalar_tensor(2.0, kFloat32))),
            (std::vector<double>{2, 5, 2, 2, 2, 8}));
  EXPECT_EQ(maximum(tensor({{1.0}, {2.0}}), tensor({0.0, 3.0, 1.5})).shape(), (Shape{2, 3}));
  EXPECT_EQ(values(minimum(a.t(), a.t())), values(a.t()));
}

TEST(OpsExtremum, NaNInEitherOperandGivesNaN) {
  const Tensor a = tensor({kNaN, 1.0, kNaN, -kInf, 2.0});
  const Tensor b = tensor({1.0, kNaN, kNaN, kInf, 2.0});
  for (const auto& [name, r] : {std::pair{"maximum", maximum(a, b)}, {"minimum", minimum(a, b)}}) {
    SCOPED_TRACE(name);
    const auto v = values(r);
    EXPECT_TRUE(std::isnan(v[0]));
    EXPECT_TRUE(std::isnan(v[1]));
    EXPECT_TRUE(std::isnan(v[2]));
    EXPECT_EQ(v[4], 2.0);
  }
  EXPECT_EQ(values(maximum(a, b))[3], kInf);
  EXPECT_EQ(values(minimum(a, b))[3], -kInf);
  // Ties keep the first operand, which only shows for signed zeros.
  EXPECT_TRUE(std::signbit(values(maximum(tensor({-0.0}), tensor({0.0})))[0]));
  EXPECT_FALSE(std::signbit(values(minimum(tensor({0.0}), tensor({-0.0})))[0]));
}

TEST(OpsExtremum, DtypesPromoteAsPyTorch) {
  // int64 against float32 is float32; uint8 against int8 is int16; bool is or / and.
  const Tensor r = maximum(tensor({1, 5}), tensor({2.5f, 4.0f}));
  EXPECT_EQ(r.dtype(), kFloat32);
  EXPECT_EQ(values(r), (std::vector<double>{2.5, 5}));
  const Tensor u = from_vector(std::vector<uint8_t>{200, 1});
  const Tensor s = from_vector(std::vector<int8_t>{-1, 3});
  EXPECT_EQ(maximum(u, s).dtype(), kInt16);
  EXPECT_EQ(values(maximum(u, s)), (std::vector<double>{200, 3}));
  EXPECT_EQ(values(minimum(u, s)), (std::vector<double>{-1, 1}));
  const Tensor t = tensor({true, true, false, false});
  const Tensor f = tensor({true, false, true, false});
  EXPECT_EQ(maximum(t, f).dtype(), kBool);
  EXPECT_EQ(values(maximum(t, f)), (std::vector<double>{1, 1, 1, 0}));
  EXPECT_EQ(values(minimum(t, f)), (std::vector<double>{1, 0, 0, 0}));
  const Tensor i64 = tensor({std::numeric_limits<int64_t>::max(), int64_t{-4}});
  EXPECT_EQ(maximum(i64, tensor({int64_t{0}, int64_t{0}})).data<int64_t>()[0],
            std::numeric_limits<int64_t>::max());  // exact, not through double
  const Tensor h = maximum(tensor({1.0, -2.0}, kFloat16), tensor({0.5, -1.0}, kBFloat16));
  EXPECT_EQ(h.dtype(), kFloat32);
  EXPECT_EQ(values(h), (std::vector<double>{1, -1}));
  EXPECT_EQ(minimum(tensor({1.0}, kBFloat16), tensor({2.0}, kBFloat16)).dtype(), kBFloat16);
}

TEST(OpsExtremum, Errors) {
  WICK_EXPECT_THROW_MSG(maximum(zeros({2, 3}), zeros({4})), ShapeError, "maximum");
  WICK_EXPECT_THROW_MSG(minimum(zeros({2, 3}), zeros({4})), ShapeError, "[2, 3]");
  WICK_EXPECT_THROW_MSG(maximum(Tensor(), zeros({1})), ArgumentError, "maximum");
  WICK_EXPECT_THROW_MSG(minimum(zeros({1}), Tensor()), ArgumentError, "minimum");
  Tensor x = zeros({2});
  x.set_requires_grad(true);
  WICK_EXPECT_THROW_MSG(maximum(x, zeros({2})), ArgumentError,
                        "maximum: autograd is not supported");
  WICK_EXPECT_THROW_MSG(minimum(zeros({2}), x), ArgumentError,
                        "minimum: autograd is not supported");
  const NoGradGuard guard;  // without grad mode the inputs are plain values
  EXPECT_EQ(values(maximum(x, ones({2}))), (std::vector<double>{1, 1}));
}

// ---- comparisons -------------------------------------------------------------------------------

TEST(OpsCompare, MatchReferenceIncludingNaN) {
  const Tensor a = tensor({1.0, 2.0, kNaN, 3.0, -0.0, kInf});
  const Tensor b = tensor({1.0, 1.0, kNaN, 4.0, 0.0, kInf});
  EXPECT_EQ(values(a == b), (std::vector<double>{1, 0, 0, 0, 1, 1}));
  EXPECT_EQ(values(a != b), (std::vector<double>{0, 1, 1, 1, 0, 0}));
  EXPECT_EQ(values(a < b), (std::vector<double>{0, 0, 0, 1, 0, 0}));
  EXPECT_EQ(values(a <= b), (std::vector<double>{1, 0, 0, 1, 1, 1}));
  EXPECT_EQ(values(a > b), (std::vector<double>{0, 1, 0, 0, 0, 0}));
  EXPECT_EQ(values(a >= b), (std::vector<double>{1, 1, 0, 0, 1, 1}));
  EXPECT_EQ((a == b).dtype(), kBool);
}

TEST(OpsCompare, RandomBroadcastAgainstReference) {
  for (const DType dt : {kFloat32, kFloat64, kInt32, kUInt8, kFloat16}) {
    SCOPED_TRACE(dtype_name(dt));
    const Tensor a = rnd({5, 1, 9}, dt, 20, 0.0, 4.0);
    const Tensor b = rnd({3, 9}, dt, 21, 0.0, 4.0);
    const auto as_bool = [&](std::function<double(double, double)> f) {
      return reference(a, b, kBool, std::move(f));
    };
    EXPECT_TRUE(equal(lt(a, b), as_bool([](double x, double y) { return x < y ? 1.0 : 0.0; })));
    EXPECT_TRUE(equal(le(a, b), as_bool([](double x, double y) { return x <= y ? 1.0 : 0.0; })));
    EXPECT_TRUE(equal(gt(a, b), as_bool([](double x, double y) { return x > y ? 1.0 : 0.0; })));
    EXPECT_TRUE(equal(ge(a, b), as_bool([](double x, double y) { return x >= y ? 1.0 : 0.0; })));
    EXPECT_TRUE(equal(eq(a, b), as_bool([](double x, double y) { return x == y ? 1.0 : 0.0; })));
    EXPECT_TRUE(equal(ne(a, b), as_bool([](double x, double y) { return x != y ? 1.0 : 0.0; })));
    // One-element left operand: the scalar-vector path.
    const Tensor one = b.slice(0, 0, 1).slice(1, 0, 1);
    EXPECT_TRUE(equal(lt(one, b), gt(b, one)));
    EXPECT_TRUE(equal(ge(one, b), le(b, one)));
  }
}

TEST(OpsCompare, MixedDtypesPromote) {
  EXPECT_EQ(values(tensor({1, 2, 3}) == tensor({1.0, 2.5, 3.0})), (std::vector<double>{1, 0, 1}));
  EXPECT_EQ(values(tensor({2, 3}) < 2.5), (std::vector<double>{1, 0}));
  EXPECT_EQ(values(tensor({1.5, 2.0}) >= 2), (std::vector<double>{0, 1}));
  EXPECT_EQ(values(tensor({true, false}) == true), (std::vector<double>{1, 0}));
  EXPECT_EQ(values(tensor({1.0, 2.0}) != 1.0), (std::vector<double>{0, 1}));
  EXPECT_EQ(values(tensor({1.0, 2.0}) <= 1.0), (std::vector<double>{1, 0}));
  EXPECT_EQ(values(tensor({1.0, 2.0}) > 1.0), (std::vector<double>{0, 1}));
  // The scalar is cast to the tensor's dtype first (uint8: 300 wraps to 44), as PyTorch.
  EXPECT_EQ(values(from_vector(std::vector<uint8_t>{100}) < 300), (std::vector<double>{0}));
}

// ---- equal / bitwise_equal / allclose ---------------------------------------------------------

TEST(OpsEqual, TorchEqualSemantics) {
  const Tensor a = tensor({1.0, -0.0, 3.0});
  EXPECT_TRUE(equal(a, tensor({1.0, 0.0, 3.0})));
  EXPECT_FALSE(equal(a, tensor({1.0, 0.0, 3.5})));
  EXPECT_FALSE(equal(a, tensor({1.0, 0.0, 3.0}, kFloat64)));  // dtypes differ
  EXPECT_FALSE(equal(a, a.view({1, 3})));                     // shapes differ
  EXPECT_FALSE(equal(tensor({kNaN}), tensor({kNaN})));
  EXPECT_TRUE(equal(zeros({0, 2}), zeros({0, 2})));
  const Tensor m = rnd({4, 5}, kFloat32, 30);
  EXPECT_TRUE(equal(m.t(), m.t().contiguous()));
  EXPECT_TRUE(equal(ones({2}, kFloat16), ones({2}, kFloat16)));
  EXPECT_FALSE(equal(tensor({1, 2}), tensor({1, 3})));
}

TEST(OpsEqual, BitwiseEqualDistinguishesSignedZeroAndKeepsNaN) {
  EXPECT_FALSE(bitwise_equal(tensor({-0.0}), tensor({0.0})));
  EXPECT_TRUE(bitwise_equal(tensor({kNaN}), tensor({kNaN})));
  EXPECT_TRUE(bitwise_equal(tensor({1.0, 2.0}), tensor({1.0, 2.0})));
  EXPECT_FALSE(bitwise_equal(tensor({1.0}), tensor({1.0}, kFloat64)));
  EXPECT_FALSE(bitwise_equal(tensor({1.0}), tensor({1.0, 1.0})));
  const Tensor m = rnd({3, 7}, kFloat64, 31);
  EXPECT_TRUE(bitwise_equal(m.t(), m.t().contiguous()));
}

TEST(OpsEqual, AllcloseTolerancesAndSpecials) {
  const Tensor a = tensor({1.0, 100.0});
  EXPECT_TRUE(allclose(a, tensor({1.0 + 5e-6, 100.0 + 5e-4})));
  EXPECT_FALSE(allclose(a, tensor({1.0 + 5e-4, 100.0})));
  EXPECT_TRUE(allclose(a, tensor({1.0 + 5e-4, 100.0}), 1e-3));
  EXPECT_TRUE(allclose(a, tensor({1.1, 100.0}), 0, 0.2));
  EXPECT_FALSE(allclose(tensor({kNaN}), tensor({kNaN})));
  EXPECT_TRUE(allclose(tensor({kNaN}), tensor({kNaN}), 1e-5, 1e-8, true));
  EXPECT_FALSE(allclose(tensor({kNaN}), tensor({1.0}), 1e-5, 1e-8, true));
  EXPECT_TRUE(allclose(tensor({kInf, -kInf}), tensor({kInf, -kInf})));
  EXPECT_FALSE(allclose(tensor({kInf}), tensor({1e38})));
  EXPECT_FALSE(allclose(tensor({kInf}), tensor({-kInf}), 1e9, 1e9));
  // Broadcasting.
  EXPECT_TRUE(allclose(tensor({{1.0, 2.0}, {1.0, 2.0}}), tensor({1.0, 2.0})));
  EXPECT_FALSE(allclose(tensor({{1.0, 2.0}, {1.0, 2.5}}), tensor({1.0, 2.0})));
  EXPECT_TRUE(allclose(tensor({3, 4}), tensor({3, 4})));
}

TEST(OpsEqual, AllcloseErrors) {
  WICK_EXPECT_THROW_MSG(allclose(ones({2}), ones({2}, kFloat64)), ArgumentError,
                        "allclose: dtypes must match, got float32 and float64");
  WICK_EXPECT_THROW_MSG(allclose(ones({2}), ones({3})), ShapeError, "allclose: shapes [2] and [3]");
  WICK_EXPECT_THROW_MSG(allclose(ones({2}), ones({2}), -1.0), ArgumentError,
                        "rtol and atol must be non-negative, got rtol=-1");
  WICK_EXPECT_THROW_MSG(allclose(ones({2}), ones({2}), 0.0, -2.0), ArgumentError, "atol=-2");
}

// ---- undefined operands ------------------------------------------------------------------------

TEST(OpsErrors, UndefinedOperandsAreNamed) {
  const Tensor u;
  const Tensor x = ones({2});
  WICK_EXPECT_THROW_MSG(u + x, ArgumentError, "add: first operand is undefined");
  WICK_EXPECT_THROW_MSG(x * u, ArgumentError, "mul: second operand is undefined");
  WICK_EXPECT_THROW_MSG(u - 1, ArgumentError, "sub: first operand is undefined");
  WICK_EXPECT_THROW_MSG(2 / u, ArgumentError, "div: second operand is undefined");
  WICK_EXPECT_THROW_MSG(exp(u), ArgumentError, "exp: input is undefined");
  WICK_EXPECT_THROW_MSG(-u, ArgumentError, "neg: input is undefined");
  WICK_EXPECT_THROW_MSG(u < x, ArgumentError, "lt: first operand is undefined");
  WICK_EXPECT_THROW_MSG(u >= 1, ArgumentError, "ge: first operand is undefined");
  WICK_EXPECT_THROW_MSG(equal(x, u), ArgumentError, "equal: second operand is undefined");
  WICK_EXPECT_THROW_MSG(bitwise_equal(u, x), ArgumentError, "bitwise_equal: first operand");
  WICK_EXPECT_THROW_MSG(allclose(x, u), ArgumentError, "allclose: second operand is undefined");
}

}  // namespace
}  // namespace wick
