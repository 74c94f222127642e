#pragma once
/// \file
/// save() and load(): a value tree to a wick file (io/FORMAT.md) and back.

#include <filesystem>
#include <iosfwd>

#include "wick/core/tensor_dict.h"
#include "wick/core/value.h"
#include "wick/io/options.h"

namespace wick {

/// Saves `value` to `path` atomically: the previous file at `path`, if any, stays intact until
/// the new one is complete, then is replaced in one rename (see SaveOptions::durable).
/// ArgumentError for values the format cannot hold (undefined tensors, nesting deeper than 512,
/// non-scalar metadata), IoError for operating-system failures.
void save(const Value& value, const std::filesystem::path& path, const SaveOptions& options = {});

/// Streams `value` to `out` (a pipe, a socket, a memory buffer). Never seeks.
void save(const Value& value, std::ostream& out, const SaveOptions& options = {});

/// save() for a dict of tensors (a state_dict): the same bytes as saving it as a Value, written
/// without building one.
void save(const TensorDict& tensors, const std::filesystem::path& path,
          const SaveOptions& options = {});
/// save() of a dict of tensors to a stream.
void save(const TensorDict& tensors, std::ostream& out, const SaveOptions& options = {});

/// Loads the value saved at `path`, verifying every checksum unless told otherwise.
/// FormatError names what is wrong and where; IoError for operating-system failures.
/// PyTorch checkpoints, safetensors, .npy and .npz files load too, recognised by their content
/// (wick/io/formats.h); `options` apply to wick files only.
Value load(const std::filesystem::path& path, const LoadOptions& options = {});

/// Loads a value from `in`, reading front to back and stopping right after the file's last
/// byte (more data may follow in the stream). LoadOptions::mmap is refused for streams.
Value load(std::istream& in, const LoadOptions& options = {});

}  // namespace wick
