// The tutorial's section 2: save and load a tensor list and a dict of tensors.
#include <wick/wick.h>

#include <filesystem>
#include <iostream>

int main() {
  const auto dir = std::filesystem::temp_directory_path();
  // 1. Create some tensors (simulating data or weights)
  const wick::Tensor x = wick::arange(4);
  const wick::Tensor y = wick::zeros({4});

  // 2. Save them to a file named 'x-file'
  wick::save({x, y}, dir / "x-file");

  // 3. Load them back
  const wick::Value xs = wick::load(dir / "x-file");
  std::cout << xs[0].tensor() << '\n';
  std::cout << xs[1].tensor() << '\n';

  // Dictionary Example
  wick::save(wick::Dict{{"x", x}, {"y", y}}, dir / "mydict");
  std::cout << wick::load(dir / "mydict") << '\n';

  std::filesystem::remove(dir / "x-file");
  std::filesystem::remove(dir / "mydict");
  return 0;
}
