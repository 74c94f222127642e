#include <algorithm>
#include <string>
#include <vector>

#include "common/tensor_bytes.h"
#include "interop/pickle.h"
#include "interop/zip.h"
#include "wick/core/error.h"
#include "wick/io/interop/pytorch.h"

namespace wick::io {
namespace {

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

// The bytes of each storage of `refs`, from <prefix>data/<key>. Every one is checked (its
// member, its size, its inflation) before any is read, so that a refusal costs no tensor memory.
// With `mmap`, stored members aligned for their dtype (torch.save aligns them to 64 bytes) are
// views of the mapped archive; the others are read.
std::vector<std::shared_ptr<Storage>> read_storages(detail::ZipReader& zip,
                                                    const std::string& prefix,
                                                    const std::vector<detail::StorageRef>& refs,
                                                    bool mmap) {
  std::vector<std::size_t> members;
  std::vector<uint64_t> sizes;
  std::vector<std::string> whats;
  for (const detail::StorageRef& ref : refs) {
    const std::string name = prefix + "data/" + ref.key;
    const auto idx = zip.find(name);
    WICK_CHECK(idx.has_value(), FormatError, zip.op(), ": ", zip.name(), ": storage '", ref.key,
               "' has no member '", name, "'");
    uint64_t nbytes = 0;
    WICK_CHECK(
        !__builtin_mul_overflow(static_cast<uint64_t>(ref.numel), dtype_size(ref.dtype), &nbytes),
        FormatError, zip.op(), ": ", zip.name(), ": storage '", ref.key, "' of ", ref.numel,
        " elements overflows");
    whats.push_back("storage of " + std::to_string(ref.numel) + " " +
                    std::string(dtype_name(ref.dtype)) + " elements");
    zip.check_storage(*idx, nbytes, whats.back().c_str());
    members.push_back(*idx);
    sizes.push_back(nbytes);
  }
  std::vector<std::shared_ptr<Storage>> out;
  for (std::size_t i = 0; i < refs.size(); ++i) {
    std::shared_ptr<Storage> mapped;
    if (mmap) mapped = zip.map_bytes(members[i], 0, sizes[i], dtype_size(refs[i].dtype));
    out.push_back(mapped ? std::move(mapped)
                         : zip.read_storage(members[i], sizes[i], whats[i].c_str()));
  }
  return out;
}

}  // namespace

Value load_pytorch(const std::filesystem::path& path, bool mmap) {
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
  // What the pickle may make the reader hold is bounded by its bytes in the file, and so is
  // the pickle itself: a deflated data.pkl may not inflate past that budget.
  detail::PickleLimits limits;
  limits.max_bytes = detail::pickle_budget(zip.entries()[*pkl].comp_size);
  const std::string pickle =
      zip.read_all(*pkl, std::min<uint64_t>(detail::kMaxPickleBytes, limits.max_bytes));
  const detail::StorageLoader loader = [&](const std::vector<detail::StorageRef>& refs) {
    return read_storages(zip, prefix, refs, mmap);
  };
  const std::string where = "load_pytorch: " + path.string() + ": " + prefix + "data.pkl";
  return detail::unpickle_weights(pickle, loader, where, limits);
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
  zip.close(options.durable, options.progress);
}

}  // namespace wick::io
