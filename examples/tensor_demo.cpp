// A tour of wick's tensor core: creation, printing, views, broadcasting, reductions, matmul.
#include <wick/wick.h>

#include <iostream>

int main() {
  using namespace wick;
  const Tensor x = arange(4);
  const Tensor y = zeros({4});
  std::cout << "x = " << x << "\ny = " << y << '\n';

  const Tensor m = arange(0, 6, 1, kFloat32).view({2, 3});
  std::cout << "m =\n" << m << "\nm.t() =\n" << m.t() << '\n';
  std::cout << "m + [10, 20, 30] =\n" << m + tensor({10, 20, 30}) << '\n';
  std::cout << "m > 2 =\n" << (m > 2) << '\n';
  std::cout << "sum(m, 1) = " << sum(m, 1) << ", argmax(m) = " << argmax(m) << '\n';
  std::cout << "m @ m.t() =\n" << matmul(m, m.t()) << '\n';
  std::cout << "m as float16 =\n" << m.to(kFloat16) << '\n';

  Generator gen(42);
  std::cout << "randn(2, 3) =\n" << randn({2, 3}, gen) << '\n';
  std::cout << "SIMD path: " << simd::level_name(simd::active_level()) << '\n';
  return 0;
}
