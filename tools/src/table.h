#pragma once
// Text formatting shared by the subcommands: byte counts, checksums, aligned tables.

#include <cstdint>
#include <functional>
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

/// Receives one row of a table.
using RowSink = std::function<void(const std::vector<std::string>& row)>;
/// Produces the rows of a table by calling its argument once per row.
using RowSource = std::function<void(const RowSink& sink)>;

/// Prints a table whose rows `rows` produces, columns padded to their widest cell, `right[i]`
/// aligning column i to the right, each line starting with `indent`. `rows` runs twice (to
/// measure the columns, then to print), so a table of any length holds one row at a time; it
/// must produce the same rows both times.
void print_table(std::ostream& out, const std::vector<std::string>& header,
                 const std::vector<bool>& right, const std::string& indent, const RowSource& rows);

/// A table printed with columns padded to their widest cell; numeric columns align right.
/// Holds its rows: for short tables (print_table streams long ones).
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
