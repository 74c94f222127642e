#pragma once
/// \file
/// Printing tensors exactly as PyTorch prints them ("tensor([0, 1, 2, 3])").

#include <iosfwd>
#include <string>

#include "wick/core/tensor.h"

namespace wick {

/// The knobs of torch.set_printoptions, with PyTorch's defaults.
struct PrintOptions {
  int precision = 4;          ///< digits after the point for floats
  int64_t threshold = 1000;   ///< summarise (with "...") above this many elements
  int64_t edgeitems = 3;      ///< items kept at each end of a summarised dimension
  int64_t linewidth = 80;     ///< characters per line before wrapping
  bool sci_mode_auto = true;  ///< choose scientific notation as PyTorch does
  bool sci_mode = false;      ///< forced scientific notation when sci_mode_auto is false
};

/// The process-wide options used by operator<<.
PrintOptions& print_options() noexcept;

/// PyTorch's repr of `t` with the given options, "torch." replaced by "wick.".
std::string to_string(const Tensor& t, const PrintOptions& options = print_options());

/// Streams to_string(t).
std::ostream& operator<<(std::ostream& out, const Tensor& t);

}  // namespace wick
