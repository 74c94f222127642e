// The control for io_includes_nn.cpp: compiled the same way, a core header is found, so that
// test fails for the reason it names and not because the probe cannot build at all.
#include "wick/core/tensor.h"

int io_includes_core_probe() {
  return 0;
}
