#pragma once
/// \file
/// TensorDict: what Module::state_dict() returns and what wick::save writes for one.

#include "wick/core/ordered_dict.h"
#include "wick/core/tensor.h"

namespace wick {

/// Insertion-ordered name -> Tensor map (PyTorch's OrderedDict state dict).
using TensorDict = OrderedDict<Tensor>;

}  // namespace wick
