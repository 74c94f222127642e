#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "common/file.h"
#include "common/tensor_bytes.h"
#include "interop/zip.h"
#include "wick/core/error.h"
#include "wick/io/interop/numpy.h"

namespace wick::io {
namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr std::size_t kPrefixSize = 8;          // magic + major + minor
constexpr std::size_t kMaxHeaderBytes = 10000;  // numpy's own max_header_size
constexpr std::size_t kMaxRank = 64;
// So the header the writer makes for any rank the reader takes stays within the reader's limit:
// the dict's fixed text, then each size in at most 19 digits and ", ".
static_assert(70 + kMaxRank * 21 + 64 <= kMaxHeaderBytes);

// What an .npy header says.
struct NpyHeader {
  DType dtype = kFloat32;
  bool swap = false;  // big-endian data
  bool fortran = false;
  Shape shape;
  uint64_t data_offset = 0;  // bytes before the data
  uint64_t nbytes = 0;       // data bytes
};

// Parses the header dict, a Python literal: {'descr': '<f4', 'fortran_order': False,
// 'shape': (2, 3), } with arbitrary whitespace. Nothing else is accepted.
class HeaderParser {
 public:
  HeaderParser(std::string_view s, std::string where) : s_(s), where_(std::move(where)) {}

  NpyHeader parse() {
    NpyHeader h;
    bool seen[3] = {false, false, false};
    expect('{');
    while (true) {
      skip_ws();
      if (peek() == '}') break;
      const std::string key = quoted();
      expect(':');
      int k = key == "descr" ? 0 : key == "fortran_order" ? 1 : key == "shape" ? 2 : -1;
      if (k < 0) fail("unexpected key '" + key + "'");
      if (seen[k]) fail("key '" + key + "' appears twice");
      seen[k] = true;
      if (k == 0) {
        skip_ws();
        if (peek() == '[') fail("structured dtypes (a list descr) are not supported");
        descr(quoted(), h);
      } else if (k == 1) {
        h.fortran = boolean();
      } else {
        h.shape = shape();
      }
      skip_ws();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      if (peek() != '}') fail("expected ',' or '}'");
    }
    expect('}');
    skip_ws();
    if (i_ != s_.size()) fail("unexpected text after the header dict");
    if (!(seen[0] && seen[1] && seen[2])) {
      fail("the header needs exactly the keys 'descr', 'fortran_order' and 'shape'");
    }
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& msg) const {
    throw FormatError(wick::detail::cat(where_, ": header byte ", i_, ": ", msg));
  }
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void expect(char c) {
    skip_ws();
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++i_;
  }
  std::string quoted() {
    skip_ws();
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string");
    const std::size_t end = s_.find(q, i_ + 1);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string out(s_.substr(i_ + 1, end - i_ - 1));
    if (out.find('\\') != std::string::npos) fail("escapes in header strings are not supported");
    i_ = end + 1;
    return out;
  }
  bool boolean() {
    skip_ws();
    if (s_.substr(i_, 4) == "True") {
      i_ += 4;
      return true;
    }
    if (s_.substr(i_, 5) == "False") {
      i_ += 5;
      return false;
    }
    fail("fortran_order must be True or False");
  }
  Shape shape() {
    expect('(');
    Shape out;
    bool trailing_comma = false;
    while (true) {
      skip_ws();
      if (peek() == ')') break;
      if (peek() < '0' || peek() > '9') fail("shape must be a tuple of non-negative integers");
      int64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, peek() - '0', &v)) {
          fail("a shape dimension overflows int64");
        }
        ++i_;
      }
      out.push_back(v);
      trailing_comma = false;
      if (out.size() > kMaxRank) fail(wick::detail::cat("more than ", kMaxRank, " dimensions"));
      skip_ws();
      if (peek() == ',') {
        ++i_;
        trailing_comma = true;
        continue;
      }
      if (peek() != ')') fail("expected ',' or ')' in the shape");
    }
    // Python needs the comma of a 1-tuple: (3) would be the int 3.
    if (out.size() == 1 && !trailing_comma) fail("shape (n) is not a tuple; NumPy writes (n,)");
    ++i_;
    return out;
  }
  void descr(const std::string& d, NpyHeader& h) {
    if (d.size() < 2) fail("dtype '" + d + "' is not a simple dtype");
    const char order = d[0];
    const std::string code = d.substr(1);
    if (order != '<' && order != '>' && order != '|' && order != '=') {
      fail("dtype '" + d + "' has no byte order mark (<, >, | or =)");
    }
    struct Known {
      const char* code;
      DType dtype;
    };
    static constexpr Known kKnown[] = {
        {"b1", kBool},  {"u1", kUInt8},   {"i1", kInt8},    {"i2", kInt16},   {"i4", kInt32},
        {"i8", kInt64}, {"f2", kFloat16}, {"f4", kFloat32}, {"f8", kFloat64},
    };
    for (const Known& k : kKnown) {
      if (code == k.code) {
        h.dtype = k.dtype;
        if (dtype_size(k.dtype) > 1 && order == '|') {
          fail("dtype '" + d + "' needs a byte order (< or >)");
        }
        h.swap = order == '>' && dtype_size(k.dtype) > 1;
        return;
      }
    }
    std::string why = "has no wick equivalent";
    if (code[0] == 'O') why = "is an object array, which needs pickle: refused";
    if (code[0] == 'U' || code[0] == 'S') why = "holds strings: wick has no string tensors";
    if (code == "u2" || code == "u4" || code == "u8") why = "is unsigned: wick has only uint8";
    if (code[0] == 'c') why = "is complex: wick has no complex dtypes";
    fail("dtype '" + d + "' " + why);
  }

  std::string_view s_;
  std::string where_;
  std::size_t i_ = 0;
};

// Parses the fixed prefix and returns the header length field's size (2 or 4) and the version.
std::size_t length_field_size(const char* prefix, const std::string& where) {
  WICK_CHECK(std::string_view(prefix, kMagic.size()) == kMagic, FormatError, where,
             ": not an .npy array (no \\x93NUMPY magic)");
  const auto major = static_cast<uint8_t>(prefix[6]);
  const auto minor = static_cast<uint8_t>(prefix[7]);
  WICK_CHECK(major >= 1 && major <= 3 && minor == 0, FormatError, where, ": .npy format version ",
             int{major}, ".", int{minor}, " (this reader knows 1.0, 2.0 and 3.0)");
  return major == 1 ? 2 : 4;
}

NpyHeader parse_header(std::string_view header, std::size_t prefix_bytes,
                       const std::string& where) {
  NpyHeader h = HeaderParser(header, where).parse();
  h.data_offset = prefix_bytes + header.size();
  const auto nbytes = detail::bounded_nbytes(h.shape, h.dtype);
  WICK_CHECK(nbytes.has_value(), FormatError, where, ": shape ", shape_str(h.shape), " of ",
             dtype_name(h.dtype), " overflows 2^62 bytes, counting every zero size as 1");
  h.nbytes = *nbytes;
  return h;
}

// The data of a checked header: a view of a private mapping of `file` when `mmap` asks for one
// and the data needs no byte swap (finish_tensor swaps in place, which would make the pages
// anonymous) and is aligned for its dtype; read into owned memory otherwise.
std::shared_ptr<Storage> npy_bytes(const detail::File& file, const NpyHeader& h, bool mmap) {
  if (mmap && !h.swap && h.nbytes > 0 && h.data_offset % dtype_size(h.dtype) == 0) {
    auto mapping = std::make_shared<const detail::Mapping>(file);
    std::byte* data = mapping->data() + h.data_offset;
    return Storage::borrow(data, static_cast<std::size_t>(h.nbytes), std::move(mapping));
  }
  auto storage = Storage::allocate(static_cast<std::size_t>(h.nbytes));
  file.read_at(storage->data(), storage->nbytes(), h.data_offset, "npy data");
  return storage;
}

// Turns loaded bytes into the tensor the header describes.
Tensor finish_tensor(std::shared_ptr<Storage> storage, const NpyHeader& h,
                     const std::string& where) {
  if (h.swap) {
    const std::size_t es = dtype_size(h.dtype);
    for (std::size_t i = 0; i + es <= storage->nbytes(); i += es) {
      std::reverse(storage->data() + i, storage->data() + i + es);
    }
  }
  if (h.dtype == kBool) detail::check_bool_bytes(storage->data(), storage->nbytes(), where);
  Shape strides = contiguous_strides(h.shape);
  if (h.fortran) {
    int64_t s = 1;
    for (std::size_t d = 0; d < h.shape.size(); ++d) {
      strides[d] = s;
      s *= std::max<int64_t>(h.shape[d], 1);
    }
  }
  return Tensor(std::move(storage), h.shape, std::move(strides), 0, h.dtype);
}

const char* descr_of(DType d, const std::string& op) {
  switch (d) {
    case DType::Bool:
      return "|b1";
    case DType::UInt8:
      return "|u1";
    case DType::Int8:
      return "|i1";
    case DType::Int16:
      return "<i2";
    case DType::Int32:
      return "<i4";
    case DType::Int64:
      return "<i8";
    case DType::Float16:
      return "<f2";
    case DType::Float32:
      return "<f4";
    case DType::Float64:
      return "<f8";
    case DType::BFloat16:
      break;
  }
  throw ArgumentError(op + ": NumPy has no bfloat16 dtype; convert with .to(wick::kFloat32) first");
}

// The magic, version, length and header dict of `t`, padded like numpy.save pads it.
std::string npy_header(const Tensor& t, const std::string& op) {
  WICK_CHECK(t.defined(), ArgumentError, op, ": tensor is undefined");
  detail::check_writable(t, kMaxRank, op);
  std::string dict = std::string("{'descr': '") + descr_of(t.dtype(), op) +
                     "', 'fortran_order': False, 'shape': (";
  for (std::size_t d = 0; d < t.shape().size(); ++d) {
    dict += (d > 0 ? ", " : "") + std::to_string(t.shape()[d]);
  }
  dict += t.shape().size() == 1 ? ",), }" : "), }";
  const bool v1 = dict.size() + 1 + kPrefixSize + 2 + 64 <= 65535;
  const std::size_t prefix = kPrefixSize + (v1 ? 2 : 4);
  const std::size_t padded = (prefix + dict.size() + 1 + 63) / 64 * 64 - prefix;
  dict.append(padded - dict.size() - 1, ' ');
  dict += '\n';
  std::string out(kMagic);
  out += static_cast<char>(v1 ? 1 : 2);
  out += '\0';
  if (v1) {
    detail::append_le(out, static_cast<uint16_t>(dict.size()));
  } else {
    detail::append_le(out, static_cast<uint32_t>(dict.size()));
  }
  return out + dict;
}

void check_no_metadata(const SaveOptions& options, const std::string& op) {
  WICK_CHECK(options.metadata.empty(), ArgumentError, op,
             ": NumPy files have no file metadata; options.metadata must be empty");
}

const Dict& tensor_dict(const Value& v, const std::string& op) {
  WICK_CHECK(v.is_dict(), ArgumentError, op, ": expected a dict of tensors, got a ",
             kind_name(v.kind()));
  for (const auto& [key, item] : v.dict()) {
    WICK_CHECK(item.is_tensor(), ArgumentError, op, ": entry ", key, " is a ",
               kind_name(item.kind()), ", not a tensor");
    detail::string_key(key, op);
  }
  return v.dict();
}

}  // namespace

Tensor load_npy(const std::filesystem::path& path, bool mmap) {
  const std::string where = "load_npy: " + path.string();
  detail::File file(path);
  char prefix[kPrefixSize + 4] = {};
  WICK_CHECK(file.size() >= kPrefixSize + 2, FormatError, where, ": ", file.size(),
             " bytes is too short for an .npy header");
  file.read_at(prefix, kPrefixSize, 0, "npy magic");
  const std::size_t len_size = length_field_size(prefix, where);
  WICK_CHECK(file.size() >= kPrefixSize + len_size, FormatError, where, ": truncated header");
  file.read_at(prefix + kPrefixSize, len_size, kPrefixSize, "npy header length");
  const uint64_t hlen = len_size == 2 ? detail::load_le<uint16_t>(prefix + kPrefixSize)
                                      : detail::load_le<uint32_t>(prefix + kPrefixSize);
  WICK_CHECK(hlen <= kMaxHeaderBytes, FormatError, where, ": header of ", hlen,
             " bytes exceeds NumPy's limit of ", kMaxHeaderBytes);
  WICK_CHECK(kPrefixSize + len_size + hlen <= file.size(), FormatError, where, ": header of ", hlen,
             " bytes runs past the end of the ", file.size(), "-byte file");
  std::string header(static_cast<std::size_t>(hlen), '\0');
  file.read_at(header.data(), header.size(), kPrefixSize + len_size, "npy header");
  const NpyHeader h = parse_header(header, kPrefixSize + len_size, where);
  WICK_CHECK(file.size() - h.data_offset == h.nbytes, FormatError, where, ": shape ",
             shape_str(h.shape), " of ", dtype_name(h.dtype), " needs ", h.nbytes,
             " data bytes, the file has ", file.size() - h.data_offset);
  return finish_tensor(npy_bytes(file, h, mmap), h, where);
}

void save_npy(const Tensor& tensor, const std::filesystem::path& path, const SaveOptions& options) {
  const std::string op = "save_npy";
  check_no_metadata(options, op);
  const std::string header = npy_header(tensor, op);
  const Tensor data = detail::contiguous_data(tensor);
  detail::write_atomically(
      path, options.durable,
      [&](detail::Sink& sink) {
        sink.write(header.data(), header.size());
        if (data.nbytes() > 0) sink.write(data.raw_data(), data.nbytes());
      },
      options.progress, header.size() + data.nbytes());
}

namespace {

// Member `i` of an .npz archive, which the caller checked is named <key>.npy: its header is
// read through libzip; with `mmap`, data that needs no swap and lies aligned in a stored member
// is a view of the mapped archive, else it is read.
Tensor npz_member(detail::ZipReader& zip, std::size_t i, const std::string& where, bool mmap) {
  const detail::ZipEntry& e = zip.entries()[i];
  WICK_CHECK(e.size >= kPrefixSize + 2, FormatError, where, ": ", e.size,
             " bytes is too short for an .npy header");
  detail::ZipReader::Stream s(zip, i);
  char prefix[kPrefixSize + 4] = {};
  s.read(prefix, kPrefixSize, "npy magic");
  const std::size_t len_size = length_field_size(prefix, where);
  s.read(prefix + kPrefixSize, len_size, "npy header length");
  const uint64_t hlen = len_size == 2 ? detail::load_le<uint16_t>(prefix + kPrefixSize)
                                      : detail::load_le<uint32_t>(prefix + kPrefixSize);
  WICK_CHECK(hlen <= kMaxHeaderBytes, FormatError, where, ": header of ", hlen,
             " bytes exceeds NumPy's limit of ", kMaxHeaderBytes);
  std::string header(static_cast<std::size_t>(hlen), '\0');
  s.read(header.data(), header.size(), "npy header");
  const NpyHeader h = parse_header(header, kPrefixSize + len_size, where);
  WICK_CHECK(e.size >= h.data_offset && e.size - h.data_offset == h.nbytes, FormatError, where,
             ": shape ", shape_str(h.shape), " of ", dtype_name(h.dtype), " needs ", h.nbytes,
             " data bytes, the member has ", e.size - std::min(e.size, h.data_offset));
  zip.check_plausible(i, e.size, "array");
  std::shared_ptr<Storage> storage;
  if (mmap && !h.swap) storage = zip.map_bytes(i, h.data_offset, h.nbytes, dtype_size(h.dtype));
  if (!storage) {
    storage = Storage::allocate(static_cast<std::size_t>(h.nbytes));
    s.read(storage->data(), storage->nbytes(), "npy data");
    s.finish();
  }
  return finish_tensor(std::move(storage), h, where);
}

// Calls `fn(key, array)` for each member of an .npz archive, in archive order, and then
// `progress` with the archive bytes of the members done so far.
void each_npz_member(const std::filesystem::path& path, bool mmap,
                     const std::function<void(const std::string&, Tensor)>& fn,
                     const ProgressFn& progress = {}) {
  detail::ZipReader zip(path, "load_npz");
  uint64_t total = 0;  // cannot overflow: the reader checked that the sizes fit in the file
  for (const detail::ZipEntry& e : zip.entries())
    total += e.comp_size;
  uint64_t done = 0;
  std::unordered_set<std::string> keys;
  for (std::size_t i = 0; i < zip.entries().size(); ++i) {
    const detail::ZipEntry& e = zip.entries()[i];
    const std::string where = "load_npz: " + path.string() + ": member '" + e.name + "'";
    WICK_CHECK(e.name.size() >= 4 && e.name.ends_with(".npy"), FormatError, where,
               ": not an .npy array (npz members are named <key>.npy)");
    std::string key = e.name.substr(0, e.name.size() - 4);
    WICK_CHECK(keys.insert(key).second, FormatError, where, ": the archive holds '", key,
               "' twice");
    fn(key, npz_member(zip, i, where, mmap));
    done += e.comp_size;
    if (progress) progress(done, total);
  }
}

}  // namespace

Value load_npz(const std::filesystem::path& path, bool mmap) {
  Dict out;
  each_npz_member(path, mmap, [&](const std::string& key, Tensor t) { out.insert(key, t); });
  return out;
}

void for_each_npz_array(const std::filesystem::path& path,
                        const std::function<void(const std::string&, Tensor)>& fn,
                        const ProgressFn& progress) {
  each_npz_member(path, false, fn, progress);
}

void save_npz(const Value& arrays, const std::filesystem::path& path, NpzCompression compression,
              const SaveOptions& options) {
  const std::string op = "save_npz";
  check_no_metadata(options, op);
  const Dict& dict = tensor_dict(arrays, op);
  // Headers and data go to libzip as two fragments of one member; both outlive the writer.
  std::vector<std::string> headers;
  std::vector<Tensor> data;
  for (const auto& [k, item] : dict) {
    const std::string& key = k.str();
    WICK_CHECK(detail::is_valid_utf8(key), ArgumentError, op, ": key '", key,
               "' is not valid UTF-8");
    data.push_back(detail::contiguous_data(item.tensor()));
    headers.push_back(npy_header(data.back(), op + ": entry '" + key + "'"));
  }
  detail::ZipWriter zip(path, op);
  std::size_t i = 0;
  for (const auto& [key, item] : dict) {
    zip.add(key.str() + ".npy",
            {{headers[i].data(), headers[i].size()}, {data[i].raw_data(), data[i].nbytes()}},
            compression == NpzCompression::Deflated);
    ++i;
  }
  zip.close(options.durable, options.progress);
}

}  // namespace wick::io
