#include "wick/nn/optimizer.h"

#include <algorithm>
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

// load_state_dict() split along the parts of the layout in optimizer.h. Each part records what
// it finds wrong and goes on, so that one error lists every problem; nothing reaches the
// optimizer until every part has passed.
class Optimizer::StateLoader {
 public:
  StateLoader(const Optimizer& opt, const TensorDict& state)
      : opt_(opt),
        state_(state),
        n_(opt.params_.size()),
        group_(kGroup),
        params_key_(group_ + "params"),
        specs_(opt.hyper_specs()) {}

  // Part param_groups.0.<hyperparameter>, then the combination of the values. A missing or bad
  // one keeps the current value, so that check_hyper() and buffer_names() still see a
  // consistent set.
  HyperValues read_hyper() {
    HyperValues values = opt_.hyper_values();
    std::size_t k = 0;
    for (const HyperSpec& spec : specs_) {
      read_hyper_entry(spec, values.data() + k);
      k += spec.kind == HyperKind::Pair ? 2 : 1;
    }
    opt_.check_hyper(values, problems_);
    return values;
  }

  // Part param_groups.0.params: the indices 0 to n-1, so that state.<i> names the same
  // parameter in the checkpoint and in this optimizer.
  void check_param_indices() {
    const Tensor* t = shaped(params_key_, state_.find(params_key_), Shape{static_cast<int64_t>(n_)},
                             detail::cat("optimizer has [", n_, "] (the number of parameters)"));
    if (t != nullptr && (t->dtype() != kInt64 || !equal(*t, arange(static_cast<int64_t>(n_))))) {
      problems_.push_back(detail::cat("bad value for ", params_key_,
                                      ": expected the int64 indices 0 to ", n_ - 1, ", got ",
                                      dtype_name(t->dtype()), " ", shape_str(t->shape())));
    }
  }

  // Every key: a hyperparameter, params, or state.<i>.<slot> for a parameter i and a slot the
  // loaded hyperparameters use (the buffers, then "step"); anything else is unexpected.
  void sort_keys(const HyperValues& values) {
    slots_ = opt_.buffer_names(values);
    num_buffers_ = slots_.size();
    if (opt_.has_step()) slots_.emplace_back("step");
    found_.assign(n_, std::vector<const Tensor*>(slots_.size()));
    for (const auto& [key, t] : state_) {
      const bool known = key.starts_with(group_) ? is_group_key(key) : place_state_key(key, t);
      if (!known) unexpected_.push_back(key);
    }
  }

  // Part state.<i>.*: per parameter, no entries (never stepped) or all of its slots.
  std::vector<LoadedParamState> read_param_states() {
    std::vector<LoadedParamState> loaded(n_);
    for (std::size_t i = 0; i < n_; ++i) {
      const auto& slots = found_[i];
      if (std::any_of(slots.begin(), slots.end(), [](const Tensor* t) { return t != nullptr; }))
        loaded[i] = read_param_state(i);
    }
    return loaded;
  }

  // The cross-checks and the one error: a checkpoint of another optimizer type first (it
  // explains the rest), then missing and unexpected keys, then every part's problems.
  void throw_if_problems() const {
    std::vector<std::string> lines;
    const std::string other = checkpoint_type(state_);
    if (!other.empty() && other != opt_.type_name_) {
      lines.push_back("optimizer type mismatch: checkpoint is for " + other +
                      ", this optimizer is " + opt_.type_name_);
    }
    if (!missing_.empty())
      lines.push_back("Missing key(s) in state_dict: " + join_quoted(missing_) + ".");
    if (!unexpected_.empty())
      lines.push_back("Unexpected key(s) in state_dict: " + join_quoted(unexpected_) + ".");
    lines.insert(lines.end(), problems_.begin(), problems_.end());
    if (lines.empty()) return;
    std::string msg =
        "load_state_dict: Error(s) in loading state_dict for " + opt_.type_name_ + ":";
    for (const auto& p : lines)
      msg += "\n\t" + p;
    if (shape_problem_) throw ShapeError(msg);
    throw ArgumentError(msg);
  }

  // Copies the checked buffers into fresh tensors of the parameters' dtypes, so that the
  // optimizer never aliases `state`.
  void copy_buffers(std::vector<LoadedParamState>& loaded) const {
    for (std::size_t i = 0; i < n_; ++i) {
      if (!loaded[i].present) continue;
      const Tensor& p = opt_.params_[i];
      for (std::size_t s = 0; s < num_buffers_; ++s) {
        Tensor b = empty(p.shape(), p.dtype());
        b.copy_(*found_[i][s]);
        loaded[i].buffers.push_back(std::move(b));
      }
    }
  }

 private:
  // `t`, the entry under `key` (null when absent), when it is defined and shaped `expected`;
  // otherwise records why not and returns null. `expected_text` ends a size mismatch message.
  const Tensor* shaped(const std::string& key, const Tensor* t, const Shape& expected,
                       const std::string& expected_text) {
    if (t == nullptr) {
      missing_.push_back(key);
    } else if (!t->defined()) {
      problems_.push_back("value for " + key + " is an undefined tensor");
    } else if (t->shape() != expected) {
      shape_problem_ = true;
      problems_.push_back(detail::cat("size mismatch for ", key, ": checkpoint has ",
                                      shape_str(t->shape()), ", ", expected_text));
    } else {
      return t;
    }
    return nullptr;
  }

  // One hyperparameter: a 0-d float (Number), a 0-d bool (Flag) or a float [2] (Pair); `out`
  // takes its value(s) only when it is all of that.
  void read_hyper_entry(const HyperSpec& spec, double* out) {
    const std::string key = group_ + spec.name;
    const Shape expected = spec.kind == HyperKind::Pair ? Shape{2} : Shape{};
    const bool flag = spec.kind == HyperKind::Flag;
    const Tensor* t = shaped(key, state_.find(key), expected, "expected " + shape_str(expected));
    if (t == nullptr) return;
    if (flag ? t->dtype() != kBool : !is_floating(t->dtype())) {
      problems_.push_back(detail::cat("dtype mismatch for ", key, ": checkpoint has ",
                                      dtype_name(t->dtype()), ", expected ",
                                      flag ? "bool" : "float64"));
      return;
    }
    const Tensor d = t->to(kFloat64).contiguous();
    for (int64_t j = 0; j < d.numel(); ++j)
      out[j] = d.data<double>()[j];
  }

  // Whether a param_groups.0.* key is one this optimizer saves.
  bool is_group_key(const std::string& key) const {
    if (key == params_key_) return true;
    return std::any_of(specs_.begin(), specs_.end(),
                       [&](const HyperSpec& spec) { return key == group_ + spec.name; });
  }

  // Files state.<i>.<slot> under its parameter and slot; false when it names neither.
  bool place_state_key(const std::string& key, const Tensor& t) {
    std::size_t index = 0;
    std::string name;
    if (!parse_state_key(key, n_, index, name)) return false;
    const auto slot = std::find(slots_.begin(), slots_.end(), name);
    if (slot == slots_.end()) return false;
    found_[index][static_cast<std::size_t>(slot - slots_.begin())] = &t;
    return true;
  }

  // Part state.<i>.* of one parameter that has entries: every buffer shaped like the parameter
  // in a floating dtype, and the step a whole number.
  LoadedParamState read_param_state(std::size_t i) {
    LoadedParamState out;
    out.present = true;
    const Shape& shape = opt_.params_[i].shape();
    for (std::size_t s = 0; s < slots_.size(); ++s) {
      const std::string key = detail::cat(kState, i, ".", slots_[s]);
      const bool is_step = s == num_buffers_;
      const Tensor* t = shaped(key, found_[i][s], is_step ? Shape{} : shape,
                               is_step ? std::string("expected []")
                                       : detail::cat("parameter ", i, " has ", shape_str(shape)));
      if (t == nullptr) continue;
      if (!is_floating(t->dtype())) {
        problems_.push_back(detail::cat("dtype mismatch for ", key, ": checkpoint has ",
                                        dtype_name(t->dtype()), ", expected ",
                                        is_step ? "float32" : "a floating dtype"));
      } else if (is_step) {
        read_step(key, *t, out.step);
      }
    }
    return out;
  }

  // float32 counts exactly up to 2^24, where PyTorch's step tensor stops growing too.
  void read_step(const std::string& key, const Tensor& t, float& step) {
    const double v = t.item<double>();
    if (!(v >= 0.0 && v <= 16777216.0 && v == std::floor(v))) {
      problems_.push_back(
          detail::cat("bad value for ", key, ": ", v, " (expected a whole number in [0, 2^24])"));
      return;
    }
    step = static_cast<float>(v);
  }

  const Optimizer& opt_;
  const TensorDict& state_;
  const std::size_t n_;
  const std::string group_;
  const std::string params_key_;
  const std::vector<HyperSpec> specs_;
  std::vector<std::string> problems_, missing_, unexpected_;
  bool shape_problem_ = false;
  std::vector<std::string> slots_;  // state.<i>.<slot> names: the buffers, then "step"
  std::size_t num_buffers_ = 0;
  std::vector<std::vector<const Tensor*>> found_;  // [parameter][slot], null when absent
};

void Optimizer::load_state_dict(const TensorDict& state) {
  StateLoader loader(*this, state);
  const HyperValues values = loader.read_hyper();
  loader.check_param_indices();
  loader.sort_keys(values);
  std::vector<LoadedParamState> loaded = loader.read_param_states();
  loader.throw_if_problems();
  // Everything checked: the copies must not join the autograd graph of `state`'s tensors.
  NoGradGuard no_grad;
  loader.copy_buffers(loaded);
  apply_loaded(values, std::move(loaded));
}

}  // namespace wick::nn
