// Fused optimizer updates (wick/core/optim_kernels.h): argument checks, the step's scalars,
// then the active kernel table's update in pieces spread over the thread pool.

#include "wick/core/optim_kernels.h"

#include <algorithm>
#include <cmath>

#include "ops_common.h"
#include "parallel_for.h"
#include "simd/kernels.h"
#include "wick/core/error.h"
#include "wick/core/parallel.h"

namespace wick {

namespace {

// Below this many elements per thread the pool costs more than it saves.
constexpr int64_t kParallelGrain = int64_t{1} << 16;

void check_like(const Tensor& t, const Tensor& param, const char* name) {
  WICK_CHECK(t.defined(), ArgumentError, "adam_step_: ", name, " is undefined");
  WICK_CHECK(t.shape() == param.shape(), ShapeError, "adam_step_: ", name, " has shape ",
             shape_str(t.shape()), ", the parameter ", shape_str(param.shape()));
  WICK_CHECK(t.dtype() == param.dtype(), ArgumentError, "adam_step_: ", name, " has dtype ",
             dtype_name(t.dtype()), ", the parameter ", dtype_name(param.dtype()));
  WICK_CHECK(t.is_contiguous(), ArgumentError, "adam_step_: ", name, " is not contiguous");
}

template <class T>
void run_adam(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, Tensor& vmax,
              const AdamStep& s) {
  const double bias_correction1 = 1.0 - std::pow(s.beta1, s.step);
  const double bias_correction2 = 1.0 - std::pow(s.beta2, s.step);
  simd::detail::AdamArgs<T> a;
  a.neg_step_size = static_cast<T>(-(s.lr / bias_correction1));
  a.bc2_sqrt = static_cast<T>(std::sqrt(bias_correction2));
  a.decay = static_cast<T>(1.0 - s.lr * s.weight_decay);
  a.wd = static_cast<T>(s.weight_decay);
  a.beta1 = static_cast<T>(s.beta1);
  a.one_minus_beta1 = static_cast<T>(1.0 - s.beta1);
  a.beta2 = static_cast<T>(s.beta2);
  a.one_minus_beta2 = static_cast<T>(1.0 - s.beta2);
  a.eps = static_cast<T>(s.eps);
  a.maximize = s.maximize;
  a.decoupled = s.decoupled;
  a.coupled_decay = !s.decoupled && s.weight_decay != 0.0;
  const auto kernel = detail::kernels_for<T>(simd::detail::active_kernels()).adam;
  const int64_t n = param.numel();
  const int64_t pieces = std::clamp<int64_t>(n / kParallelGrain, 1, num_threads());
  const int64_t per = (n + pieces - 1) / pieces;
  const auto piece = [&](int64_t t) {
    const int64_t lo = t * per;
    simd::detail::AdamArgs<T> part = a;
    part.n = std::min(n, lo + per) - lo;
    part.p = param.data<T>() + lo;
    part.g = grad.data<T>() + lo;
    part.m = m.data<T>() + lo;
    part.v = v.data<T>() + lo;
    part.vmax = vmax.defined() ? vmax.data<T>() + lo : nullptr;
    if (part.n > 0) kernel(part);
  };
  if (pieces == 1) {
    piece(0);
  } else {
    detail::parallel_for(pieces, piece);
  }
}

}  // namespace

void adam_step_(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq,
                Tensor& max_exp_avg_sq, const AdamStep& step) {
  WICK_CHECK(param.defined(), ArgumentError, "adam_step_: the parameter is undefined");
  WICK_CHECK(param.dtype() == kFloat32 || param.dtype() == kFloat64, ArgumentError,
             "adam_step_: the parameter has dtype ", dtype_name(param.dtype()),
             ", expected float32 or float64");
  check_like(param, param, "the parameter");
  check_like(grad, param, "the gradient");
  check_like(exp_avg, param, "exp_avg");
  check_like(exp_avg_sq, param, "exp_avg_sq");
  if (max_exp_avg_sq.defined()) check_like(max_exp_avg_sq, param, "max_exp_avg_sq");
  if (param.dtype() == kFloat32) {
    run_adam<float>(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step);
  } else {
    run_adam<double>(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step);
  }
}

}  // namespace wick
