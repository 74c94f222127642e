#pragma once
// Private: the front-to-back parser shared by load(istream), load(path), mmap loads with
// verification, and Reader::verify().

#include <vector>

#include "common/file.h"
#include "native/format.h"
#include "wick/core/value.h"
#include "wick/io/options.h"

namespace wick::io::detail {

struct ParseOptions {
  bool verify = true;
  /// False: payloads are hashed and discarded (verification without loading).
  bool keep_payloads = true;
  ProgressFn progress;
  /// The file read, named in errors; empty for streams.
  std::string name;
};

struct Parsed {
  FileHeader header;
  Index index;
  std::vector<Tensor> tensors;  // by id; empty when payloads are not kept
  Value value;
};

/// Reads one whole file from `src`, stopping right after its trailer.
Parsed parse_stream(Source& src, const ParseOptions& options);

/// Throws FormatError unless every byte of a bool payload is 0 or 1; `p` holds the elements
/// from `first_element` on (a chunk of a longer payload).
void check_bool_payload(const std::byte* p, std::size_t n, uint64_t file_offset,
                        const std::string& name, uint64_t first_element = 0);

/// The error for a payload whose hash differs from the index.
[[noreturn]] void payload_checksum_error(const std::string& name, uint64_t record_offset,
                                         uint64_t expected, uint64_t actual);

}  // namespace wick::io::detail
