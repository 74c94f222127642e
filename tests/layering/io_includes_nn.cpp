// Compiled with io's include path (tests/CMakeLists.txt, test Layering.IoCannotIncludeNn): io
// must not see nn's headers, so this include must fail to compile.
#include "wick/nn/linear.h"

int io_includes_nn_probe() {
  return 0;
}
