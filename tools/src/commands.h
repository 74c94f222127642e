#pragma once
// The subcommands. Each writes its report to `out` and returns an ExitCode; file problems are
// thrown as Failure (see errors.h) unless the command reports them itself (verify).

#include <cstddef>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "progress.h"
#include "wick/core/print.h"

namespace wick::cli {

/// `wick info FILE`: version, producer, metadata and the table of entries, from the index only;
/// for a sharded checkpoint directory, its index's facts and its tensors' pieces.
int run_info(const std::string& file, bool json, std::ostream& out);

/// `wick verify FILE...`: every checksum and structural rule of each file, or of each sharded
/// checkpoint directory's index, shards and pieces.
int run_verify(const std::vector<std::string>& files, bool json, ProgressMode progress,
               std::ostream& out, std::ostream& err);

/// `wick cat FILE [PATH]`: the whole tree, or the node at PATH (of a file or a sharded
/// checkpoint directory, whose tensors are then assembled from their pieces).
int run_cat(const std::string& file, const std::optional<std::string>& path,
            const PrintOptions& print, std::ostream& out);

/// Differences `wick diff` lists by default; the rest are counted.
inline constexpr std::size_t kDefaultDiffLimit = 1000;

/// `wick diff A B [PATH]`: entries only in one file, dtype and shape changes, max abs
/// differences, matched by the trees' structure; only below PATH when given. Lists at most
/// `limit` entries (0: all), differences first.
int run_diff(const std::string& a, const std::string& b, const std::optional<std::string>& path,
             bool json, std::size_t limit, std::ostream& out);

/// `wick convert IN OUT [--to FORMAT] [--only PATH]...`: any supported format (detected by
/// content) to another, chosen by --to or by OUT's extension; only the subtrees `only` names
/// (with their ancestors) when it is not empty. wick, safetensors and .npy inputs stream tensor
/// by tensor (memory near the largest tensor); the zip formats (PyTorch, .npz) are loaded
/// whole. Progress bars on `err` per `progress`.
int run_convert(const std::string& in, const std::string& out_path, const std::string& to,
                const std::vector<std::string>& only, ProgressMode progress, std::ostream& out,
                std::ostream& err);

/// The whole command line; returns the process exit code.
int run_cli(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace wick::cli
