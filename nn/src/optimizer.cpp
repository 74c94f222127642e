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

constexpr std::string_view kWick1Group = "param_groups.0.";
constexpr std::string_view kWick1State = "state.";

std::string group_path(const std::string& name) {
  return "param_groups[0]['" + name + "']";
}

std::string state_path(const Key& index, const std::string& name) {
  return "state[" + index.repr() + "]['" + name + "']";
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items)
    out += (out.empty() ? "" : ", ") + item;
  return out;
}

bool is_number(const Value& v) {
  return v.is_int() || v.is_float();
}

// "load_state_dict: Error(s) in loading state_dict for <type>:" and one line per problem.
std::string load_error_message(const std::string& type_name,
                               const std::vector<std::string>& lines) {
  std::string msg = "load_state_dict: Error(s) in loading state_dict for " + type_name + ":";
  for (const auto& line : lines)
    msg += "\n\t" + line;
  return msg;
}

std::string type_mismatch(const std::string& checkpoint, const std::string& type_name) {
  return "optimizer type mismatch: checkpoint is for " + checkpoint + ", this optimizer is " +
         type_name;
}

// The optimizer a param group was written by, from the keys torch 1.13 gives each ("" when
// unknown): SGD alone has momentum, and AdamW lacks Adam's differentiable and fused.
std::string checkpoint_type(const Dict& group) {
  if (group.contains("momentum")) return "SGD";
  if (!group.contains("betas")) return "";
  return group.contains("differentiable") || group.contains("fused") ? "Adam" : "AdamW";
}

// wick 1.x's flat layout: a dict of tensors with param_groups.0.* keys and no param_groups.
bool is_wick1_layout(const Value& state) {
  if (!state.is_dict() || state.dict().contains("param_groups")) return false;
  bool has_group_key = false;
  for (const auto& [key, v] : state.dict()) {
    if (!key.is_string() || !v.is_tensor()) return false;
    has_group_key = has_group_key || key.str().starts_with(kWick1Group);
  }
  return has_group_key;
}

// "state.<i>.<name>" -> (i, name); i a canonical decimal.
bool parse_wick1_state_key(std::string_view key, int64_t& index, std::string& name) {
  if (!key.starts_with(kWick1State)) return false;
  key.remove_prefix(kWick1State.size());
  const auto dot = key.find('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  const std::string_view digits = key.substr(0, dot);
  if (digits.size() > 1 && digits[0] == '0') return false;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
  if (ec != std::errc() || end != digits.data() + digits.size()) return false;
  name = std::string(key.substr(dot + 1));
  return true;
}

// A wick 1.x hyperparameter tensor as the Python value torch keeps: 0-d bool, int or float,
// betas a tuple, params a list of ints. Anything else stays a tensor, which the loader refuses
// naming its path.
Value wick1_hyper(const std::string& name, const Tensor& t) {
  if (!t.defined()) return t;
  if (t.dim() == 0) {
    if (t.dtype() == kBool) return t.item<bool>();
    if (is_floating(t.dtype())) return t.item<double>();
    return t.item<int64_t>();
  }
  if (t.dim() != 1) return t;
  const Tensor c = t.contiguous();
  if (name == "betas" && t.numel() == 2 && is_floating(t.dtype())) {
    const Tensor d = c.to(kFloat64);
    return Tuple{d.data<double>()[0], d.data<double>()[1]};
  }
  if (name == "params" && t.dtype() == kInt64) {
    List out;
    for (int64_t i = 0; i < c.numel(); ++i)
      out.emplace_back(c.data<int64_t>()[i]);
    return out;
  }
  return t;
}

// The hyperparameters wick 1.x did not save, with PyTorch's defaults.
const Value* wick1_default(const std::string& name) {
  static const Value kFalse = false;
  static const Value kNone;
  if (name == "maximize" || name == "capturable" || name == "differentiable" || name == "fused")
    return &kFalse;
  return name == "foreach" ? &kNone : nullptr;
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
  has_state_.assign(params_.size(), false);
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

void Optimizer::note_state(std::size_t i) {
  if (has_state_[i]) return;
  has_state_[i] = true;
  state_order_.push_back(i);
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

void Optimizer::check_options(const HyperValues& values) const {
  std::vector<std::string> problems;
  check_hyper(values, problems);
  if (problems.empty()) return;
  std::string msg = type_name_ + ": ";
  for (std::size_t i = 0; i < problems.size(); ++i)
    msg += (i == 0 ? "" : "; ") + problems[i];
  throw ArgumentError(msg);
}

Dict Optimizer::param_group() const {
  Dict group;
  const HyperValues values = hyper_values();
  std::size_t k = 0;
  for (const HyperSpec& spec : hyper_specs()) {
    switch (spec.kind) {
      case HyperKind::Float:
        group.insert(spec.name, values[k++]);
        break;
      case HyperKind::Number:
        // PyTorch's defaults for these are the int 0, and torch keeps the type it was given.
        if (values[k] == 0.0) {
          group.insert(spec.name, 0);
        } else {
          group.insert(spec.name, values[k]);
        }
        ++k;
        break;
      case HyperKind::Flag:
        group.insert(spec.name, values[k++] != 0.0);
        break;
      case HyperKind::Pair:
        group.insert(spec.name, Tuple{values[k], values[k + 1]});
        k += 2;
        break;
      case HyperKind::Foreach:
        group.insert(spec.name, foreach_ ? Value(*foreach_) : Value());
        break;
      case HyperKind::Off:
        group.insert(spec.name, false);
        break;
    }
  }
  List indices;
  for (std::size_t i = 0; i < params_.size(); ++i)
    indices.emplace_back(i);
  group.insert("params", std::move(indices));
  return group;
}

Value Optimizer::state_dict() const {
  Dict state;
  for (const std::size_t i : state_order_)
    state.insert(Key(static_cast<int64_t>(i)), param_state(i));
  return Dict{{"state", std::move(state)}, {"param_groups", List{param_group()}}};
}

// load_state_dict() split along the parts of the layout in optimizer.h. Each part records what
// it finds wrong and goes on, so that one error lists every problem; nothing reaches the
// optimizer until every part has passed.
class Optimizer::StateLoader {
 public:
  StateLoader(const Optimizer& opt, const Value& state)
      : opt_(opt), state_(state), n_(opt.params_.size()), specs_(opt.hyper_specs()) {}

  // The top level: a dict of exactly 'state' and 'param_groups', the latter a list of one
  // dict. Returns that dict, or null (and records why).
  const Dict* find_group() {
    if (!state_.is_dict()) {
      problems_.push_back(detail::cat("expected a dict of 'state' and 'param_groups', got ",
                                      kind_name(state_.kind())));
      return nullptr;
    }
    for (const auto& [key, v] : state_.dict()) {
      if (key != Key("state") && key != Key("param_groups")) unexpected_.push_back(key.repr());
    }
    const Value* groups = member(state_.dict(), "param_groups", "param_groups");
    if (groups == nullptr || !groups->is_list()) {
      if (groups != nullptr) wrong_type("param_groups", *groups, "list");
      return nullptr;
    }
    if (groups->size() != 1) {
      problems_.push_back(
          detail::cat("param_groups: wick optimizers take one parameter group, "
                      "the checkpoint has ",
                      groups->size()));
      return nullptr;
    }
    const Value& group = (*groups)[0];
    if (!group.is_dict()) {
      wrong_type("param_groups[0]", group, "dict");
      return nullptr;
    }
    return &group.dict();
  }

  // param_groups[0]: every hyperparameter, then the combination of the values. A missing or
  // bad one keeps the current value, so that check_hyper() and state_slots() still see a
  // consistent set.
  HyperValues read_hyper(const Dict& group, std::optional<bool>& foreach) {
    HyperValues values = opt_.hyper_values();
    std::size_t k = 0;
    for (const HyperSpec& spec : specs_) {
      if (const Value* v = member(group, spec.name, group_path(spec.name)))
        read_hyper_entry(spec, *v, values.data() + k, foreach);
      k += spec.kind == HyperKind::Pair ? 2 : (takes_slot(spec.kind) ? 1 : 0);
    }
    // Items, not structured bindings: clang 14 refuses lambdas that capture bindings.
    for (const auto& item : group) {
      const Key& key = item.first;
      const bool known = key == Key("params") ||
                         std::any_of(specs_.begin(), specs_.end(),
                                     [&](const HyperSpec& spec) { return key == Key(spec.name); });
      if (!known) unexpected_.push_back("param_groups[0][" + key.repr() + "]");
    }
    opt_.check_hyper(values, problems_);
    other_type_ = checkpoint_type(group);
    return values;
  }

  // param_groups[0]['params']: the ints 0 to n-1, so that state[i] names the same parameter
  // in the checkpoint and in this optimizer.
  void check_param_indices(const Dict& group) {
    const std::string path = group_path("params");
    const Value* v = member(group, "params", path);
    if (v == nullptr) return;
    if (!v->is_list()) return wrong_type(path, *v, "list");
    if (v->size() != n_) {
      shape_problem_ = true;
      problems_.push_back(detail::cat("size mismatch for ", path, ": checkpoint has ", v->size(),
                                      " parameters, optimizer has ", n_));
      return;
    }
    for (std::size_t i = 0; i < n_; ++i) {
      const Value& item = (*v)[i];
      if (!item.is_int() || item.as_int() != static_cast<int64_t>(i)) {
        problems_.push_back(
            detail::cat("bad value for ", path, ": expected the ints 0 to ", n_ - 1, " in order"));
        return;
      }
    }
  }

  // 'state': a dict from parameter index to that parameter's entries; per parameter none
  // (never updated) or every slot the loaded hyperparameters use.
  std::vector<LoadedParamState> read_state(const HyperValues& values) {
    slots_ = opt_.state_slots(values);
    found_.assign(n_, std::vector<const Tensor*>(slots_.size()));
    std::vector<LoadedParamState> loaded(n_);
    if (!state_.is_dict()) return loaded;
    const Value* state = member(state_.dict(), "state", "state");
    if (state == nullptr) return loaded;
    if (!state->is_dict()) {
      wrong_type("state", *state, "dict");
      return loaded;
    }
    for (const auto& [key, entry] : state->dict()) {
      const int64_t* index = key.if_int();
      if (index == nullptr || *index < 0 || static_cast<std::size_t>(*index) >= n_) {
        unexpected_.push_back("state[" + key.repr() + "]");
        continue;
      }
      const auto i = static_cast<std::size_t>(*index);
      order_.push_back(i);
      loaded[i] = read_param_state(key, i, entry);
    }
    return loaded;
  }

  // The cross-checks and the one error: a checkpoint of another optimizer type first (it
  // explains the rest), then missing and unexpected keys, then every part's problems.
  void throw_if_problems() const {
    std::vector<std::string> lines;
    if (!other_type_.empty() && other_type_ != opt_.type_name_)
      lines.push_back(type_mismatch(other_type_, opt_.type_name_));
    if (!missing_.empty()) lines.push_back("Missing key(s) in state_dict: " + join(missing_) + ".");
    if (!unexpected_.empty())
      lines.push_back("Unexpected key(s) in state_dict: " + join(unexpected_) + ".");
    lines.insert(lines.end(), problems_.begin(), problems_.end());
    if (lines.empty()) return;
    const std::string msg = load_error_message(opt_.type_name_, lines);
    if (shape_problem_) throw ShapeError(msg);
    throw ArgumentError(msg);
  }

  // Copies the checked buffers into fresh tensors of the parameters' dtypes, so that the
  // optimizer never aliases `state`; None stays an undefined tensor.
  void copy_buffers(std::vector<LoadedParamState>& loaded) const {
    for (std::size_t i = 0; i < n_; ++i) {
      if (!loaded[i].present) continue;
      const Tensor& p = opt_.params_[i];
      for (std::size_t s = 0; s < slots_.size(); ++s) {
        if (slots_[s].kind == SlotKind::Step) continue;
        Tensor b;
        if (found_[i][s] != nullptr) {
          b = empty(p.shape(), p.dtype());
          b.copy_(*found_[i][s]);
        }
        loaded[i].buffers.push_back(std::move(b));
      }
    }
  }

  // The parameters with state, in the checkpoint's order.
  const std::vector<std::size_t>& order() const noexcept { return order_; }

 private:
  static bool takes_slot(HyperKind kind) {
    return kind != HyperKind::Foreach && kind != HyperKind::Off;
  }

  // dict[name], or null after recording `path` as missing.
  const Value* member(const Dict& dict, const std::string& name, const std::string& path) {
    const Value* v = dict.find(Key(name));
    if (v == nullptr) missing_.push_back(path);
    return v;
  }

  void wrong_type(const std::string& path, const Value& v, const char* expected) {
    problems_.push_back(detail::cat("type mismatch for ", path, ": checkpoint has ",
                                    kind_name(v.kind()), ", expected ", expected));
  }

  // One hyperparameter of `spec`'s kind; `out` takes its value(s) only when it is all of that.
  void read_hyper_entry(const HyperSpec& spec, const Value& v, double* out,
                        std::optional<bool>& foreach) {
    const std::string path = group_path(spec.name);
    switch (spec.kind) {
      case HyperKind::Float:
      case HyperKind::Number:
        if (!is_number(v)) return wrong_type(path, v, "float");
        out[0] = v.as_float();
        return;
      case HyperKind::Flag:
        if (!v.is_bool()) return wrong_type(path, v, "bool");
        out[0] = v.as_bool() ? 1.0 : 0.0;
        return;
      case HyperKind::Pair:
        // A list too: files written before tuples existed kept betas as one.
        if (!(v.is_tuple() || v.is_list()) || v.size() != 2 || !is_number(v[0]) ||
            !is_number(v[1])) {
          return wrong_type(path, v, "a tuple of two floats");
        }
        out[0] = v[0].as_float();
        out[1] = v[1].as_float();
        return;
      case HyperKind::Foreach:
        if (!v.is_none() && !v.is_bool()) return wrong_type(path, v, "None or bool");
        foreach
          = v.is_none() ? std::nullopt : std::optional<bool>(v.as_bool());
        return;
      case HyperKind::Off:
        if (!v.is_bool()) return wrong_type(path, v, "bool");
        if (v.as_bool()) {
          problems_.push_back(path + " is True: wick's " + opt_.type_name_ +
                              " has only the plain CPU implementation");
        }
        return;
    }
  }

  // state[i] of one parameter: a dict of exactly its slots.
  LoadedParamState read_param_state(const Key& key, std::size_t i, const Value& entry) {
    LoadedParamState out;
    if (!entry.is_dict()) {
      wrong_type("state[" + key.repr() + "]", entry, "dict");
      return out;
    }
    out.present = true;
    for (std::size_t s = 0; s < slots_.size(); ++s) {
      const std::string path = state_path(key, slots_[s].name);
      const Value* v = member(entry.dict(), slots_[s].name, path);
      if (v == nullptr) continue;
      if (slots_[s].kind == SlotKind::Step) {
        read_step(path, *v, out.step);
      } else {
        found_[i][s] = read_buffer(path, *v, i, slots_[s].kind == SlotKind::OptionalBuffer);
      }
    }
    for (const auto& item : entry.dict()) {
      const Key& name = item.first;
      const bool known = std::any_of(slots_.begin(), slots_.end(),
                                     [&](const SlotSpec& slot) { return name == Key(slot.name); });
      if (!known) unexpected_.push_back("state[" + key.repr() + "][" + name.repr() + "]");
    }
    return out;
  }

  // A buffer: a defined floating tensor shaped like parameter i (or None when `optional`).
  // Returns it, or null for None and for a recorded problem.
  const Tensor* read_buffer(const std::string& path, const Value& v, std::size_t i, bool optional) {
    if (optional && v.is_none()) return nullptr;
    if (!v.is_tensor()) {
      wrong_type(path, v, optional ? "tensor or None" : "tensor");
      return nullptr;
    }
    const Tensor& t = v.tensor();
    const Shape& shape = opt_.params_[i].shape();
    if (!t.defined()) {
      problems_.push_back("value for " + path + " is an undefined tensor");
    } else if (t.shape() != shape) {
      shape_problem_ = true;
      problems_.push_back(detail::cat("size mismatch for ", path, ": checkpoint has ",
                                      shape_str(t.shape()), ", parameter ", i, " has ",
                                      shape_str(shape)));
    } else if (!is_floating(t.dtype())) {
      problems_.push_back(detail::cat("dtype mismatch for ", path, ": checkpoint has ",
                                      dtype_name(t.dtype()), ", expected a floating dtype"));
    } else {
      return &t;
    }
    return nullptr;
  }

  // The step: PyTorch 1.13 keeps a 0-d float32 tensor (earlier versions a number). float32
  // counts exactly up to 2^24, where PyTorch's step tensor stops growing too.
  void read_step(const std::string& path, const Value& v, float& step) {
    double count = 0.0;
    if (is_number(v)) {
      count = v.as_float();
    } else if (!v.is_tensor() || !v.tensor().defined()) {
      return wrong_type(path, v, "a 0-d float32 tensor");
    } else if (v.tensor().dim() != 0) {
      shape_problem_ = true;
      return problems_.push_back(detail::cat("size mismatch for ", path, ": checkpoint has ",
                                             shape_str(v.tensor().shape()), ", expected []"));
    } else if (!is_floating(v.tensor().dtype())) {
      return problems_.push_back(detail::cat("dtype mismatch for ", path, ": checkpoint has ",
                                             dtype_name(v.tensor().dtype()), ", expected float32"));
    } else {
      count = v.tensor().item<double>();
    }
    if (!(count >= 0.0 && count <= 16777216.0 && count == std::floor(count))) {
      return problems_.push_back(detail::cat("bad value for ", path, ": ", count,
                                             " (expected a whole number in [0, 2^24])"));
    }
    step = static_cast<float>(count);
  }

  const Optimizer& opt_;
  const Value& state_;
  const std::size_t n_;
  const std::vector<HyperSpec> specs_;
  std::vector<std::string> problems_, missing_, unexpected_;
  bool shape_problem_ = false;
  std::string other_type_;  // the optimizer the param group was written by, "" when unknown
  std::vector<SlotSpec> slots_;
  std::vector<std::vector<const Tensor*>> found_;  // [parameter][slot], null when absent/None
  std::vector<std::size_t> order_;
};

void Optimizer::load_state_dict(const Value& state) {
  if (is_wick1_layout(state)) return load_state_dict(state.to_tensor_dict());
  StateLoader loader(*this, state);
  HyperValues values = hyper_values();
  std::optional<bool> foreach = foreach_;
  if (const Dict* group = loader.find_group()) {
    values = loader.read_hyper(*group, foreach);
    loader.check_param_indices(*group);
  }
  std::vector<LoadedParamState> loaded = loader.read_state(values);
  loader.throw_if_problems();
  // Everything checked: the copies must not join the autograd graph of `state`'s tensors.
  NoGradGuard no_grad;
  loader.copy_buffers(loaded);
  foreach_ = foreach;
  state_order_ = loader.order();
  has_state_.assign(params_.size(), false);
  for (const std::size_t i : state_order_)
    has_state_[i] = true;
  apply_loaded(values, std::move(loaded));
}

void Optimizer::load_state_dict(const TensorDict& state) {
  Dict group, entries, top;
  for (const auto& [key, t] : state) {
    int64_t index = 0;
    std::string name;
    if (key.starts_with(kWick1Group)) {
      name = key.substr(kWick1Group.size());
      if (name == "decoupled_weight_decay") {
        // The only key that told 1.x's Adam and AdamW apart.
        const bool adamw = t.defined() && t.numel() == 1 && t.dtype() == kBool && t.item<bool>();
        const std::string other = adamw ? "AdamW" : "Adam";
        WICK_CHECK(other == type_name_, ArgumentError,
                   load_error_message(type_name_, {type_mismatch(other, type_name_)}));
        continue;
      }
      group.insert(name, wick1_hyper(name, t));
    } else if (parse_wick1_state_key(key, index, name)) {
      if (!entries.contains(Key(index))) entries.insert(Key(index), Dict{});
      entries.at(Key(index)).dict().insert_or_assign(name, t);
    } else {
      top.insert(key, t);  // refused as an unexpected key
    }
  }
  for (const HyperSpec& spec : hyper_specs()) {
    const Value* fill = wick1_default(spec.name);
    if (fill != nullptr && !group.contains(spec.name)) group.insert(spec.name, *fill);
  }
  top.insert("state", std::move(entries));
  top.insert("param_groups", List{std::move(group)});
  load_state_dict(Value(std::move(top)));
}

}  // namespace wick::nn
