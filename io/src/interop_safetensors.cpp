#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <unordered_set>
#include <vector>

#include "interop_common.h"
#include "wick/core/error.h"
#include "wick/io/safetensors.h"

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

struct Entry {
  std::string name;
  DType dtype = kFloat32;
  Shape shape;
  uint64_t begin = 0;
  uint64_t end = 0;
  uint64_t nbytes = 0;
};

// Parses the header, refusing repeated keys (which JSON parsers silently collapse) and nesting
// deeper than a tensor entry's shape array.
nlohmann::ordered_json parse_header(const std::string& text, const std::string& where) {
  std::vector<std::unordered_set<std::string>> keys;
  const nlohmann::ordered_json::parser_callback_t check =
      [&](int depth, nlohmann::ordered_json::parse_event_t event, nlohmann::ordered_json& parsed) {
        using E = nlohmann::ordered_json::parse_event_t;
        if (event == E::object_start || event == E::array_start) {
          WICK_CHECK(depth < 3, FormatError, where,
                     ": the header nests deeper than a tensor entry");
          if (event == E::object_start) keys.emplace_back();
        } else if (event == E::object_end) {
          keys.pop_back();
        } else if (event == E::key) {
          const auto& key = parsed.get_ref<const std::string&>();
          WICK_CHECK(keys.back().insert(key).second, FormatError, where, ": the header names '",
                     key, "' twice");
        }
        return true;
      };
  try {
    return nlohmann::ordered_json::parse(text, check);
  } catch (const nlohmann::ordered_json::exception& e) {
    throw FormatError(wick::detail::cat(where, ": the header is not valid JSON: ", e.what()));
  }
}

uint64_t unsigned_field(const nlohmann::ordered_json& v, const std::string& what) {
  WICK_CHECK(v.is_number_unsigned(), FormatError, what, " must be a non-negative integer, got ",
             v.dump());
  return v.get<uint64_t>();
}

Entry parse_entry(const std::string& name, const nlohmann::ordered_json& info,
                  const std::string& where) {
  const std::string at = where + ": tensor '" + name + "'";
  WICK_CHECK(info.is_object(), FormatError, at, ": expected an object, got ", info.type_name());
  for (const char* field : {"dtype", "shape", "data_offsets"}) {
    WICK_CHECK(info.contains(field), FormatError, at, ": missing '", field, "'");
  }
  Entry e;
  e.name = name;
  const auto& dtype = info["dtype"];
  WICK_CHECK(dtype.is_string(), FormatError, at, ": dtype must be a string");
  const auto& dname = dtype.get_ref<const std::string&>();
  const auto known = std::find_if(std::begin(kDtypes), std::end(kDtypes),
                                  [&](const DtypeName& d) { return dname == d.name; });
  if (known == std::end(kDtypes)) {
    const bool foreign = std::any_of(std::begin(kForeignDtypes), std::end(kForeignDtypes),
                                     [&](const char* d) { return dname == d; });
    throw FormatError(wick::detail::cat(at, ": dtype '", dname, "' ",
                                        foreign ? "has no wick equivalent" : "is unknown"));
  }
  e.dtype = known->dtype;
  const auto& shape = info["shape"];
  WICK_CHECK(shape.is_array() && shape.size() <= kMaxRank, FormatError, at,
             ": shape must be an array of at most ", kMaxRank, " integers");
  int64_t numel = 1;
  for (const auto& d : shape) {
    const uint64_t v = unsigned_field(d, at + ": shape entry");
    WICK_CHECK(v <= static_cast<uint64_t>(INT64_MAX) &&
                   !__builtin_mul_overflow(numel, static_cast<int64_t>(v), &numel),
               FormatError, at, ": shape ", shape.dump(), " overflows");
    e.shape.push_back(static_cast<int64_t>(v));
  }
  WICK_CHECK(!__builtin_mul_overflow(static_cast<uint64_t>(numel), dtype_size(e.dtype), &e.nbytes),
             FormatError, at, ": shape ", shape.dump(), " overflows");
  const auto& offsets = info["data_offsets"];
  WICK_CHECK(offsets.is_array() && offsets.size() == 2, FormatError, at,
             ": data_offsets must be [begin, end]");
  e.begin = unsigned_field(offsets[0], at + ": data_offsets begin");
  e.end = unsigned_field(offsets[1], at + ": data_offsets end");
  return e;
}

}  // namespace

Value load_safetensors(const std::filesystem::path& path, Dict* metadata) {
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
  std::string text(static_cast<std::size_t>(n), '\0');
  file.read_at(text.data(), text.size(), 8, "safetensors header");
  WICK_CHECK(!text.empty() && text[0] == '{', FormatError, where,
             ": the header must start with '{'");
  // nlohmann-json stops at a NUL as if the text ended there; JSON never holds a raw one.
  const auto nul = text.find('\0');
  WICK_CHECK(nul == std::string::npos, FormatError, where,
             ": the header is not valid JSON: NUL byte at offset ", nul);
  const nlohmann::ordered_json header = parse_header(text, where);
  WICK_CHECK(header.is_object(), FormatError, where, ": the header must be a JSON object");

  std::vector<Entry> entries;
  for (const auto& [name, info] : header.items()) {
    if (name == kMetadataKey) {
      WICK_CHECK(info.is_object(), FormatError, where, ": __metadata__ must be an object");
      for (const auto& [key, v] : info.items()) {
        WICK_CHECK(v.is_string(), FormatError, where, ": __metadata__ '", key,
                   "' must be a string, got ", v.type_name());
        if (metadata != nullptr) metadata->insert_or_assign(key, v.get<std::string>());
      }
      continue;
    }
    entries.push_back(parse_entry(name, info, where));
  }
  // Byte ranges must tile the data exactly: sorted, contiguous from 0, ending at the file's end.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
  });
  const uint64_t data_size = size - 8 - n;
  uint64_t expected = 0;
  for (const Entry& e : entries) {
    const std::string at = where + ": tensor '" + e.name + "'";
    WICK_CHECK(e.begin == expected, FormatError, at, ": data_offsets [", e.begin, ", ", e.end, "] ",
               e.begin < expected ? "overlap" : "leave a gap after",
               " the data before it, which ends at ", expected);
    WICK_CHECK(e.end >= e.begin, FormatError, at, ": data_offsets [", e.begin, ", ", e.end,
               "] end before they begin");
    WICK_CHECK(e.end - e.begin == e.nbytes, FormatError, at, ": shape ", shape_str(e.shape), " of ",
               dtype_name(e.dtype), " needs ", e.nbytes, " bytes, data_offsets [", e.begin, ", ",
               e.end, "] hold ", e.end - e.begin);
    expected = e.end;
  }
  WICK_CHECK(expected == data_size, FormatError, where, ": the tensors cover ", expected,
             " data bytes, the file holds ", data_size);

  Dict out;
  for (const Entry& e : entries) {
    auto storage = Storage::allocate(static_cast<std::size_t>(e.nbytes));
    file.read_at(storage->data(), storage->nbytes(), 8 + n + e.begin, "safetensors data");
    if (e.dtype == kBool) {
      detail::check_bool_bytes(storage->data(), storage->nbytes(),
                               where + ": tensor '" + e.name + "'");
    }
    out.insert(e.name,
               Tensor(std::move(storage), e.shape, contiguous_strides(e.shape), 0, e.dtype));
  }
  return out;
}

void save_safetensors(const Value& tensors, const std::filesystem::path& path,
                      const SaveOptions& options) {
  const std::string op = "save_safetensors";
  WICK_CHECK(tensors.is_dict(), ArgumentError, op, ": expected a dict of tensors, got a ",
             kind_name(tensors.kind()));
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!options.metadata.empty()) {
    auto& meta = header[kMetadataKey];
    meta = nlohmann::ordered_json::object();
    for (const auto& [key, v] : options.metadata) {
      WICK_CHECK(v.is_string(), ArgumentError, op, ": metadata '", key, "' is a ",
                 kind_name(v.kind()), "; safetensors metadata values are strings");
      WICK_CHECK(detail::is_valid_utf8(key) && detail::is_valid_utf8(v.as_string()), ArgumentError,
                 op, ": metadata '", key, "' is not valid UTF-8");
      meta[key] = v.as_string();
    }
  }
  std::vector<Tensor> data;
  uint64_t offset = 0;
  for (const auto& [key, v] : tensors.dict()) {
    WICK_CHECK(v.is_tensor(), ArgumentError, op, ": entry '", key, "' is a ", kind_name(v.kind()),
               ", not a tensor");
    WICK_CHECK(v.tensor().defined(), ArgumentError, op, ": tensor '", key, "' is undefined");
    WICK_CHECK(key != kMetadataKey, ArgumentError, op,
               ": '__metadata__' is reserved for the header's metadata");
    WICK_CHECK(detail::is_valid_utf8(key), ArgumentError, op, ": name '", key,
               "' is not valid UTF-8");
    data.push_back(detail::contiguous_data(v.tensor()));
    const uint64_t nbytes = data.back().nbytes();
    header[key] = {{"dtype", name_of(v.tensor().dtype())},
                   {"shape", v.tensor().shape()},
                   {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  std::string text = header.dump();
  text.append((64 - (8 + text.size()) % 64) % 64, ' ');
  detail::write_atomically(path, options.durable, [&](detail::Sink& sink) {
    char len[8];
    const auto n = static_cast<uint64_t>(text.size());
    std::memcpy(len, &n, 8);
    sink.write(len, 8);
    sink.write(text.data(), text.size());
    for (const Tensor& t : data) {
      if (t.nbytes() > 0) sink.write(t.raw_data(), t.nbytes());
    }
  });
}

}  // namespace wick::io
