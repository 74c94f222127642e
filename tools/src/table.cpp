#include "table.h"

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdio>
#include <ostream>

namespace wick::cli {

std::string human_bytes(uint64_t n) {
  static constexpr std::array<const char*, 6> kUnits = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (n < 1024) return std::to_string(n) + " B";
  double v = static_cast<double>(n) / 1024.0;
  std::size_t unit = 0;
  while (v >= 1023.95 && unit + 1 < kUnits.size()) {
    v /= 1024.0;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[unit]);
  return buf;
}

std::string hex64(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016" PRIx64, v);
  return buf;
}

std::string describe(DType dtype, const Shape& shape) {
  return std::string(dtype_name(dtype)) + " " + shape_str(shape);
}

namespace {
std::vector<std::size_t> widths_of(const std::vector<std::string>& header) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c)
    width[c] = header[c].size();
  return width;
}

void widen(std::vector<std::size_t>& width, const std::vector<std::string>& row) {
  for (std::size_t c = 0; c < width.size() && c < row.size(); ++c)
    width[c] = std::max(width[c], row[c].size());
}

void print_line(std::ostream& out, const std::string& indent, const std::vector<std::size_t>& width,
                const std::vector<bool>& right, const std::vector<std::string>& cells) {
  std::string s = indent;
  for (std::size_t c = 0; c < width.size(); ++c) {
    const std::string empty;
    const std::string& cell = c < cells.size() ? cells[c] : empty;
    const std::string pad(width[c] - std::min(width[c], cell.size()), ' ');
    if (c > 0) s += "  ";
    s += c < right.size() && right[c] ? pad + cell : cell + pad;
  }
  s.erase(s.find_last_not_of(' ') + 1);
  out << s << '\n';
}
}  // namespace

void print_table(std::ostream& out, const std::vector<std::string>& header,
                 const std::vector<bool>& right, const std::string& indent, const RowSource& rows) {
  std::vector<std::size_t> width = widths_of(header);
  rows([&](const std::vector<std::string>& row) { widen(width, row); });
  print_line(out, indent, width, right, header);
  rows([&](const std::vector<std::string>& row) { print_line(out, indent, width, right, row); });
}

Table::Table(std::vector<std::string> header, std::vector<bool> right)
    : header_(std::move(header)), right_(std::move(right)) {
  right_.resize(header_.size(), false);
}

void Table::add(std::vector<std::string> row) {
  row.resize(header_.size());
  rows_.push_back(std::move(row));
}

void Table::print(std::ostream& out, const std::string& indent) const {
  print_table(out, header_, right_, indent, [&](const RowSink& sink) {
    for (const auto& row : rows_)
      sink(row);
  });
}

}  // namespace wick::cli
