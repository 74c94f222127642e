// The tutorial's MLP (section 3): build it, run X = randn(2, 20) through it and print Y.
#include <wick/wick.h>

#include <iostream>

struct MLP : wick::nn::Module {
  wick::nn::Linear hidden{20, 256}, output{256, 10};
  MLP() {
    register_module("hidden", hidden);
    register_module("output", output);
  }
  wick::Tensor forward(const wick::Tensor& x) { return output(wick::relu(hidden(x))); }
};

int main() {
  wick::manual_seed(0);
  MLP net;
  const wick::Tensor X = wick::randn({2, 20});
  const wick::Tensor Y = net.forward(X);
  std::cout << "Y =\n" << Y << '\n';
  for (const auto& [name, p] : net.named_parameters()) {
    std::cout << name << ": " << wick::shape_str(p.shape()) << '\n';
  }

  MLP clone;
  clone.load_state_dict(net.state_dict());
  std::cout << "Y == Y_clone:\n" << (clone.forward(X) == Y) << '\n';
  return 0;
}
