// Telling formats apart by content, wick::load on every format, save_as and convert.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "interop_testing.h"
#include "io_testing.h"
#include "testing.h"
#include "wick/io/formats.h"
#include "wick/io/interop/numpy.h"
#include "wick/io/interop/pytorch.h"
#include "wick/io/interop/safetensors.h"
#include "wick/wick.h"

namespace wick {
namespace {

using namespace std::string_literals;
using io::FileFormat;
using testing::TempDir;

const Dict& sample() {
  static const Dict d{{"hidden.weight", testing::random_values({4, 3}, kFloat32, 5, -1, 1)},
                      {"hidden.bias", zeros({4})},
                      {"ids", arange(5)}};
  return d;
}

TEST(InteropFormats, NamesAndExtensions) {
  for (FileFormat f : {FileFormat::Wick, FileFormat::PyTorch, FileFormat::Safetensors,
                       FileFormat::Npy, FileFormat::Npz}) {
    EXPECT_EQ(io::format_from_name(io::format_name(f)), f);
  }
  EXPECT_EQ(io::format_from_name("torch"), std::nullopt);
  EXPECT_EQ(io::format_from_extension("a/model.pt"), FileFormat::PyTorch);
  EXPECT_EQ(io::format_from_extension("model.pth"), FileFormat::PyTorch);
  EXPECT_EQ(io::format_from_extension("m.safetensors"), FileFormat::Safetensors);
  EXPECT_EQ(io::format_from_extension("m.npy"), FileFormat::Npy);
  EXPECT_EQ(io::format_from_extension("m.npz"), FileFormat::Npz);
  EXPECT_EQ(io::format_from_extension("m.wick"), FileFormat::Wick);
  EXPECT_EQ(io::format_from_extension("mlp.params"), std::nullopt);
}

TEST(InteropFormats, LoadRecognisesEveryFormatByContentNotName) {
  TempDir dir;
  // Every file is named ".bin": only its bytes tell what it is.
  save(sample(), dir / "wick.bin");
  io::save_pytorch(sample(), dir / "pt.bin");
  io::save_safetensors(sample(), dir / "st.bin");
  io::save_npz(sample(), dir / "npz.bin");
  io::save_npy(sample().at("ids").tensor(), dir / "npy.bin");
  const std::vector<std::pair<std::string, FileFormat>> files{{"wick.bin", FileFormat::Wick},
                                                              {"pt.bin", FileFormat::PyTorch},
                                                              {"st.bin", FileFormat::Safetensors},
                                                              {"npz.bin", FileFormat::Npz},
                                                              {"npy.bin", FileFormat::Npy}};
  for (const auto& [name, format] : files) {
    SCOPED_TRACE(name);
    EXPECT_EQ(io::detect_format(dir / name), format);
    const Value v = load(dir / name);
    if (format == FileFormat::Npy) {
      EXPECT_EQ(v, sample().at("ids"));
    } else {
      EXPECT_EQ(v, Value(sample()));
    }
  }
  // LoadOptions are for wick files; other formats load the same way with them.
  LoadOptions o;
  o.mmap = true;
  EXPECT_EQ(load(dir / "pt.bin", o), Value(sample()));
}

TEST(InteropFormats, UnrecognisedAndBrokenFilesAreNamed) {
  TempDir dir;
  const auto put = [&](const std::string& name, const std::string& bytes) {
    testing::write_bytes(dir / name, {bytes.begin(), bytes.end()});
    return dir / name;
  };
  WICK_EXPECT_THROW_MSG(io::detect_format(put("text", "hello, world\n")), FormatError,
                        "unrecognised content (first bytes: 68 65 6c 6c 6f 2c 20 77)");
  WICK_EXPECT_THROW_MSG(io::detect_format(put("empty", "")), FormatError, "the file is empty");
  // wick::load explains such files as a wick reader would.
  WICK_EXPECT_THROW_MSG(load(dir / "text"), FormatError, "not a wick file");
  WICK_EXPECT_THROW_MSG(io::detect_format(dir / "missing"), IoError, "cannot open");

  const auto legacy = put("legacy.pt",
                          "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"
                          "\x2e\x80\x02"s);
  WICK_EXPECT_THROW_MSG(io::detect_format(legacy), FormatError, "legacy PyTorch file");
  WICK_EXPECT_THROW_MSG(load(legacy), FormatError, "save it again with a current torch.save");

  const auto odd_zip = put("odd.zip", testing::make_zip({{"a.npy", "x"}, {"b.txt", "y"}}));
  WICK_EXPECT_THROW_MSG(io::detect_format(odd_zip), FormatError,
                        "neither a torch.save checkpoint (no <dir>/data.pkl) nor an npz "
                        "(member 'b.txt' is not an .npy array)");
  const auto broken_zip = put("broken.zip", "PK\x03\x04"s + std::string(60, 'x'));
  WICK_EXPECT_THROW_MSG(load(broken_zip), FormatError, "is not a wick file");
  WICK_EXPECT_THROW_MSG(load(broken_zip), FormatError, "not a readable zip archive");
  // A file that starts like safetensors is read as safetensors, and refused as one.
  const auto fake_st = put("fake", "\x02\x00\x00\x00\x00\x00\x00\x00{x"s);
  EXPECT_EQ(io::detect_format(fake_st), FileFormat::Safetensors);
  WICK_EXPECT_THROW_MSG(load(fake_st), FormatError, "load_safetensors");
}

TEST(InteropFormats, SaveAsFlattensForFormatsThatHoldOnlyTensors) {
  TempDir dir;
  const Value nested =
      Dict{{"model", Dict{{"w", ones({2})}, {"layers", List{zeros({1})}}}}, {"b", full({}, 3.0)}};
  const Dict flat{{"model.w", ones({2})}, {"model.layers.0", zeros({1})}, {"b", full({}, 3.0)}};
  io::save_as(nested, dir / "n.safetensors", FileFormat::Safetensors);
  EXPECT_EQ(load(dir / "n.safetensors"), Value(flat));
  io::save_as(nested, dir / "n.npz", FileFormat::Npz);
  EXPECT_EQ(load(dir / "n.npz"), Value(flat));
  io::save_as(nested, dir / "n.pt", FileFormat::PyTorch);
  EXPECT_EQ(load(dir / "n.pt"), nested);
  io::save_as(ones({3}), dir / "lone.npz", FileFormat::Npz);
  EXPECT_EQ(load(dir / "lone.npz"), Value(Dict{{"arr_0", ones({3})}}));

  WICK_EXPECT_THROW_MSG(
      io::save_as(Dict{{"a", Dict{{"epoch", 1}}}}, dir / "x.safetensors", FileFormat::Safetensors),
      ArgumentError, "'a.epoch' is a int; the format holds only tensors");
  WICK_EXPECT_THROW_MSG(io::save_as(Dict{{"a.b", ones({1})}, {"a", Dict{{"b", ones({1})}}}},
                                    dir / "x.npz", FileFormat::Npz),
                        ArgumentError, "gives the key 'a.b' twice");
  WICK_EXPECT_THROW_MSG(io::save_as(sample(), dir / "x.npy", FileFormat::Npy), ArgumentError,
                        "an .npy file holds one tensor, got a dict");
  WICK_EXPECT_THROW_MSG(io::save_as(Value(3), dir / "x.npz", FileFormat::Npz), ArgumentError,
                        "expected tensors, got a int");
}

// Every writer reports progress: rising, and ending at its total.
TEST(InteropFormats, EveryWriterReportsProgressToItsEnd) {
  TempDir dir;
  const Tensor big = arange(0, 3 << 20, 1, kFloat32);  // 12 MiB: more than one report
  for (const FileFormat f : {FileFormat::Wick, FileFormat::PyTorch, FileFormat::Safetensors,
                             FileFormat::Npy, FileFormat::Npz}) {
    SCOPED_TRACE(std::string(io::format_name(f)));
    std::vector<std::pair<uint64_t, uint64_t>> calls;
    SaveOptions options;
    options.durable = false;
    options.progress = [&](uint64_t done, uint64_t total) { calls.emplace_back(done, total); };
    io::save_as(big, dir / ("p." + std::string(io::format_name(f))), f, options);
    ASSERT_GE(calls.size(), 2u);
    for (std::size_t i = 1; i < calls.size(); ++i)
      EXPECT_LE(calls[i - 1].first, calls[i].first);
    EXPECT_EQ(calls.back().first, calls.back().second);
    EXPECT_GE(calls.back().second, big.nbytes());
  }
}

TEST(InteropFormats, ConvertCarriesValuesAndMetadataAcrossFormats) {
  TempDir dir;
  SaveOptions o;
  o.metadata = Dict{{"epoch", 3}, {"arch", "mlp"}};
  save(sample(), dir / "a.wick", o);
  io::convert(dir / "a.wick", dir / "b.safetensors");
  Dict st_meta;
  EXPECT_EQ(io::load_safetensors(dir / "b.safetensors", &st_meta), Value(sample()));
  EXPECT_EQ(Value(st_meta), Value(Dict{{"epoch", "3"}, {"arch", "mlp"}}));
  io::convert(dir / "b.safetensors", dir / "c.wick");
  EXPECT_EQ(Value(io::Reader(dir / "c.wick").metadata()), Value(st_meta));
  io::convert(dir / "c.wick", dir / "d.pt");
  io::convert(dir / "d.pt", dir / "e.npz");
  io::convert(dir / "e.npz", dir / "f", FileFormat::Wick);
  EXPECT_EQ(load(dir / "f"), Value(sample()));
  io::convert(dir / "f", dir / "f", FileFormat::Wick);  // in place: read, then replaced
  EXPECT_EQ(load(dir / "f"), Value(sample()));
  io::convert(dir / "e.npz", dir / "g.safetensors", FileFormat::Npz);  // the format wins
  EXPECT_EQ(io::detect_format(dir / "g.safetensors"), FileFormat::Npz);

  WICK_EXPECT_THROW_MSG(io::convert(dir / "f", dir / "g.npy"), ArgumentError,
                        "an .npy file holds one tensor, got a dict");

  WICK_EXPECT_THROW_MSG(io::convert(dir / "f", dir / "h.bin"), ArgumentError,
                        "cannot tell the output format");
}

}  // namespace
}  // namespace wick
