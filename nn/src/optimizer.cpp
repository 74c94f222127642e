#include "wick/nn/optimizer.h"

#include <charconv>
#include <cmath>
#include <utility>

#include "wick/core/autograd.h"
#include "wick/core/creation.h"
#include "wick/core/error.h"
#include "wick/core/ops.h"

namespace wick::nn {

namespace {

constexpr std::string_view kGroup = "param_groups.0.";
constexpr std::string_view kState = "state.";

std::string join_quoted(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& k : keys)
    out += (out.empty() ? "\"" : ", \"") + k + "\"";
  return out;
}

// The optimizer a state dict was written by, from its hyperparameter keys ("" when unknown).
std::string checkpoint_type(const TensorDict& state) {
  const std::string group(kGroup);
  if (state.contains(group + "momentum")) return "SGD";
  if (!state.contains(group + "betas")) return "";
  const Tensor* flag = state.find(group + "decoupled_weight_decay");
  if (flag == nullptr || !flag->defined() || flag->numel() != 1 || flag->dtype() != kBool)
    return "";
  return flag->item<bool>() ? "AdamW" : "Adam";
}

// "state.<i>.<name>" -> (i, name); i must be a canonical decimal below n.
bool parse_state_key(std::string_view key, std::size_t n, std::size_t& index, std::string& name) {
  if (!key.starts_with(kState)) return false;
  key.remove_prefix(kState.size());
  const auto dot = key.find('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  const std::string_view digits = key.substr(0, dot);
  if (digits.size() > 1 && digits[0] == '0') return false;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
  if (ec != std::errc() || end != digits.data() + digits.size() || index >= n) return false;
  name = std::string(key.substr(dot + 1));
  return true;
}

}  // namespace

Optimizer::Optimizer(std::vector<Tensor> params, const std::string& type_name)
    : params_(std::move(params)), type_name_(type_name) {
  WICK_CHECK(!params_.empty(), ArgumentError, type_name_, ": got an empty parameter list");
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    WICK_CHECK(p.defined(), ArgumentError, type_name_, ": parameter ", i,
               " is an undefined tensor");
    WICK_CHECK(p.dtype() == kFloat32 || p.dtype() == kFloat64, ArgumentError, type_name_,
               ": parameter ", i, " has dtype ", dtype_name(p.dtype()),
               ", expected float32 or float64");
    WICK_CHECK(p.is_contiguous(), ArgumentError, type_name_, ": parameter ", i,
               " is not contiguous (shape ", shape_str(p.shape()), ", strides ",
               shape_str(p.strides()), ")");
    WICK_CHECK(p.is_leaf(), ArgumentError, type_name_, ": parameter ", i,
               " is not a leaf tensor (it is the result of a differentiable operation)");
    // A handle copied before the autograd state exists never sees the gradient set through
    // the model's handle, so such a parameter would silently never move.
    WICK_CHECK(p.requires_grad(), ArgumentError, type_name_, ": parameter ", i,
               " does not require grad; call set_requires_grad() before creating the optimizer");
    for (std::size_t j = 0; j < i; ++j) {
      WICK_CHECK(!params_[j].is_same(p), ArgumentError, type_name_, ": parameter ", i,
                 " is the same tensor as parameter ", j);
    }
  }
}

void Optimizer::zero_grad() {
  for (auto& p : params_)
    p.set_grad(Tensor());
}

Tensor Optimizer::grad_of(std::size_t i) const {
  const Tensor& p = params_[i];
  Tensor g = p.grad();
  if (!g.defined()) return g;
  WICK_CHECK(g.shape() == p.shape(), ShapeError, type_name_, ".step: gradient of parameter ", i,
             " has shape ", shape_str(g.shape()), ", parameter has ", shape_str(p.shape()));
  WICK_CHECK(is_floating(g.dtype()), ArgumentError, type_name_, ".step: gradient of parameter ", i,
             " has dtype ", dtype_name(g.dtype()), ", expected a floating dtype");
  return g.to(p.dtype()).contiguous();
}

void Optimizer::write_hyper(TensorDict& out) const {
  const std::string group(kGroup);
  const HyperValues values = hyper_values();
  std::size_t k = 0;
  for (const auto& spec : hyper_specs()) {
    switch (spec.kind) {
      case HyperKind::Number:
        out.insert(group + spec.name, scalar_tensor(values[k++], kFloat64));
        break;
      case HyperKind::Flag:
        out.insert(group + spec.name, scalar_tensor(values[k++] != 0.0, kBool));
        break;
      case HyperKind::Pair:
        out.insert(group + spec.name, from_vector(std::vector<double>{values[k], values[k + 1]}));
        k += 2;
        break;
    }
  }
  out.insert(group + "params", arange(static_cast<int64_t>(params_.size())));
}

void Optimizer::check_range(const char* what, double v, double low, bool low_inclusive, double high,
                            bool high_inclusive, std::vector<std::string>& problems) const {
  const bool above = low_inclusive ? v >= low : v > low;
  const bool below = high_inclusive ? v <= high : v < high;
  if (above && below) return;  // also false for NaN
  problems.push_back(detail::cat("invalid ", what, ": ", v, " (expected in ",
                                 low_inclusive ? "[" : "(", low, ", ", high,
                                 high_inclusive ? "]" : ")", ")"));
}

void Optimizer::load_state_dict(const TensorDict& state) {
  const std::string group(kGroup);
  const std::size_t n = params_.size();
  std::vector<std::string> problems, missing, unexpected;
  bool shape_problem = false;

  const std::string other = checkpoint_type(state);

  // Hyperparameters; a missing or bad one keeps the current value so the checks below still
  // see a consistent set.
  const std::vector<HyperSpec> specs = hyper_specs();
  HyperValues values = hyper_values();
  std::size_t k = 0;
  for (const auto& spec : specs) {
    const std::string key = group + spec.name;
    const std::size_t width = spec.kind == HyperKind::Pair ? 2 : 1;
    const Shape expected_shape = spec.kind == HyperKind::Pair ? Shape{2} : Shape{};
    const bool flag = spec.kind == HyperKind::Flag;
    const Tensor* t = state.find(key);
    if (t == nullptr) {
      missing.push_back(key);
    } else if (!t->defined()) {
      problems.push_back("value for " + key + " is an undefined tensor");
    } else if (t->shape() != expected_shape) {
      shape_problem = true;
      problems.push_back(detail::cat("size mismatch for ", key, ": checkpoint has ",
                                     shape_str(t->shape()), ", expected ",
                                     shape_str(expected_shape)));
    } else if (flag ? t->dtype() != kBool : !is_floating(t->dtype())) {
      problems.push_back(detail::cat("dtype mismatch for ", key, ": checkpoint has ",
                                     dtype_name(t->dtype()), ", expected ",
                                     flag ? "bool" : "float64"));
    } else {
      const Tensor d = t->to(kFloat64).contiguous();
      for (std::size_t j = 0; j < width; ++j)
        values[k + j] = d.data<double>()[j];
    }
    k += width;
  }
  check_hyper(values, problems);

  const std::string params_key = group + "params";
  if (const Tensor* t = state.find(params_key); t == nullptr) {
    missing.push_back(params_key);
  } else if (!t->defined()) {
    problems.push_back("value for " + params_key + " is an undefined tensor");
  } else if (t->shape() != Shape{static_cast<int64_t>(n)}) {
    shape_problem = true;
    problems.push_back(detail::cat("size mismatch for ", params_key, ": checkpoint has ",
                                   shape_str(t->shape()), ", optimizer has [", n,
                                   "] (the number of parameters)"));
  } else if (t->dtype() != kInt64 || !equal(*t, arange(static_cast<int64_t>(n)))) {
    problems.push_back(detail::cat("bad value for ", params_key,
                                   ": expected the int64 indices 0 to ", n - 1, ", got ",
                                   dtype_name(t->dtype()), " ", shape_str(t->shape())));
  }

  // Per-parameter state: slots are the buffers, then "step".
  std::vector<std::string> slots = buffer_names(values);
  const std::size_t num_buffers = slots.size();
  if (has_step()) slots.emplace_back("step");
  std::vector<std::vector<const Tensor*>> found(n, std::vector<const Tensor*>(slots.size()));
  for (const auto& [key, t] : state) {
    if (key.starts_with(group)) {
      bool known = key == params_key;
      for (const auto& spec : specs)
        known = known || key == group + spec.name;
      if (!known) unexpected.push_back(key);
      continue;
    }
    std::size_t index = 0;
    std::string name;
    bool known = parse_state_key(key, n, index, name);
    std::size_t slot = 0;
    while (known && slot < slots.size() && slots[slot] != name)
      ++slot;
    if (!known || slot == slots.size()) {
      unexpected.push_back(key);
      continue;
    }
    found[index][slot] = &t;
  }

  std::vector<LoadedParamState> loaded(n);
  for (std::size_t i = 0; i < n; ++i) {
    bool any = false;
    for (const Tensor* t : found[i])
      any = any || t != nullptr;
    if (!any) continue;
    loaded[i].present = true;
    for (std::size_t s = 0; s < slots.size(); ++s) {
      const std::string key = detail::cat(kState, i, ".", slots[s]);
      const Tensor* t = found[i][s];
      const bool is_step = s == num_buffers;
      const Shape expected = is_step ? Shape{} : params_[i].shape();
      if (t == nullptr) {
        missing.push_back(key);
      } else if (!t->defined()) {
        problems.push_back("value for " + key + " is an undefined tensor");
      } else if (t->shape() != expected) {
        shape_problem = true;
        problems.push_back(
            detail::cat("size mismatch for ", key, ": checkpoint has ", shape_str(t->shape()), ", ",
                        is_step ? std::string("expected []")
                                : detail::cat("parameter ", i, " has ", shape_str(expected))));
      } else if (!is_floating(t->dtype())) {
        problems.push_back(detail::cat("dtype mismatch for ", key, ": checkpoint has ",
                                       dtype_name(t->dtype()), ", expected ",
                                       is_step ? "float32" : "a floating dtype"));
      } else if (is_step) {
        const double v = t->item<double>();
        // float32 counts exactly up to 2^24, where PyTorch's step tensor stops growing too.
        if (!(v >= 0.0 && v <= 16777216.0 && v == std::floor(v))) {
          problems.push_back(detail::cat("bad value for ", key, ": ", v,
                                         " (expected a whole number in [0, 2^24])"));
        } else {
          loaded[i].step = static_cast<float>(v);
        }
      }
    }
  }

  if (!unexpected.empty()) {
    problems.insert(problems.begin(),
                    "Unexpected key(s) in state_dict: " + join_quoted(unexpected) + ".");
  }
  if (!missing.empty()) {
    problems.insert(problems.begin(),
                    "Missing key(s) in state_dict: " + join_quoted(missing) + ".");
  }
  if (!other.empty() && other != type_name_) {
    problems.insert(problems.begin(), "optimizer type mismatch: checkpoint is for " + other +
                                          ", this optimizer is " + type_name_);
  }
  if (!problems.empty()) {
    std::string msg = "load_state_dict: Error(s) in loading state_dict for " + type_name_ + ":";
    for (const auto& p : problems)
      msg += "\n\t" + p;
    if (shape_problem) throw ShapeError(msg);
    throw ArgumentError(msg);
  }

  // Everything checked: copy into fresh tensors so the optimizer never aliases `state`.
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < n; ++i) {
    if (!loaded[i].present) continue;
    for (std::size_t s = 0; s < num_buffers; ++s) {
      Tensor b = empty(params_[i].shape(), params_[i].dtype());
      b.copy_(*found[i][s]);
      loaded[i].buffers.push_back(std::move(b));
    }
  }
  apply_loaded(values, std::move(loaded));
}

}  // namespace wick::nn
