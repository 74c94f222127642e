#include "wick/nn/adam.h"

#include <cmath>
#include <limits>
#include <utility>

#include "wick/core/autograd.h"
#include "wick/core/creation.h"
#include "wick/core/optim_kernels.h"

namespace wick::nn {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

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
    const float next_step = s.step + 1.0F;  // float, as PyTorch's state["step"]
    Tensor no_max;  // without amsgrad, a max_exp_avg_sq from an earlier setting stays as it is
    // PyTorch's single-tensor arithmetic, fused and vectorised (wick/core/optim_kernels.h).
    adam_step_(p, g, s.exp_avg, s.exp_avg_sq, options_.amsgrad ? s.max_exp_avg_sq : no_max,
               AdamStep{.lr = options_.lr,
                        .beta1 = options_.beta1,
                        .beta2 = options_.beta2,
                        .eps = options_.eps,
                        .weight_decay = options_.weight_decay,
                        .maximize = options_.maximize,
                        .decoupled = decoupled_,
                        .step = next_step});
    s.step = next_step;  // after the update, so that a refused one leaves the count as it was
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
