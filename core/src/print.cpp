// A port of PyTorch 1.13's torch/_tensor_str.py (strided, real dtypes only). The function and
// variable names follow the Python so the two can be read side by side; quirks of the Python
// (which values set the column width, how the suffix line length is counted) are kept on purpose
// because the goal is byte-identical output.

#include "wick/core/print.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "wick/core/error.h"

namespace wick {
namespace {

// Python's '{:.{p}f}' / '{:.{p}e}'. printf rounds the exact binary value like Python does; only
// the spelling of non-finite values differs (printf writes "-nan", Python never signs a NaN).
std::string py_format(double v, int precision, char conversion) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  const char fmt[] = {'%', '.', '*', conversion, '\0'};
  const int n = std::snprintf(nullptr, 0, fmt, precision, v);
  std::string out(static_cast<std::size_t>(n), '\0');
  std::snprintf(out.data(), out.size() + 1, fmt, precision, v);
  return out;
}

std::string pad_left(std::string s, int64_t width) {
  const auto len = static_cast<int64_t>(s.size());
  if (len < width) s.insert(0, static_cast<std::size_t>(width - len), ' ');
  return s;
}

// Reads elements of a strided tensor widened the way tolist() widens them (float16 and bfloat16
// through float, as _tensor_str converts them with .float() first).
class Reader {
 public:
  explicit Reader(const Tensor& t)
      : base_(static_cast<const std::byte*>(t.raw_data())), dtype_(t.dtype()) {}

  double as_double(int64_t offset) const {
    return visit_dtype(dtype_, [&](auto tag) {
      using T = typename decltype(tag)::type;
      return static_cast<double>(load<T>(offset));
    });
  }
  int64_t as_int(int64_t offset) const {
    return visit_dtype(dtype_, [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (std::is_integral_v<T>) {
        return static_cast<int64_t>(load<T>(offset));
      } else {
        return int64_t{0};  // never asked for floating dtypes
      }
    });
  }

 private:
  template <class T>
  T load(int64_t offset) const {
    T v;
    std::memcpy(&v, base_ + offset * static_cast<int64_t>(sizeof(T)), sizeof(T));
    return v;
  }

  const std::byte* base_;
  DType dtype_;
};

// torch._tensor_str._Formatter: decides the notation and column width from the elements shown.
class Formatter {
 public:
  Formatter(const Reader& reader, DType dtype, const std::vector<int64_t>& offsets,
            const PrintOptions& options)
      : reader_(reader), dtype_(dtype), precision_(options.precision) {
    if (!is_floating(dtype)) {
      for (const int64_t off : offsets) {
        max_width_ = std::max(max_width_, static_cast<int64_t>(int_str(off).size()));
      }
      return;
    }
    std::vector<double> vals;
    for (const int64_t off : offsets) {
      const double v = reader.as_double(off);
      if (std::isfinite(v) && v != 0.0) vals.push_back(v);
    }
    // No finite non-zero value: PyTorch returns before applying a forced sci_mode.
    if (vals.empty()) return;
    double lo = std::abs(vals[0]);
    double hi = lo;
    for (const double v : vals) {
      lo = std::min(lo, std::abs(v));
      hi = std::max(hi, std::abs(v));
      if (v != std::ceil(v)) int_mode_ = false;
    }
    if (int_mode_) {
      sci_mode_ = hi / lo > 1000.0 || hi > 1.0e8;
      for (const double v : vals) {
        const int64_t len = sci_mode_ ? static_cast<int64_t>(py_format(v, precision_, 'e').size())
                                      : static_cast<int64_t>(py_format(v, 0, 'f').size()) + 1;
        max_width_ = std::max(max_width_, len);
      }
    } else {
      sci_mode_ = hi / lo > 1000.0 || hi > 1.0e8 || lo < 1.0e-4;
      for (const double v : vals) {
        const std::string s = py_format(v, precision_, sci_mode_ ? 'e' : 'f');
        max_width_ = std::max(max_width_, static_cast<int64_t>(s.size()));
      }
    }
    if (!options.sci_mode_auto) sci_mode_ = options.sci_mode;
  }

  int64_t width() const { return max_width_; }

  std::string format(int64_t offset) const {
    if (!is_floating(dtype_)) return pad_left(int_str(offset), max_width_);
    const double v = reader_.as_double(offset);
    std::string ret;
    if (sci_mode_) {
      ret = py_format(v, precision_, 'e');
    } else if (int_mode_) {
      ret = py_format(v, 0, 'f');
      if (std::isfinite(v)) ret += '.';
    } else {
      ret = py_format(v, precision_, 'f');
    }
    return pad_left(std::move(ret), max_width_);
  }

 private:
  std::string int_str(int64_t offset) const {
    if (dtype_ == kBool) return reader_.as_int(offset) != 0 ? "True" : "False";
    return std::to_string(reader_.as_int(offset));
  }

  const Reader& reader_;
  DType dtype_;
  int precision_;
  bool int_mode_ = true;
  bool sci_mode_ = false;
  int64_t max_width_ = 1;
};

class Printer {
 public:
  Printer(const Tensor& t, const PrintOptions& options)
      : t_(t), o_(options), reader_(t), summarize_(t.numel() > options.threshold) {}

  // _tensor_str for a non-empty tensor.
  std::string tensor_str(int64_t indent) {
    std::vector<int64_t> offsets;
    summarized_offsets(0, 0, offsets);
    const Formatter formatter(reader_, t_.dtype(), offsets, o_);
    return str_with_formatter(0, 0, indent, formatter);
  }

 private:
  int64_t size(int64_t d) const { return t_.shape()[static_cast<std::size_t>(d)]; }
  int64_t stride(int64_t d) const { return t_.strides()[static_cast<std::size_t>(d)]; }
  int64_t edge() const { return o_.edgeitems; }
  // size > 2 * edgeitems, without overflowing for huge edgeitems.
  bool summarized(int64_t d) const { return summarize_ && edge() <= (size(d) - 1) / 2; }

  // The elements get_summarized_data keeps (all of them when not summarising), in order.
  void summarized_offsets(int64_t d, int64_t offset, std::vector<int64_t>& out) const {
    if (d == t_.dim()) {
      out.push_back(offset);
      return;
    }
    auto visit = [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        summarized_offsets(d + 1, offset + i * stride(d), out);
    };
    if (!summarized(d)) {
      visit(0, size(d));
    } else if (d + 1 == t_.dim()) {
      visit(0, edge());
      // self[-0:] is the whole row, so edgeitems=0 keeps everything, as in PyTorch.
      visit(edge() == 0 ? 0 : size(d) - edge(), size(d));
    } else {
      visit(0, edge());
      visit(size(d) - edge(), size(d));
    }
  }

  // _vector_str.
  std::string vector_str(int64_t d, int64_t offset, int64_t indent, const Formatter& f) const {
    const int64_t element_length = f.width() + 2;
    // Python floors the quotient; truncating differs only below zero, where max() gives 1 anyway.
    const int64_t per_line = std::max<int64_t>(1, (o_.linewidth - indent) / element_length);
    std::vector<std::string> data;
    auto add = [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        data.push_back(f.format(offset + i * stride(d)));
    };
    if (summarized(d)) {
      add(0, edge());
      data.emplace_back(" ...");
      add(edge() == 0 ? 0 : size(d) - edge(), size(d));
    } else {
      add(0, size(d));
    }
    std::string out = "[";
    std::string line_sep = ",\n";
    line_sep.append(static_cast<std::size_t>(indent + 1), ' ');
    for (std::size_t i = 0; i < data.size(); ++i) {
      if (i > 0) out += i % static_cast<std::size_t>(per_line) == 0 ? line_sep : ", ";
      out += data[i];
    }
    return out + "]";
  }

  // _tensor_str_with_formatter.
  std::string str_with_formatter(int64_t d, int64_t offset, int64_t indent,
                                 const Formatter& f) const {
    const int64_t rank = t_.dim() - d;
    if (rank == 0) return f.format(offset);
    if (rank == 1) return vector_str(d, offset, indent, f);
    std::vector<std::string> slices;
    auto add = [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        slices.push_back(str_with_formatter(d + 1, offset + i * stride(d), indent + 1, f));
      }
    };
    if (summarized(d)) {
      add(0, edge());
      slices.emplace_back("...");
      add(size(d) - edge(), size(d));
    } else {
      add(0, size(d));
    }
    // Built by append: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string&&.
    std::string sep = ",";
    sep.append(static_cast<std::size_t>(rank - 1), '\n');
    sep.append(static_cast<std::size_t>(indent + 1), ' ');
    std::string out = "[";
    for (std::size_t i = 0; i < slices.size(); ++i) {
      if (i > 0) out += sep;
      out += slices[i];
    }
    return out + "]";
  }

  const Tensor& t_;
  const PrintOptions& o_;
  Reader reader_;
  bool summarize_;
};

// _add_suffixes (never forcing a newline: wick has no sparse tensors).
std::string add_suffixes(std::string str, const std::vector<std::string>& suffixes, int64_t indent,
                         int64_t linewidth) {
  // Python's rfind gives -1 without a newline, which makes the first line count two extra.
  const auto nl = str.rfind('\n');
  int64_t last_line_len = static_cast<int64_t>(str.size()) -
                          (nl == std::string::npos ? -1 : static_cast<int64_t>(nl)) + 1;
  for (const std::string& suffix : suffixes) {
    const auto len = static_cast<int64_t>(suffix.size());
    if (last_line_len + len + 2 > linewidth) {
      str.append(",\n").append(static_cast<std::size_t>(indent), ' ').append(suffix);
      last_line_len = indent + len;
    } else {
      str.append(", ").append(suffix);
      last_line_len += len + 2;
    }
  }
  return str + ")";
}

// str(tuple(shape)): "(0,)", "(2, 0, 3)".
std::string tuple_str(const Shape& shape) {
  std::string out = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(shape[i]);
  }
  if (shape.size() == 1) out += ",";
  return out + ")";
}

// Spelled as PyTorch spells it: its length decides where the suffix wraps. to_string renames
// the module afterwards.
std::string dtype_suffix(DType d) {
  return "dtype=torch." + std::string(dtype_name(d));
}

// The result is "PyTorch's repr with torch. replaced by wick.", literally.
std::string rename_module(std::string s) {
  constexpr std::string_view kFrom = "torch.";
  constexpr std::string_view kTo = "wick.";
  for (auto pos = s.find(kFrom); pos != std::string::npos; pos = s.find(kFrom, pos + kTo.size())) {
    s.replace(pos, kFrom.size(), kTo);
  }
  return s;
}

}  // namespace

PrintOptions& print_options() noexcept {
  static PrintOptions options;
  return options;
}

std::string to_string(const Tensor& t, const PrintOptions& options) {
  // libtorch's operator<< spelling for a tensor with no storage.
  if (!t.defined()) return "[ Tensor (undefined) ]";
  WICK_CHECK(options.precision >= 0, ArgumentError,
             "to_string: PrintOptions::precision must be >= 0, got ", options.precision);
  WICK_CHECK(options.edgeitems >= 0, ArgumentError,
             "to_string: PrintOptions::edgeitems must be >= 0, got ", options.edgeitems);
  const bool summarize = t.numel() > options.threshold;
  // PyTorch fails here too (torch.stack of an empty list); say why instead.
  WICK_CHECK(!(summarize && options.edgeitems == 0 && t.dim() >= 2), ArgumentError,
             "to_string: PrintOptions::edgeitems must be >= 1 to summarise a ", t.dim(),
             "-d tensor of ", t.numel(), " elements (threshold ", options.threshold, "), got 0");

  const std::string prefix = "tensor(";
  const auto indent = static_cast<int64_t>(prefix.size());
  std::vector<std::string> suffixes;
  std::string body;
  if (t.numel() == 0) {
    // PyTorch shows the shape unless it is (0,), and the dtype unless it is the default float.
    if (t.dim() != 1) suffixes.push_back("size=" + tuple_str(t.shape()));
    if (t.dtype() != kFloat32) suffixes.push_back(dtype_suffix(t.dtype()));
    body = "[]";
  } else {
    const DType d = t.dtype();
    if (d != kFloat32 && d != kInt64 && d != kBool) suffixes.push_back(dtype_suffix(d));
    body = Printer(t, options).tensor_str(indent);
  }
  return rename_module(add_suffixes(prefix + body, suffixes, indent, options.linewidth));
}

std::ostream& operator<<(std::ostream& out, const Tensor& t) {
  return out << to_string(t);
}

}  // namespace wick
