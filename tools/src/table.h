#pragma once
// Text formatting shared by the subcommands: byte counts, checksums, aligned tables.

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "wick/core/dtype.h"
#include "wick/core/shape.h"

namespace wick::cli {

/// "512 B", "1.5 KiB", "3.2 MiB", ... (binary units, one decimal).
std::string human_bytes(uint64_t n);

/// "0x" and 16 lower-case hex digits.
std::string hex64(uint64_t v);

/// "float32 [2, 3]".
std::string describe(DType dtype, const Shape& shape);

/// A table printed with columns padded to their widest cell; numeric columns align right.
class Table {
 public:
  /// `right[i]` aligns column i to the right.
  Table(std::vector<std::string> header, std::vector<bool> right);
  void add(std::vector<std::string> row);
  /// Prints the header and the rows, each line starting with `indent`.
  void print(std::ostream& out, const std::string& indent = "") const;

 private:
  std::vector<std::string> header_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace wick::cli
