#include "wick/nn/adam.h"

#include <cmath>
#include <limits>
#include <utility>

#include "wick/core/autograd.h"
#include "wick/core/creation.h"

namespace wick::nn {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

template <class T>
T nan_max(T a, T b) {  // torch.maximum: NaN wins
  return std::isnan(a) || std::isnan(b) ? a + b : (a < b ? b : a);
}

// PyTorch's single-tensor Adam / AdamW for one parameter, element by element, in its order of
// operations (mul_ then add_, addcmul's value * t1 * t2, addcdiv's value * t1 / t2); maximize
// negates the gradient first.
template <class T>
void adam_update(T* p, const T* g, T* m, T* v, T* vmax, int64_t n, const AdamOptions& o,
                 bool decoupled, double step) {
  const double bias_correction1 = 1.0 - std::pow(o.beta1, step);
  const double bias_correction2 = 1.0 - std::pow(o.beta2, step);
  const T neg_step_size = static_cast<T>(-(o.lr / bias_correction1));
  const T bc2_sqrt = static_cast<T>(std::sqrt(bias_correction2));
  const T decay = static_cast<T>(1.0 - o.lr * o.weight_decay);
  const T wd = static_cast<T>(o.weight_decay);
  const T beta1 = static_cast<T>(o.beta1), one_minus_beta1 = static_cast<T>(1.0 - o.beta1);
  const T beta2 = static_cast<T>(o.beta2), one_minus_beta2 = static_cast<T>(1.0 - o.beta2);
  const T eps = static_cast<T>(o.eps);
  for (int64_t i = 0; i < n; ++i) {
    T grad = o.maximize ? -g[i] : g[i];
    if (decoupled) {
      p[i] = p[i] * decay;
    } else if (o.weight_decay != 0.0) {
      grad = grad + wd * p[i];
    }
    m[i] = m[i] * beta1 + one_minus_beta1 * grad;
    v[i] = v[i] * beta2 + one_minus_beta2 * grad * grad;
    T second = v[i];
    if (vmax != nullptr) second = vmax[i] = nan_max(vmax[i], v[i]);
    const T denom = std::sqrt(second) / bc2_sqrt + eps;
    p[i] = p[i] + neg_step_size * m[i] / denom;
  }
}

}  // namespace

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options)
    : Adam(std::move(params), options, false, "Adam") {}

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options, bool decoupled,
           const std::string& type_name)
    : Optimizer(std::move(params), type_name), options_(options), decoupled_(decoupled) {
  check_options(hyper_values());
  state_.resize(this->params().size());
}

AdamW::AdamW(std::vector<Tensor> params, const AdamWOptions& o)
    : Adam(std::move(params),
           AdamOptions{.lr = o.lr,
                       .beta1 = o.beta1,
                       .beta2 = o.beta2,
                       .eps = o.eps,
                       .weight_decay = o.weight_decay,
                       .amsgrad = o.amsgrad,
                       .maximize = o.maximize},
           true, "AdamW") {}

void Adam::set_lr(double lr) {
  std::vector<std::string> problems;
  check_range("learning rate", lr, 0.0, true, kInf, false, problems);
  WICK_CHECK(problems.empty(), ArgumentError, type_name(),
             ".set_lr: ", problems.empty() ? "" : problems[0]);
  options_.lr = lr;
}

void Adam::step() {
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < params().size(); ++i) {
    const Tensor g = grad_of(i);
    if (!g.defined()) continue;
    Tensor p = params()[i];
    ParamState& s = state_[i];
    if (!s.exp_avg.defined()) {
      note_state(i);
      s.step = 0.0F;
      s.exp_avg = zeros(p.shape(), p.dtype());
      s.exp_avg_sq = zeros(p.shape(), p.dtype());
    }
    if (options_.amsgrad && !s.max_exp_avg_sq.defined())
      s.max_exp_avg_sq = zeros(p.shape(), p.dtype());
    s.step += 1.0F;
    if (p.dtype() == kFloat32) {
      adam_update(p.data<float>(), g.data<float>(), s.exp_avg.data<float>(),
                  s.exp_avg_sq.data<float>(),
                  options_.amsgrad ? s.max_exp_avg_sq.data<float>() : nullptr, p.numel(), options_,
                  decoupled_, s.step);
    } else {
      adam_update(p.data<double>(), g.data<double>(), s.exp_avg.data<double>(),
                  s.exp_avg_sq.data<double>(),
                  options_.amsgrad ? s.max_exp_avg_sq.data<double>() : nullptr, p.numel(), options_,
                  decoupled_, s.step);
    }
  }
}

Dict Adam::param_state(std::size_t i) const {
  const ParamState& s = state_[i];
  Dict out{{"step", scalar_tensor(s.step, kFloat32)},
           {"exp_avg", s.exp_avg},
           {"exp_avg_sq", s.exp_avg_sq}};
  if (options_.amsgrad) out.insert("max_exp_avg_sq", s.max_exp_avg_sq);
  return out;
}

std::vector<Optimizer::HyperSpec> Adam::hyper_specs() const {
  std::vector<HyperSpec> specs{{"lr", HyperKind::Float},
                               {"betas", HyperKind::Pair},
                               {"eps", HyperKind::Float},
                               {"weight_decay", HyperKind::Number},
                               {"amsgrad", HyperKind::Flag}};
  // torch 1.13 builds the two groups' dicts in different orders, and AdamW has no
  // differentiable or fused.
  if (decoupled_) {
    specs.insert(specs.end(), {{"foreach", HyperKind::Foreach},
                               {"maximize", HyperKind::Flag},
                               {"capturable", HyperKind::Off}});
  } else {
    specs.insert(specs.end(), {{"maximize", HyperKind::Flag},
                               {"foreach", HyperKind::Foreach},
                               {"capturable", HyperKind::Off},
                               {"differentiable", HyperKind::Off},
                               {"fused", HyperKind::Off}});
  }
  return specs;
}

Optimizer::HyperValues Adam::hyper_values() const {
  return {options_.lr,
          options_.beta1,
          options_.beta2,
          options_.eps,
          options_.weight_decay,
          options_.amsgrad ? 1.0 : 0.0,
          options_.maximize ? 1.0 : 0.0};
}

void Adam::check_hyper(const HyperValues& v, std::vector<std::string>& problems) const {
  check_range("learning rate", v[0], 0.0, true, kInf, false, problems);
  check_range("beta parameter at index 0", v[1], 0.0, true, 1.0, false, problems);
  check_range("beta parameter at index 1", v[2], 0.0, true, 1.0, false, problems);
  check_range("epsilon value", v[3], 0.0, true, kInf, false, problems);
  check_range("weight_decay value", v[4], 0.0, true, kInf, false, problems);
}

std::vector<Optimizer::SlotSpec> Adam::state_slots(const HyperValues& v) const {
  std::vector<SlotSpec> slots{
      {"step", SlotKind::Step}, {"exp_avg", SlotKind::Buffer}, {"exp_avg_sq", SlotKind::Buffer}};
  if (v[5] != 0.0) slots.push_back({"max_exp_avg_sq", SlotKind::Buffer});
  return slots;
}

void Adam::apply_loaded(const HyperValues& v, std::vector<LoadedParamState> state) {
  options_ = AdamOptions{.lr = v[0],
                         .beta1 = v[1],
                         .beta2 = v[2],
                         .eps = v[3],
                         .weight_decay = v[4],
                         .amsgrad = v[5] != 0.0,
                         .maximize = v[6] != 0.0};
  for (std::size_t i = 0; i < state.size(); ++i) {
    ParamState& s = state_[i];
    s = ParamState{};
    if (!state[i].present) continue;
    s.step = state[i].step;
    s.exp_avg = std::move(state[i].buffers[0]);
    s.exp_avg_sq = std::move(state[i].buffers[1]);
    if (options_.amsgrad) s.max_exp_avg_sq = std::move(state[i].buffers[2]);
  }
}

}  // namespace wick::nn
