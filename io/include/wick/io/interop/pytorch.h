#pragma once
/// \file
/// PyTorch checkpoints: the zip archives torch.save writes (`.pt`, `.pth`; PyTorch 1.6 and
/// later), read without running any of their code and written so that
/// `torch.load(path, weights_only=True)` opens them.

#include <filesystem>

#include "wick/core/value.h"
#include "wick/io/options.h"

namespace wick::io {

/// Loads a torch.save archive. Its pickle is read by a restricted unpickler that accepts only
/// what a weights-only load needs: tensors rebuilt by torch._utils._rebuild_tensor_v2 (or
/// _rebuild_tensor, _rebuild_parameter) from typed storages, OrderedDict, dict, list, tuple,
/// torch.Size, int, float, str, bool and None. Any other global (os.system, builtins.eval, an
/// unknown class) is refused with a FormatError naming it, before anything else happens; no
/// code named by the file ever runs.
///
/// Tuples and torch.Size become Tuples; dicts and OrderedDicts become Dicts, keyed by strings
/// and ints (an optimizer's `state` is keyed by parameter index; keys of other types are
/// refused, naming where they are; an OrderedDict's attributes such as a state_dict's
/// `_metadata` are dropped). Tensors sharing a PyTorch storage share one wick
/// Storage, with their offsets and strides. bool, uint8, int8, int16, int32, int64, float16,
/// bfloat16, float32 and float64 are supported; complex, quantized and sparse tensors are
/// refused. FormatError for anything malformed, IoError when the file cannot be read.
///
/// With `mmap`, tensors whose storage is a stored member aligned for its dtype (torch.save
/// writes them so) view a private, copy-on-write mapping of the archive instead of a copy,
/// kept alive as long as any of them is; each mapped member's CRC-32 is checked as when it is
/// read, and compressed or misaligned members are read.
Value load_pytorch(const std::filesystem::path& path, bool mmap = false);

/// Saves `value` the way torch.save does (zip archive, pickle protocol 2, one record per
/// storage, stored members aligned to 64 bytes). Dicts are written as dicts (int keys as ints),
/// lists as lists, tuples as tuples;
/// tensors viewing one storage with one dtype keep sharing it (only the elements they use are
/// written) and keep their strides, and the same view twice is one tensor object in Python.
/// Only `options.durable` applies: ArgumentError when `options.metadata` is not empty (the
/// format has no file metadata), for undefined tensors, nesting deeper than 512 and strings
/// that are not UTF-8. Note: torch 1.13's weights-only unpickler has no float opcode, so it
/// refuses values holding Python floats (tensors are fine); newer torch and plain torch.load
/// accept them.
void save_pytorch(const Value& value, const std::filesystem::path& path,
                  const SaveOptions& options = {});

}  // namespace wick::io
