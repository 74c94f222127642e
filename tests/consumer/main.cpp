// Exercises the installed library through the umbrella header; exits non-zero on a wrong result.
#include <wick/wick.h>

#include <iostream>

int main() {
  const wick::Tensor x = wick::arange(4);
  const wick::Tensor y = wick::ones({4}, wick::kInt64);
  const wick::Tensor z = x + y;
  std::cout << z << '\n';
  const bool ok = wick::equal(z, wick::tensor({1, 2, 3, 4}));
  std::cout << (ok ? "consumer: ok" : "consumer: WRONG RESULT") << '\n';
  return ok ? 0 : 1;
}
