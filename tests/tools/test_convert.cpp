// `wick convert`: between wick, PyTorch, safetensors and NumPy files, by extension or --to.
#include <gtest/gtest.h>

#include "cli_testing.h"
#include "wick/io/formats.h"

namespace wick {
namespace {

using testing::run_wick;

TEST(Convert, RoundTripsThroughEveryFormatByExtension) {
  const testing::TempDir dir;
  const Dict state{{"hidden.weight", arange(0, 6, 1, kFloat32).view({2, 3})},
                   {"hidden.bias", tensor({0.5, -0.5})}};
  const auto src = (dir / "model.wick").string();
  save(state, src);
  for (const char* ext : {".pt", ".safetensors", ".npz"}) {
    const auto mid = (dir / (std::string("model") + ext)).string();
    const auto back = (dir / (std::string("back") + ext + ".wick")).string();
    auto r = run_wick({"convert", src, mid});
    ASSERT_EQ(r.code, 0) << ext << ": " << r.err;
    EXPECT_NE(r.out.find("converted " + src + " (wick) to " + mid), std::string::npos) << r.out;
    r = run_wick({"convert", mid, back});
    ASSERT_EQ(r.code, 0) << ext << ": " << r.err;
    EXPECT_EQ(load(back), Value(state)) << ext;
  }
}

TEST(Convert, ToFlagOverridesTheExtension) {
  const testing::TempDir dir;
  const auto src = (dir / "x.wick").string();
  save(arange(5), src);
  const auto out = (dir / "x.bin").string();
  const auto r = run_wick({"convert", src, out, "--to", "npy"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(io::detect_format(out), io::FileFormat::Npy);
  EXPECT_TRUE(bitwise_equal(load(out).tensor(), arange(5)));
}

TEST(Convert, ErrorsHaveTheirExitCodes) {
  const testing::TempDir dir;
  const auto src = (dir / "x.wick").string();
  save(arange(5), src);
  auto r = run_wick({"convert", src, (dir / "x.unknown").string()});
  EXPECT_EQ(r.code, 2) << r.err;
  r = run_wick({"convert", src, (dir / "y.wick").string(), "--to", "hdf5"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown format 'hdf5'"), std::string::npos) << r.err;
  r = run_wick({"convert", (dir / "missing.wick").string(), (dir / "z.wick").string()});
  EXPECT_EQ(r.code, 3) << r.err;
  // OUT in a directory that does not exist: a write failure, named as such, not a read one.
  const auto nowhere = (dir / "no-such-dir" / "z.wick").string();
  r = run_wick({"convert", src, nowhere});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_EQ(r.err.rfind("wick: cannot write " + nowhere, 0), 0u) << r.err;
  r = run_wick({"convert", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--to"), std::string::npos);
}

}  // namespace
}  // namespace wick
