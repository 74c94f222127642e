#include <string>
#include <vector>

#include "interop_common.h"
#include "interop_zip.h"
#include "pickle.h"
#include "wick/core/error.h"
#include "wick/io/pytorch.h"

namespace wick::io {
namespace {

// A state dict's pickle takes ~100 bytes per tensor; anything near this is hostile.
constexpr uint64_t kMaxPickleBytes = uint64_t{256} << 20;
// Every member of torch.save's archive sits in one directory, named after the file.
constexpr const char* kArchiveDir = "archive/";

// The archive's directory, as torch's reader finds it: the first member's up to its '/'.
std::string archive_prefix(const detail::ZipReader& zip) {
  WICK_CHECK(!zip.entries().empty(), FormatError, zip.op(), ": ", zip.name(),
             " is an empty zip archive, not a torch.save checkpoint");
  const std::string& first = zip.entries().front().name;
  const auto slash = first.find('/');
  WICK_CHECK(slash != std::string::npos && slash > 0, FormatError, zip.op(), ": ", zip.name(),
             ": the first zip member '", first,
             "' is not inside a directory, as torch.save archives' members are");
  return first.substr(0, slash + 1);
}

}  // namespace

Value load_pytorch(const std::filesystem::path& path) {
  detail::ZipReader zip(path, "load_pytorch");
  const std::string prefix = archive_prefix(zip);
  const auto pkl = zip.find(prefix + "data.pkl");
  WICK_CHECK(pkl.has_value(), FormatError, "load_pytorch: ", path, ": no member '", prefix,
             "data.pkl': not a torch.save checkpoint (TorchScript archives are not supported)");
  if (const auto order = zip.find(prefix + "byteorder")) {
    const std::string s = zip.read_all(*order, 16);
    WICK_CHECK(s == "little", FormatError, "load_pytorch: ", path, ": byteorder is '", s,
               "'; only little-endian checkpoints are supported");
  }
  const std::string pickle = zip.read_all(*pkl, kMaxPickleBytes);
  const detail::StorageLoader loader = [&](const detail::StorageRef& ref) {
    const std::string name = prefix + "data/" + ref.key;
    const auto idx = zip.find(name);
    WICK_CHECK(idx.has_value(), FormatError, "load_pytorch: ", path, ": storage '", ref.key,
               "' has no member '", name, "'");
    uint64_t nbytes = 0;
    WICK_CHECK(
        !__builtin_mul_overflow(static_cast<uint64_t>(ref.numel), dtype_size(ref.dtype), &nbytes),
        FormatError, "load_pytorch: ", path, ": storage '", ref.key, "' of ", ref.numel,
        " elements overflows");
    const std::string what = "storage of " + std::to_string(ref.numel) + " " +
                             std::string(dtype_name(ref.dtype)) + " elements";
    return zip.read_storage(*idx, nbytes, what.c_str());
  };
  const std::string where = "load_pytorch: " + path.string() + ": " + prefix + "data.pkl";
  return detail::unpickle_weights(pickle, loader, where);
}

void save_pytorch(const Value& value, const std::filesystem::path& path,
                  const SaveOptions& options) {
  const std::string op = "save_pytorch";
  WICK_CHECK(options.metadata.empty(), ArgumentError, op, ": ", path,
             ": PyTorch checkpoints have no file metadata; put it in the value instead");
  std::vector<detail::PickledStorage> storages;
  const std::string pickle = detail::pickle_weights(value, storages, op);
  static const std::string kByteOrder = "little";
  static const std::string kVersion = "3\n";
  const std::string dir = kArchiveDir;
  detail::ZipWriter zip(path, op);
  zip.add(dir + "data.pkl", pickle.data(), pickle.size());
  zip.add(dir + "byteorder", kByteOrder.data(), kByteOrder.size());
  for (const auto& s : storages) {
    zip.add(dir + "data/" + s.key, s.data.raw_data(), s.data.nbytes());
  }
  zip.add(dir + "version", kVersion.data(), kVersion.size());
  zip.close(options.durable);
}

}  // namespace wick::io
