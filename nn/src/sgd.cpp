#include "wick/nn/sgd.h"

#include <limits>
#include <utility>

#include "wick/core/autograd.h"
#include "wick/core/creation.h"

namespace wick::nn {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// PyTorch's single-tensor SGD, element by element, in its order of operations. `buf` is
// written with d_p on the first step (torch.clone(d_p)); maximize negates the gradient first.
template <class T>
void sgd_update(T* p, const T* g, T* buf, bool first, int64_t n, const SGDOptions& o) {
  const T wd = static_cast<T>(o.weight_decay);
  const T momentum = static_cast<T>(o.momentum);
  const T keep = static_cast<T>(1.0 - o.dampening);
  const T neg_lr = static_cast<T>(-o.lr);
  for (int64_t i = 0; i < n; ++i) {
    T d = o.maximize ? -g[i] : g[i];
    if (o.weight_decay != 0.0) d = d + wd * p[i];
    if (o.momentum != 0.0) {
      buf[i] = first ? d : buf[i] * momentum + keep * d;
      d = o.nesterov ? d + momentum * buf[i] : buf[i];
    }
    p[i] = p[i] + neg_lr * d;
  }
}

}  // namespace

SGD::SGD(std::vector<Tensor> params, const SGDOptions& options)
    : Optimizer(std::move(params), "SGD"), options_(options) {
  check_options(hyper_values());
  momentum_buffers_.resize(this->params().size());
}

void SGD::set_lr(double lr) {
  std::vector<std::string> problems;
  check_range("learning rate", lr, 0.0, true, kInf, false, problems);
  WICK_CHECK(problems.empty(), ArgumentError, "SGD.set_lr: ", problems.empty() ? "" : problems[0]);
  options_.lr = lr;
}

void SGD::step() {
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < params().size(); ++i) {
    const Tensor g = grad_of(i);
    if (!g.defined()) continue;
    Tensor p = params()[i];
    note_state(i);
    Tensor& buf = momentum_buffers_[i];
    const bool first = options_.momentum != 0.0 && !buf.defined();
    if (first) buf = empty(p.shape(), p.dtype());
    if (p.dtype() == kFloat32) {
      sgd_update(p.data<float>(), g.data<float>(), buf.defined() ? buf.data<float>() : nullptr,
                 first, p.numel(), options_);
    } else {
      sgd_update(p.data<double>(), g.data<double>(), buf.defined() ? buf.data<double>() : nullptr,
                 first, p.numel(), options_);
    }
  }
}

Dict SGD::param_state(std::size_t i) const {
  const Tensor& buf = momentum_buffers_[i];
  return Dict{{"momentum_buffer", buf.defined() ? Value(buf) : Value()}};
}

std::vector<Optimizer::HyperSpec> SGD::hyper_specs() const {
  return {{"lr", HyperKind::Number},        {"momentum", HyperKind::Number},
          {"dampening", HyperKind::Number}, {"weight_decay", HyperKind::Number},
          {"nesterov", HyperKind::Flag},    {"maximize", HyperKind::Flag},
          {"foreach", HyperKind::Foreach},  {"differentiable", HyperKind::Off}};
}

Optimizer::HyperValues SGD::hyper_values() const {
  return {options_.lr,
          options_.momentum,
          options_.dampening,
          options_.weight_decay,
          options_.nesterov ? 1.0 : 0.0,
          options_.maximize ? 1.0 : 0.0};
}

void SGD::check_hyper(const HyperValues& v, std::vector<std::string>& problems) const {
  check_range("learning rate", v[0], 0.0, true, kInf, false, problems);
  check_range("momentum value", v[1], 0.0, true, kInf, false, problems);
  check_range("dampening", v[2], -kInf, false, kInf, false, problems);
  check_range("weight_decay value", v[3], 0.0, true, kInf, false, problems);
  if (v[4] != 0.0 && (v[1] <= 0.0 || v[2] != 0.0)) {
    problems.push_back(
        detail::cat("nesterov momentum requires a momentum and zero dampening (got "
                    "momentum ",
                    v[1], ", dampening ", v[2], ")"));
  }
}

std::vector<Optimizer::SlotSpec> SGD::state_slots(const HyperValues& /*values*/) const {
  return {{"momentum_buffer", SlotKind::OptionalBuffer}};
}

void SGD::apply_loaded(const HyperValues& v, std::vector<LoadedParamState> state) {
  options_ = SGDOptions{.lr = v[0],
                        .momentum = v[1],
                        .dampening = v[2],
                        .weight_decay = v[3],
                        .nesterov = v[4] != 0.0,
                        .maximize = v[5] != 0.0};
  for (std::size_t i = 0; i < state.size(); ++i)
    momentum_buffers_[i] = state[i].present ? std::move(state[i].buffers[0]) : Tensor();
}

}  // namespace wick::nn
