#include "wick/nn/sequential.h"

#include <string>

#include "wick/core/error.h"

namespace wick::nn {

Sequential::Sequential(std::initializer_list<std::shared_ptr<UnaryModule>> modules) {
  for (const auto& m : modules)
    push_back(m);
}

void Sequential::push_back(std::shared_ptr<UnaryModule> module) {
  WICK_CHECK(module != nullptr, ArgumentError, "Sequential::push_back: module ", layers_.size(),
             " is null");
  UnaryModule* raw = module.get();
  register_module(std::to_string(layers_.size()), std::move(module));
  layers_.push_back(raw);
}

Tensor Sequential::forward(const Tensor& input) {
  Tensor x = input;
  for (UnaryModule* m : layers_)
    x = m->forward(x);
  return x;
}

UnaryModule& Sequential::operator[](std::size_t i) const {
  WICK_CHECK(i < layers_.size(), ArgumentError, "Sequential: index ", i, " is out of range for ",
             layers_.size(), " modules");
  return *layers_[i];
}

}  // namespace wick::nn
