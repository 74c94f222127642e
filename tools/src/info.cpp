#include <map>
#include <ostream>

#include "commands.h"
#include "errors.h"
#include "table.h"
#include "tree.h"
#include "wick/io/reader.h"

namespace wick::cli {

namespace {
// A file holding a single tensor names it by the empty path.
std::string shown(const std::string& path) {
  return path.empty() ? "(root)" : path;
}

Json info_json(const std::string& file, const io::FileInfo& fi, const Dict& metadata,
               const std::vector<io::EntryInfo>& entries) {
  Json j;
  j["file"] = file;
  j["format_version"] = std::to_string(fi.major) + "." + std::to_string(fi.minor);
  j["producer"] = fi.producer;
  j["file_size"] = fi.file_size;
  j["metadata"] = Json::object();
  for (const auto& [key, value] : metadata)
    j["metadata"][key] = to_json(value);
  j["entries"] = Json::array();
  for (const auto& e : entries) {
    j["entries"].push_back({{"path", e.path},
                            {"tensor_id", e.id},
                            {"dtype", std::string(dtype_name(e.dtype))},
                            {"shape", e.shape},
                            {"bytes", e.nbytes},
                            {"offset", e.offset},
                            {"checksum", hex64(e.checksum)}});
  }
  j["totals"] = {{"entries", entries.size()},
                 {"tensors", fi.tensor_count},
                 {"payload_bytes", fi.payload_bytes}};
  return j;
}
}  // namespace

int run_info(const std::string& file, bool json, std::ostream& out) {
  return on_file(file, [&] {
    const io::Reader reader(file);
    const io::FileInfo& fi = reader.info();
    const std::vector<io::EntryInfo> entries = reader.entries();
    if (json) {
      out << dump(info_json(file, fi, reader.metadata(), entries)) << '\n';
      return kOk;
    }
    out << "file:      " << file << '\n'
        << "format:    " << fi.major << '.' << fi.minor << '\n'
        << "producer:  " << fi.producer << '\n'
        << "size:      " << fi.file_size << " bytes (" << human_bytes(fi.file_size) << ")\n"
        << "metadata:" << (reader.metadata().empty() ? "  (none)" : "") << '\n';
    for (const auto& [key, value] : reader.metadata())
      out << "  " << key << ": " << repr(value) << '\n';
    out << "entries:" << (entries.empty() ? "   (none)" : "") << '\n';
    if (!entries.empty()) {
      // Tied weights: one tensor under several paths, stored once.
      std::map<uint32_t, std::string> first_path;
      Table table({"path", "dtype", "shape", "bytes", "checksum", ""},
                  {false, false, false, true, false, false});
      for (const auto& e : entries) {
        auto [it, first] = first_path.emplace(e.id, e.path);
        table.add({shown(e.path), std::string(dtype_name(e.dtype)), shape_str(e.shape),
                   std::to_string(e.nbytes), hex64(e.checksum),
                   first ? "" : "same tensor as " + shown(it->second)});
      }
      table.print(out, "  ");
    }
    out << "total:     " << entries.size() << (entries.size() == 1 ? " entry, " : " entries, ")
        << fi.tensor_count << (fi.tensor_count == 1 ? " tensor, " : " tensors, ")
        << fi.payload_bytes << " payload bytes (" << human_bytes(fi.payload_bytes) << ")\n";
    return kOk;
  });
}

}  // namespace wick::cli
