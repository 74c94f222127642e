#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "common/file.h"
#include "common/tensor_bytes.h"
#include "wick/core/error.h"
#include "wick/io/interop/safetensors.h"

namespace wick::io {
namespace {

// The reference implementation's bound on the JSON header.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr const char* kMetadataKey = "__metadata__";
constexpr std::size_t kMaxRank = 64;

struct DtypeName {
  const char* name;
  DType dtype;
};

constexpr DtypeName kDtypes[] = {
    {"BOOL", kBool}, {"U8", kUInt8},    {"I8", kInt8},       {"I16", kInt16},   {"I32", kInt32},
    {"I64", kInt64}, {"F16", kFloat16}, {"BF16", kBFloat16}, {"F32", kFloat32}, {"F64", kFloat64},
};

// Dtypes of the safetensors spec that wick has no equivalent for.
constexpr const char* kForeignDtypes[] = {"U16",     "U32",     "U64",     "F8_E4M3", "F8_E5M2",
                                          "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4",      "C64"};

const char* name_of(DType d) {
  for (const DtypeName& n : kDtypes) {
    if (n.dtype == d) return n.name;
  }
  return "F32";
}

// Text from the file quoted in a message: long names and numbers are cut, so that a message
// never repeats megabytes of a hostile header.
constexpr std::size_t kMaxQuoted = 128;

std::string excerpt(std::string_view s) {
  if (s.size() <= kMaxQuoted) return std::string(s);
  return wick::detail::cat(s.substr(0, kMaxQuoted), "... (", s.size(), " bytes)");
}

// Strings stored back to back, 4 bytes of bookkeeping each instead of a std::string's 32: a
// header of many short keys costs little more than its text. (A header has at most 10^8 bytes,
// and no string of it unescapes to more bytes than it takes.)
class StringTable {
 public:
  void push(std::string_view s) {
    text_.append(s);
    ends_.push_back(static_cast<uint32_t>(text_.size()));
  }
  std::size_t size() const noexcept { return ends_.size(); }
  std::string_view operator[](std::size_t i) const noexcept {
    const uint32_t begin = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(text_).substr(begin, ends_[i] - begin);
  }

 private:
  std::string text_;
  std::vector<uint32_t> ends_;
};

// A tensor entry, checked: everything the loader needs and nothing else.
struct Entry {
  uint64_t begin = 0;
  uint64_t end = 0;
  uint64_t nbytes = 0;
  uint32_t name = 0;     // in Header::names
  uint32_t dims_at = 0;  // the shape is dims[dims_at, dims_at + rank) of the Header
  uint8_t rank = 0;
  DType dtype = kFloat32;
};

// What load_safetensors keeps of a header.
struct Header {
  StringTable names;           // every top-level name but __metadata__, in header order
  std::vector<Entry> entries;  // the sound ones, in header order
  std::vector<int64_t> dims;
  StringTable metadata;  // key, value, key, value, ... in header order
};

// One field of a tensor entry as parsed, judged once the entry ends (so that the checks run in
// the same order whatever order the fields come in).
struct Field {
  bool present = false;
  const char* type = "";  // JSON type of the value (nlohmann's type_name())
};

// An array of unsigned integers as parsed (shape, data_offsets): the first kKept values, how
// many there were, and the first value that was no unsigned integer.
struct IntArray : Field {
  static constexpr std::size_t kKept = kMaxRank + 1;
  uint64_t values[kKept] = {};
  std::size_t count = 0;
  std::size_t first_bad = SIZE_MAX;
  std::string bad_text;
};

// SAX handler for the header (nlohmann::json::sax_parse): keeps each tensor entry in a fixed
// form, and the metadata pairs, in one pass and in memory linear in the header. Nesting deeper
// than a tensor entry's shape array is refused at once, so a nesting bomb costs nothing; the
// other errors are collected (the first of each kind, in header order) and thrown by finish()
// once the whole text is known to be JSON, as a DOM parser would: syntax first, then repeated
// keys, then what the values mean.
class HeaderParser {
 public:
  explicit HeaderParser(std::string where) : where_(std::move(where)) {}

  using Json = nlohmann::json;

  // --- nlohmann SAX interface ----------------------------------------------------------------
  bool null() { return scalar("null", "null"); }
  bool boolean(bool v) { return scalar("boolean", v ? "true" : "false"); }
  bool number_integer(Json::number_integer_t v) { return scalar("number", std::to_string(v)); }
  bool number_unsigned(Json::number_unsigned_t v) {
    if (const Kind in = inside(); in == Kind::Shape || in == Kind::Offsets) {
      IntArray& a = in == Kind::Shape ? shape_ : offsets_;
      if (a.count < IntArray::kKept) a.values[a.count] = v;
      ++a.count;
      return true;
    }
    return scalar("number", std::to_string(v));
  }
  bool number_float(Json::number_float_t, const Json::string_t& text) {
    return scalar("number", excerpt(text));
  }
  bool string(Json::string_t& v) {
    if (inside() == Kind::Metadata) {
      header_.metadata.push(key_);
      header_.metadata.push(v);
      return true;
    }
    if (inside() == Kind::Entry && field_ == FieldName::Dtype) {
      dtype_.type = "string";
      dtype_name_ = std::move(v);
      return true;
    }
    return scalar("string", "\"" + excerpt(v) + "\"");
  }
  bool binary(Json::binary_t&) { return scalar("binary", "binary"); }
  bool start_object(std::size_t) { return open(true); }
  bool start_array(std::size_t) { return open(false); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(Json::string_t& k) {
    if (inside() == Kind::Top) {
      if (k == kMetadataKey) ++metadata_count_;
      key_ = std::move(k);
    } else if (inside() == Kind::Metadata) {
      key_ = std::move(k);
    } else if (inside() == Kind::Entry) {
      entry_field(k);
    }
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    throw FormatError(
        wick::detail::cat(where_, ": the header is not valid JSON: ", excerpt(e.what())));
  }

  /// Throws the first error found, or returns what the header says.
  Header finish() {
    check_unique();
    if (!error_.empty()) throw FormatError(error_);
    return std::move(header_);
  }

 private:
  // What an open container is: the header, __metadata__, a tensor entry, its shape or
  // data_offsets, or anything else (skipped).
  enum class Kind : uint8_t { None, Top, Metadata, Entry, Shape, Offsets, Skip };
  enum class FieldName : uint8_t { Dtype, Shape, Offsets, Other };
  static constexpr std::size_t kMaxDepth = 3;  // the header, an entry, its shape

  // The innermost open container.
  Kind inside() const { return stack_.empty() ? Kind::None : stack_.back(); }

  // The first error about what a value means (later ones are not worth their memory); false.
  bool fail(std::string msg) {
    if (error_.empty()) error_ = std::move(msg);
    return false;
  }
  std::string at() const { return wick::detail::cat(where_, ": tensor '", excerpt(key_), "'"); }

  bool open(bool object) {
    if (stack_.size() >= kMaxDepth) {
      throw FormatError(wick::detail::cat(where_, ": the header nests deeper than a tensor entry"));
    }
    const char* type = object ? "object" : "array";
    Kind kind = Kind::Skip;
    if (stack_.empty()) {
      kind = Kind::Top;  // the text starts with '{'
    } else if (inside() == Kind::Top) {
      kind = object ? (key_ == kMetadataKey ? Kind::Metadata : start_entry()) : Kind::Skip;
      if (!object) top_level_scalar(type);
    } else if (inside() == Kind::Entry && !object && field_ == FieldName::Shape) {
      kind = Kind::Shape;
      shape_.type = type;
    } else if (inside() == Kind::Entry && !object && field_ == FieldName::Offsets) {
      kind = Kind::Offsets;
      offsets_.type = type;
    } else {
      value_of_type(type);
    }
    stack_.push_back(kind);
    return true;
  }

  bool close() {
    const Kind kind = stack_.back();
    stack_.pop_back();
    if (kind == Kind::Entry) finish_entry();
    return true;
  }

  // A value that no array of unsigned integers or string is expected for, or one of those of
  // the wrong type.
  bool scalar(const char* type, const std::string& text) {
    const Kind in = inside();
    if (in == Kind::Top) {
      top_level_scalar(type);
    } else if (in == Kind::Shape || in == Kind::Offsets) {
      IntArray& a = in == Kind::Shape ? shape_ : offsets_;
      if (a.first_bad == SIZE_MAX) {
        a.first_bad = a.count;
        a.bad_text = text;
      }
      ++a.count;
    } else {
      value_of_type(type);
    }
    return true;
  }

  // The value of a top-level key is no object.
  void top_level_scalar(const char* type) {
    if (key_ == kMetadataKey) {
      fail(wick::detail::cat(where_, ": __metadata__ must be an object"));
      return;
    }
    if (error_.empty()) fail(wick::detail::cat(at(), ": expected an object, got ", type));
    header_.names.push(key_);  // for the check of repeated names
  }

  // A value inside __metadata__ or a tensor entry that is no string (metadata) or one of the
  // entry's known fields of the wrong type.
  void value_of_type(const char* type) {
    const Kind parent = inside();
    if (parent == Kind::Metadata && error_.empty()) {
      fail(wick::detail::cat(where_, ": __metadata__ '", excerpt(key_), "' must be a string, got ",
                             type));
    } else if (parent == Kind::Entry) {
      if (field_ == FieldName::Dtype) dtype_.type = type;
      if (field_ == FieldName::Shape) shape_.type = type;
      if (field_ == FieldName::Offsets) offsets_.type = type;
    }
  }

  Kind start_entry() {
    dtype_ = {};
    shape_ = {};
    offsets_ = {};
    dtype_name_.clear();
    other_fields_.clear();
    return Kind::Entry;
  }

  void entry_field(std::string& k) {
    Field* f = nullptr;
    if (k == "dtype") {
      field_ = FieldName::Dtype;
      f = &dtype_;
    } else if (k == "shape") {
      field_ = FieldName::Shape;
      f = &shape_;
    } else if (k == "data_offsets") {
      field_ = FieldName::Offsets;
      f = &offsets_;
    } else {
      field_ = FieldName::Other;
      other_fields_.push_back(std::move(k));
      return;
    }
    if (f->present) repeated(k);
    f->present = true;
  }

  void repeated(std::string_view k) {
    if (repeated_.empty()) {
      repeated_ = wick::detail::cat(where_, ": the header names '", excerpt(k), "' twice");
    }
  }

  // Checks a finished entry in the order the fields are needed, and keeps it when it is sound.
  void finish_entry() {
    std::sort(other_fields_.begin(), other_fields_.end());
    const auto dup = std::adjacent_find(other_fields_.begin(), other_fields_.end());
    if (dup != other_fields_.end()) repeated(*dup);
    header_.names.push(key_);  // even when unsound: for the check of repeated names
    // Once the header is known to be refused, its entries are not worth their memory.
    if (!error_.empty()) return;
    Entry e;
    e.name = static_cast<uint32_t>(header_.names.size() - 1);
    if (check_entry(e)) header_.entries.push_back(e);
  }

  // The checks of a finished entry, in the order its fields are needed; each stops at the first
  // problem.
  bool check_entry(Entry& e) {
    const std::string where = at();
    return has_fields(where) && take_dtype(e, where) && take_shape(e, where) &&
           take_offsets(e, where);
  }

  bool has_fields(const std::string& where) {
    const std::pair<const char*, const Field*> fields[] = {
        {"dtype", &dtype_}, {"shape", &shape_}, {"data_offsets", &offsets_}};
    for (const auto& [name, field] : fields) {
      if (!field->present) return fail(wick::detail::cat(where, ": missing '", name, "'"));
    }
    return true;
  }

  bool take_dtype(Entry& e, const std::string& where) {
    if (std::string_view(dtype_.type) != "string") {
      return fail(wick::detail::cat(where, ": dtype must be a string"));
    }
    const auto known = std::find_if(std::begin(kDtypes), std::end(kDtypes),
                                    [&](const DtypeName& d) { return dtype_name_ == d.name; });
    if (known == std::end(kDtypes)) {
      const bool foreign = std::any_of(std::begin(kForeignDtypes), std::end(kForeignDtypes),
                                       [&](const char* d) { return dtype_name_ == d; });
      return fail(wick::detail::cat(where, ": dtype '", excerpt(dtype_name_), "' ",
                                    foreign ? "has no wick equivalent" : "is unknown"));
    }
    e.dtype = known->dtype;
    return true;
  }

  bool take_shape(Entry& e, const std::string& where) {
    if (std::string_view(shape_.type) != "array" || shape_.count > kMaxRank) {
      return fail(
          wick::detail::cat(where, ": shape must be an array of at most ", kMaxRank, " integers"));
    }
    if (shape_.first_bad != SIZE_MAX) {
      return fail(wick::detail::cat(where, ": shape entry must be a non-negative integer, got ",
                                    shape_.bad_text));
    }
    e.dims_at = static_cast<uint32_t>(header_.dims.size());
    e.rank = static_cast<uint8_t>(shape_.count);
    // A size above 2^63-1 turns negative here, which bounded_nbytes() refuses.
    header_.dims.insert(header_.dims.end(), shape_.values, shape_.values + shape_.count);
    const auto nbytes = detail::bounded_nbytes(
        std::span<const int64_t>(header_.dims.data() + e.dims_at, e.rank), e.dtype);
    if (!nbytes) {
      std::string shown = "[";
      for (std::size_t i = 0; i < shape_.count; ++i)
        shown += wick::detail::cat(i > 0 ? ", " : "", shape_.values[i]);
      return fail(wick::detail::cat(where, ": shape ", shown, "] of ", dtype_name(e.dtype),
                                    " overflows 2^62 bytes, counting every zero size as 1"));
    }
    e.nbytes = *nbytes;
    return true;
  }

  bool take_offsets(Entry& e, const std::string& where) {
    if (std::string_view(offsets_.type) != "array" || offsets_.count != 2) {
      return fail(wick::detail::cat(where, ": data_offsets must be [begin, end]"));
    }
    if (offsets_.first_bad != SIZE_MAX) {
      return fail(wick::detail::cat(where, ": data_offsets ",
                                    offsets_.first_bad == 0 ? "begin" : "end",
                                    " must be a non-negative integer, got ", offsets_.bad_text));
    }
    e.begin = offsets_.values[0];
    e.end = offsets_.values[1];
    return true;
  }

  // Repeated names, top-level or in __metadata__: each list sorted once, O(n log n). The one
  // reported is the first repetition in header order, as a parser that checks while it reads
  // would report.
  void check_unique() {
    if (!repeated_.empty()) throw FormatError(repeated_);
    if (metadata_count_ > 1) repeated(kMetadataKey);
    first_repeat(header_.names.size(), [&](std::size_t i) { return header_.names[i]; });
    first_repeat(header_.metadata.size() / 2,
                 [&](std::size_t i) { return header_.metadata[2 * i]; });
    if (!repeated_.empty()) throw FormatError(repeated_);
  }

  template <class NameOf>
  void first_repeat(std::size_t n, NameOf name_of) {
    if (!repeated_.empty()) return;
    std::vector<uint32_t> order(n);
    for (std::size_t i = 0; i < n; ++i)
      order[i] = static_cast<uint32_t>(i);
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
      const int c = name_of(a).compare(name_of(b));
      return c < 0 || (c == 0 && a < b);
    });
    std::size_t first = SIZE_MAX;
    for (std::size_t i = 1; i < n; ++i) {
      if (name_of(order[i]) == name_of(order[i - 1]))
        first = std::min<std::size_t>(first, order[i]);
    }
    if (first != SIZE_MAX) repeated(name_of(first));
  }

  std::string where_;
  Header header_;
  std::vector<Kind> stack_;  // the open containers, at most kMaxDepth
  std::string key_;          // the current top-level or metadata key
  FieldName field_ = FieldName::Other;
  Field dtype_;
  std::string dtype_name_;
  IntArray shape_;
  IntArray offsets_;
  std::vector<std::string> other_fields_;  // unknown fields of the current entry
  std::size_t metadata_count_ = 0;
  std::string repeated_;  // the first repeated key
  std::string error_;     // the first other error
};

Header parse_header(const std::string& text, const std::string& where) {
  HeaderParser parser(where);
  nlohmann::json::sax_parse(text, &parser);
  return parser.finish();
}

// Byte ranges must tile the data exactly: sorted, contiguous from 0, ending at the file's end.
void check_tiling(Header& header, uint64_t data_size, const std::string& where) {
  std::vector<Entry>& entries = header.entries;
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
  });
  const auto shape_str_of = [&](const Entry& e) {
    return shape_str(std::span<const int64_t>(header.dims.data() + e.dims_at, e.rank));
  };
  uint64_t expected = 0;
  for (const Entry& e : entries) {
    const std::string at = where + ": tensor '" + excerpt(header.names[e.name]) + "'";
    WICK_CHECK(e.begin == expected, FormatError, at, ": data_offsets [", e.begin, ", ", e.end, "] ",
               e.begin < expected ? "overlap" : "leave a gap after",
               " the data before it, which ends at ", expected);
    WICK_CHECK(e.end >= e.begin, FormatError, at, ": data_offsets [", e.begin, ", ", e.end,
               "] end before they begin");
    WICK_CHECK(e.end - e.begin == e.nbytes, FormatError, at, ": shape ", shape_str_of(e), " of ",
               dtype_name(e.dtype), " needs ", e.nbytes, " bytes, data_offsets [", e.begin, ", ",
               e.end, "] hold ", e.end - e.begin);
    expected = e.end;
  }
  WICK_CHECK(expected == data_size, FormatError, where, ": the tensors cover ", expected,
             " data bytes, the file holds ", data_size);
}

// Reads and parses the `n`-byte header; its text is freed before the tensors are built.
Header read_header(const detail::File& file, uint64_t n, const std::string& where) {
  std::string text(static_cast<std::size_t>(n), '\0');
  file.read_at(text.data(), text.size(), 8, "safetensors header");
  WICK_CHECK(!text.empty() && text[0] == '{', FormatError, where,
             ": the header must start with '{'");
  // nlohmann-json stops at a NUL as if the text ended there; JSON never holds a raw one.
  const auto nul = text.find('\0');
  WICK_CHECK(nul == std::string::npos, FormatError, where,
             ": the header is not valid JSON: NUL byte at offset ", nul);
  return parse_header(text, where);
}

// The bytes of one tensor: borrowed from `mapping` when there is one and they are aligned for
// their dtype (typed access to misaligned memory is undefined), read into owned memory otherwise.
std::shared_ptr<Storage> tensor_bytes(const detail::File& file, const detail::Mapping* mapping,
                                      std::shared_ptr<const void> owner, uint64_t at, uint64_t n,
                                      DType dtype) {
  if (mapping != nullptr) {
    std::byte* data = mapping->data() + at;
    if (reinterpret_cast<uintptr_t>(data) % dtype_size(dtype) == 0) {
      return Storage::borrow(data, static_cast<std::size_t>(n), std::move(owner));
    }
  }
  auto storage = Storage::allocate(static_cast<std::size_t>(n));
  file.read_at(storage->data(), storage->nbytes(), at, "safetensors data");
  return storage;
}

// The tensors of a checked header, in data order, read from the data starting at `data_at`
// (or viewed in `mapping`, see tensor_bytes).
Dict read_tensors(const detail::File& file, const Header& header, uint64_t data_at,
                  const std::shared_ptr<const detail::Mapping>& mapping, const std::string& where) {
  Dict out;
  // Empty tensors share one empty storage: a header of many of them costs their entries only.
  const auto no_bytes = Storage::allocate(0);
  for (const Entry& e : header.entries) {
    Shape shape(header.dims.begin() + e.dims_at, header.dims.begin() + e.dims_at + e.rank);
    auto storage = e.nbytes == 0 ? no_bytes
                                 : tensor_bytes(file, mapping.get(), mapping, data_at + e.begin,
                                                e.nbytes, e.dtype);
    if (e.dtype == kBool) {
      detail::check_bool_bytes(storage->data(), storage->nbytes(),
                               where + ": tensor '" + excerpt(header.names[e.name]) + "'");
    }
    Shape strides = contiguous_strides(shape);
    out.insert(std::string(header.names[e.name]),
               Tensor(std::move(storage), std::move(shape), std::move(strides), 0, e.dtype));
  }
  return out;
}

}  // namespace

Value load_safetensors(const std::filesystem::path& path, Dict* metadata, bool mmap) {
  const std::string where = "load_safetensors: " + path.string();
  detail::File file(path);
  const uint64_t size = file.size();
  WICK_CHECK(size >= 8, FormatError, where, ": ", size,
             " bytes is too short: a safetensors file starts with an 8-byte header length");
  char len[8];
  file.read_at(len, 8, 0, "safetensors header length");
  const auto n = detail::load_le<uint64_t>(len);
  WICK_CHECK(n <= kMaxHeaderBytes, FormatError, where, ": header length ", n,
             " exceeds the limit of ", kMaxHeaderBytes, " bytes");
  WICK_CHECK(n <= size - 8, FormatError, where, ": header length ", n, " runs past the end of the ",
             size, "-byte file");
  Header header = read_header(file, n, where);
  check_tiling(header, size - 8 - n, where);
  if (metadata != nullptr) {
    for (std::size_t i = 0; i < header.metadata.size(); i += 2) {
      metadata->insert_or_assign(std::string(header.metadata[i]),
                                 Value(std::string(header.metadata[i + 1])));
    }
  }
  const auto mapping = mmap ? std::make_shared<const detail::Mapping>(file) : nullptr;
  return read_tensors(file, header, 8 + n, mapping, where);
}

namespace {

// `s` (valid UTF-8, checked by the caller) as a JSON string, escaped as nlohmann-json's dump()
// escapes it, so the bytes written stay the same; runs that need no escape are copied whole.
void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.substr(run, i - run));
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {
        static constexpr char kHex[] = "0123456789abcdef";
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
    }
  }
  out.append(s.substr(run));
  out += '"';
}

// The bytes append_json_string() appends for `s`.
uint64_t json_string_size(std::string_view s) {
  uint64_t n = 2;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c != '"' && c != '\\') {
      n += 1;
    } else if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' ||
               c == '\t') {
      n += 2;  // \" \\ \b \f \n \r \t
    } else {
      n += 6;  // \u00XX
    }
  }
  return n;
}

// ArgumentError when a header of `size` bytes would pass what readers take. Checked before each
// string is appended, so that a refusal never builds more than the limit.
void check_header_size(uint64_t size, const std::string& op) {
  WICK_CHECK(size <= kMaxHeaderBytes, ArgumentError, op, ": the header would take over ", size,
             " bytes; readers refuse headers over ", kMaxHeaderBytes);
}

// The header for `tensors` (in order) and `metadata`, built as text: an ordered JSON object
// would look every key up in a list, quadratic in the number of tensors.
std::string header_text(const Dict& tensors, const std::vector<Tensor>& data, const Dict& metadata,
                        const std::string& op) {
  std::string text = "{";
  if (!metadata.empty()) {
    text += "\"__metadata__\":{";
    for (const auto& [k, v] : metadata) {
      const std::string& key = k.str();
      check_header_size(text.size() + 2 + json_string_size(key) + json_string_size(v.as_string()),
                        op);
      if (text.back() != '{') text += ',';
      append_json_string(text, key);
      text += ':';
      append_json_string(text, v.as_string());
    }
    text += '}';
  }
  uint64_t offset = 0;
  std::size_t i = 0;
  for (const auto& [k, v] : tensors) {
    const std::string& key = k.str();
    // The rest of the entry takes at most 64 sizes and two offsets of 20 digits each.
    check_header_size(text.size() + 1 + json_string_size(key), op);
    if (text.back() != '{') text += ',';
    append_json_string(text, key);
    text += ":{\"dtype\":\"";
    text += name_of(v.tensor().dtype());
    text += "\",\"shape\":[";
    for (std::size_t d = 0; d < v.tensor().shape().size(); ++d)
      text += wick::detail::cat(d > 0 ? "," : "", v.tensor().shape()[d]);
    const uint64_t nbytes = data[i++].nbytes();
    text += wick::detail::cat("],\"data_offsets\":[", offset, ",", offset + nbytes, "]}");
    offset += nbytes;
  }
  text += '}';
  text.append((64 - (8 + text.size()) % 64) % 64, ' ');
  check_header_size(text.size(), op);
  return text;
}

}  // namespace

void save_safetensors(const Value& tensors, const std::filesystem::path& path,
                      const SaveOptions& options) {
  const std::string op = "save_safetensors";
  WICK_CHECK(tensors.is_dict(), ArgumentError, op, ": expected a dict of tensors, got a ",
             kind_name(tensors.kind()));
  for (const auto& [k, v] : options.metadata) {
    const std::string& key = detail::string_key(k, op);
    WICK_CHECK(v.is_string(), ArgumentError, op, ": metadata '", key, "' is a ",
               kind_name(v.kind()), "; safetensors metadata values are strings");
    WICK_CHECK(detail::is_valid_utf8(key) && detail::is_valid_utf8(v.as_string()), ArgumentError,
               op, ": metadata '", key, "' is not valid UTF-8");
  }
  std::vector<Tensor> data;
  for (const auto& [k, v] : tensors.dict()) {
    const std::string& key = detail::string_key(k, op);
    WICK_CHECK(v.is_tensor(), ArgumentError, op, ": entry '", key, "' is a ", kind_name(v.kind()),
               ", not a tensor");
    WICK_CHECK(v.tensor().defined(), ArgumentError, op, ": tensor '", key, "' is undefined");
    WICK_CHECK(key != kMetadataKey, ArgumentError, op,
               ": '__metadata__' is reserved for the header's metadata");
    WICK_CHECK(detail::is_valid_utf8(key), ArgumentError, op, ": name '", key,
               "' is not valid UTF-8");
    detail::check_writable(v.tensor(), kMaxRank, op + ": tensor '" + key + "'");
    data.push_back(detail::contiguous_data(v.tensor()));
  }
  const std::string text = header_text(tensors.dict(), data, options.metadata, op);
  uint64_t total = 8 + text.size();
  for (const Tensor& t : data)
    total += t.nbytes();
  detail::write_atomically(
      path, options.durable,
      [&](detail::Sink& sink) {
        char len[8];
        const auto n = static_cast<uint64_t>(text.size());
        std::memcpy(len, &n, 8);
        sink.write(len, 8);
        sink.write(text.data(), text.size());
        for (const Tensor& t : data) {
          if (t.nbytes() > 0) sink.write(t.raw_data(), t.nbytes());
        }
      },
      options.progress, total);
}

}  // namespace wick::io
