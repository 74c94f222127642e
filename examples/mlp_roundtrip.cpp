// The tutorial's sections 3 and 4: save an MLP's state_dict, load it into a fresh clone, check
// the outputs are bit-identical, and show the error a mismatched architecture gets.
#include <wick/wick.h>

#include <filesystem>
#include <iostream>

// 1. Define a simple MLP (the hidden width is a parameter only to show the mismatch below).
struct MLP : wick::nn::Module {
  wick::nn::Linear hidden, output;
  explicit MLP(int64_t width = 256) : hidden(20, width), output(width, 10) {
    register_module("hidden", hidden);
    register_module("output", output);
  }
  wick::Tensor forward(const wick::Tensor& x) { return output(wick::relu(hidden(x))); }
};

int main() {
  const auto path = std::filesystem::temp_directory_path() / "mlp.params";
  MLP net;
  const wick::Tensor X = wick::randn({2, 20});
  const wick::Tensor Y = net.forward(X);

  // 2. Save the parameters (state dict): only the weights, not the class definition.
  wick::save(net.state_dict(), path);
  std::cout << "saved " << net.state_dict().size() << " tensors to " << path.filename() << " ("
            << std::filesystem::file_size(path) << " bytes)\n";
  for (const auto& e : wick::io::Reader(path).entries()) {
    std::cout << "  " << e.path << ": " << wick::dtype_name(e.dtype) << ' '
              << wick::shape_str(e.shape) << '\n';
  }

  // 3. Load the parameters into a fresh instance of the model.
  MLP clone;
  clone.load_state_dict(wick::load(path));

  // 4. Verify: both networks produce the exact same output.
  const wick::Tensor Y_clone = clone.forward(X);
  std::cout << "Y == Y_clone:\n" << (Y == Y_clone) << '\n';
  const bool identical = wick::bitwise_equal(Y, Y_clone);
  std::cout << "bit-identical: " << (identical ? "yes" : "NO") << '\n';

  // Architecture match: a model with another hidden size cannot take these weights.
  MLP narrow(128);
  try {
    narrow.load_state_dict(wick::load(path));
    std::cout << "error: the mismatched load was accepted\n";
    return 1;
  } catch (const wick::Error& e) {
    std::cout << "loading into MLP(128) fails as it should:\n" << e.what() << '\n';
  }
  std::filesystem::remove(path);
  return identical ? 0 : 1;
}
