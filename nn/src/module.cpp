#include "wick/nn/module.h"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

#include "wick/core/autograd.h"
#include "wick/core/error.h"

namespace wick::nn {

namespace {
std::string join_quoted(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& k : keys)
    out += (out.empty() ? "\"" : ", \"") + k + "\"";
  return out;
}

bool contains_same(const std::vector<std::pair<std::string, Tensor>>& seen, const Tensor& t) {
  for (const auto& [n, s] : seen) {
    if (s.is_same(t)) return true;
  }
  return false;
}
}  // namespace

void Module::check_new_name(const std::string& name, const char* op) const {
  WICK_CHECK(!name.empty(), ArgumentError, op, ": name must not be empty (in ", type_name(), ")");
  WICK_CHECK(name.find('.') == std::string::npos, ArgumentError, op, ": name '", name,
             "' must not contain '.' (in ", type_name(), ")");
  auto taken = [&](const auto& list) {
    for (const auto& entry : list) {
      if (entry.first == name) return true;
    }
    return false;
  };
  bool child_taken = false;
  for (const auto& c : children_)
    child_taken = child_taken || c.name == name;
  WICK_CHECK(!taken(parameters_) && !taken(buffers_) && !child_taken, ArgumentError, op, ": name '",
             name, "' is already registered in ", type_name());
}

Tensor& Module::register_parameter(std::string name, Tensor value, bool requires_grad) {
  check_new_name(name, "register_parameter");
  WICK_CHECK(value.defined(), ArgumentError, "register_parameter: tensor for '", name,
             "' is undefined (in ", type_name(), ")");
  for (const auto& [n, t] : parameters_) {
    if (t.is_same(value)) value = t;  // tied: one autograd state for both names
  }
  if (is_floating(value.dtype()) && value.is_leaf()) value.set_requires_grad(requires_grad);
  parameters_.emplace_back(std::move(name), std::move(value));
  return parameters_.back().second;
}

Tensor& Module::register_buffer(std::string name, Tensor value) {
  check_new_name(name, "register_buffer");
  WICK_CHECK(value.defined(), ArgumentError, "register_buffer: tensor for '", name,
             "' is undefined (in ", type_name(), ")");
  buffers_.emplace_back(std::move(name), std::move(value));
  return buffers_.back().second;
}

void Module::add_child(std::string name, Module* child, std::shared_ptr<Module> owned) {
  check_new_name(name, "register_module");
  WICK_CHECK(child != nullptr, ArgumentError, "register_module: module for '", name,
             "' is null (in ", type_name(), ")");
  WICK_CHECK(child != this, ArgumentError, "register_module: '", name, "' would make ", type_name(),
             " its own child");
  children_.push_back(Child{std::move(name), child, std::move(owned)});
}

void Module::collect(const std::string& prefix, bool buffers,
                     std::vector<std::pair<std::string, Tensor>>& out) const {
  for (const auto& [name, t] : buffers ? buffers_ : parameters_)
    out.emplace_back(prefix + name, t);
  for (const auto& c : children_)
    c.module->collect(prefix + c.name + ".", buffers, out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> all;
  collect("", false, all);
  std::vector<std::pair<std::string, Tensor>> unique;
  for (auto& entry : all) {
    if (!contains_same(unique, entry.second)) unique.push_back(std::move(entry));
  }
  return unique;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters())
    out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect("", true, out);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out{{"", this}};
  for (const auto& c : children_) {
    for (auto& [name, m] : c.module->named_modules()) {
      out.emplace_back(name.empty() ? c.name : c.name + "." + name, m);
    }
  }
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_children() const {
  std::vector<std::pair<std::string, Module*>> out;
  for (const auto& c : children_)
    out.emplace_back(c.name, c.module);
  return out;
}

TensorDict Module::state_dict() const {
  // PyTorch's order: each module's parameters, then its buffers, then its children.
  struct Walker {
    static void walk(const Module& m, const std::string& prefix, TensorDict& out) {
      for (const auto& [n, t] : m.parameters_)
        out.insert(prefix + n, t);
      for (const auto& [n, t] : m.buffers_)
        out.insert(prefix + n, t);
      for (const auto& c : m.children_)
        walk(*c.module, prefix + c.name + ".", out);
    }
  };
  TensorDict out;
  Walker::walk(*this, "", out);
  return out;
}

LoadResult Module::load_state_dict(const TensorDict& state, bool strict) {
  const TensorDict mine = state_dict();
  LoadResult result;
  std::vector<std::string> problems;
  bool shape_problem = false;
  for (const auto& [key, target] : mine) {
    const Tensor* src = state.find(key);
    if (src == nullptr) {
      result.missing_keys.push_back(key);
      continue;
    }
    if (!src->defined()) {
      problems.push_back(detail::cat("value for ", key, " is an undefined tensor"));
    } else if (src->shape() != target.shape()) {
      shape_problem = true;
      problems.push_back(detail::cat("size mismatch for ", key, ": checkpoint has ",
                                     shape_str(src->shape()), ", model has ",
                                     shape_str(target.shape())));
    }
  }
  for (const auto& [key, t] : state) {
    if (!mine.contains(key)) result.unexpected_keys.push_back(key);
  }
  if (strict) {
    std::vector<std::string> key_problems;
    if (!result.missing_keys.empty()) {
      key_problems.push_back("Missing key(s) in state_dict: " + join_quoted(result.missing_keys) +
                             ".");
    }
    if (!result.unexpected_keys.empty()) {
      key_problems.push_back(
          "Unexpected key(s) in state_dict: " + join_quoted(result.unexpected_keys) + ".");
    }
    problems.insert(problems.begin(), key_problems.begin(), key_problems.end());
  }
  if (!problems.empty()) {
    std::string msg = "load_state_dict: Error(s) in loading state_dict for " + type_name() + ":";
    for (const auto& p : problems)
      msg += "\n\t" + p;
    if (shape_problem) throw ShapeError(msg);
    throw ArgumentError(msg);
  }
  // Everything checked: from here on nothing can fail except memory allocation. Parameters
  // require grad, and writing into them is not an operation to differentiate.
  NoGradGuard no_grad;
  for (const auto& [key, target] : mine) {
    if (const Tensor* src = state.find(key)) {
      Tensor dst = target;
      dst.copy_(*src);
    }
  }
  return result;
}

void Module::zero_grad() {
  for (Tensor& p : parameters())
    p.set_grad(Tensor());
}

void Module::train(bool on) {
  training_ = on;
  for (const auto& c : children_)
    c.module->train(on);
}

std::string Module::type_name() const {
  const char* mangled = typeid(*this).name();
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> demangled(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  return status == 0 && demangled ? std::string(demangled.get()) : std::string(mangled);
}

}  // namespace wick::nn
