// Every subcommand on every format wick::load reads, written by real torch and NumPy: which
// format was read, every leaf listed, and the library's own refusals with the right exit code.

#include <gtest/gtest.h>

#include <string>

#include "io/interop_testing.h"
#include "tools/cli_testing.h"

namespace wick::testing {
namespace {

// The fixtures are made once for the suite: importing torch costs seconds.
class CliFormats : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    made_ =
        new ScriptResult(run_python("tests/tools/make_cli_fixtures.py", {dir_->path().string()}));
  }
  static void TearDownTestSuite() {
    delete made_;
    delete dir_;
  }
  void SetUp() override { WICK_EXPECT_SCRIPT_OK(*made_); }
  // A fresh copy of fixture `name`, so a test that damages or writes files disturbs no other.
  std::string at(const std::string& name) const {
    const std::filesystem::path copy = own_ / name;
    if (std::filesystem::exists(*dir_ / name))
      std::filesystem::copy_file(*dir_ / name, copy, std::filesystem::copy_options::skip_existing);
    return copy.string();
  }
  TempDir own_;
  static inline TempDir* dir_ = nullptr;
  static inline ScriptResult* made_ = nullptr;
};

TEST_F(CliFormats, InfoNamesTheFormatAndListsEveryLeaf) {
  const CliRun r = run_wick({"info", at("ckpt.pt")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("format:    PyTorch zip (torch.save)"), std::string::npos) << r.out;
  for (const char* leaf : {"/model/hidden.weight", "/model/hidden.bias", "/epoch", "/meta/name",
                           "/history/0", "/history/1", "'demo'", "None"}) {
    EXPECT_NE(r.out.find(leaf), std::string::npos) << leaf << " in\n" << r.out;
  }
  const CliRun npy = run_wick({"info", at("a.npy")});
  ASSERT_EQ(npy.code, 0) << npy.err;
  EXPECT_NE(npy.out.find("NumPy .npy"), std::string::npos) << npy.out;
  EXPECT_NE(npy.out.find("[3, 4]"), std::string::npos) << npy.out;
  const CliRun npz = run_wick({"info", "--json", at("arrs.npz")});
  ASSERT_EQ(npz.code, 0) << npz.err;
  EXPECT_NE(npz.out.find("\"format\": \"npz\""), std::string::npos) << npz.out;
  const CliRun st = run_wick({"info", at("model.safetensors")});
  ASSERT_EQ(st.code, 0) << st.err;
  EXPECT_NE(st.out.find("source: 'test'"), std::string::npos) << st.out;
}

TEST_F(CliFormats, WickInfoListsScalarsToo) {
  const std::string out = at("ckpt.wick");
  ASSERT_EQ(run_wick({"convert", at("ckpt.pt"), out}).code, 0);
  const CliRun r = run_wick({"info", out});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* leaf : {"/epoch", "/meta/name", "'demo'", "/history/1", "2 tensors"}) {
    EXPECT_NE(r.out.find(leaf), std::string::npos) << leaf << " in\n" << r.out;
  }
}

TEST_F(CliFormats, CatDiffVerifyConvertOnEveryFormat) {
  const CliRun cat = run_wick({"cat", at("ckpt.pt"), "/meta/name"});
  EXPECT_EQ(cat.code, 0) << cat.err;
  EXPECT_EQ(cat.out, "'demo'\n");
  const CliRun t = run_wick({"cat", at("a.npy")});
  EXPECT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.out.find("[ 8,  9, 10, 11]"), std::string::npos) << t.out;
  EXPECT_EQ(run_wick({"cat", at("ckpt.pt"), "/nope"}).code, 2);
  const std::string copy = at("copy.wick");
  ASSERT_EQ(run_wick({"convert", at("ckpt.pt"), copy}).code, 0);
  const CliRun same = run_wick({"diff", at("ckpt.pt"), copy});
  EXPECT_EQ(same.code, 0) << same.out << same.err;
  EXPECT_NE(same.out.find("(PyTorch zip (torch.save))"), std::string::npos) << same.out;
  EXPECT_EQ(run_wick({"diff", at("a.npy"), at("arrs.npz")}).code, 1);
  for (const char* name : {"ckpt.pt", "arrs.npz"}) {
    const CliRun v = run_wick({"verify", at(name)});
    EXPECT_EQ(v.code, 0) << v.out << v.err;
    EXPECT_NE(v.out.find("CRC-32"), std::string::npos) << v.out;
  }
  for (const char* name : {"a.npy", "model.safetensors"}) {
    const CliRun v = run_wick({"verify", at(name)});
    EXPECT_EQ(v.code, 0) << v.out << v.err;
    EXPECT_NE(v.out.find("no checksums"), std::string::npos) << v.out;
  }
}

TEST_F(CliFormats, CorruptForeignFilesAreCorruptWithTheLibrarysWords) {
  // A flipped payload byte: the zip's CRC-32 of that member no longer matches.
  const std::string pt = at("ckpt.pt");
  const std::vector<char> bytes = read_bytes(pt);
  const std::string text(bytes.begin(), bytes.end());
  // hidden.weight is arange(6) in float32: 1.0f then 2.0f, little-endian.
  const std::size_t data = text.find(std::string("\x00\x00\x80\x3f\x00\x00\x00\x40", 8));
  ASSERT_NE(data, std::string::npos);
  flip_byte(pt, data + 3);
  const CliRun v = run_wick({"verify", pt});
  EXPECT_EQ(v.code, 5) << v.out << v.err;
  EXPECT_NE(v.out.find("corrupt (PyTorch zip (torch.save))"), std::string::npos) << v.out;
  const CliRun obj = run_wick({"cat", at("obj.npy")});
  EXPECT_EQ(obj.code, 5) << obj.err;
  EXPECT_NE(obj.err.find("(NumPy .npy) is corrupt or refused"), std::string::npos) << obj.err;
  EXPECT_EQ(obj.err.find("is not a"), std::string::npos) << obj.err;
}

TEST_F(CliFormats, VerifyChecksTheZipMembersALoadDoesNotRead) {
  // A member no tensor comes from (torch's `version`), its CRC-32 changed: a load never reads
  // it, verify still checks it.
  const std::string pt2 = at("ckpt.pt");
  std::vector<char> raw = read_bytes(pt2);
  const std::string all(raw.begin(), raw.end());
  const std::size_t name = all.rfind("/version");  // the central directory's copy
  ASSERT_NE(name, std::string::npos);
  const std::size_t entry = all.rfind("PK\x01\x02", name);
  ASSERT_NE(entry, std::string::npos);
  raw[entry + 16] = static_cast<char>(raw[entry + 16] ^ 0xff);  // its CRC-32 (APPNOTE 4.3.12)
  write_bytes(pt2, raw);
  EXPECT_EQ(run_wick({"info", pt2}).code, 0);
  const CliRun member = run_wick({"verify", pt2});
  EXPECT_EQ(member.code, 5) << member.out << member.err;
  EXPECT_NE(member.out.find("/version'"), std::string::npos) << member.out;
}

TEST(CliMalicious, ThePickleRefusalNamesTheGlobal) {
  TempDir dir;
  WICK_EXPECT_SCRIPT_OK(run_script("make_fixtures.py", {"malicious", dir.path().string()}));
  const std::string evil = (dir / "evil_system.pt").string();
  for (const std::vector<std::string>& args : {std::vector<std::string>{"info", evil},
                                               {"cat", evil},
                                               {"verify", evil},
                                               {"diff", evil, evil},
                                               {"convert", evil, (dir / "out.wick").string()}}) {
    const CliRun r = run_wick(args);
    EXPECT_EQ(r.code, 5) << args[0];
    const std::string said = r.out + r.err;
    EXPECT_NE(said.find("unsupported global 'posix.system'"), std::string::npos) << said;
    EXPECT_NE(said.find("nothing was executed"), std::string::npos) << said;
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "PWNED"));
  EXPECT_FALSE(std::filesystem::exists(dir / "out.wick"));
}

}  // namespace
}  // namespace wick::testing

namespace wick::testing {
namespace {

// `-` and /dev/stdin: standard input is copied and read like a file, in every format, and
// reports name it <stdin>, never the temporary copy.
TEST(CliStdin, DashReadsStandardInputInEveryFormat) {
  TempDir dir;
  const std::string file = (dir / "ckpt.wick").string();
  save_sample(file);
  const CliRun cat = run_wick({"cat", "-", "/model/hidden/bias"}, kCliTimeout, file);
  EXPECT_EQ(cat.code, 0) << cat.err;
  EXPECT_EQ(cat.out, "tensor([ 0.5000, -0.5000])\n");
  for (const char* name : {"/dev/fd/0", "/proc/self/fd/0"}) {
    const CliRun r = run_wick({"info", name}, kCliTimeout, file);
    EXPECT_EQ(r.code, 0) << name << ": " << r.err;
    EXPECT_NE(r.out.find("file:      <stdin>\n"), std::string::npos) << r.out;
  }
  const CliRun info = run_wick({"info", "/dev/stdin"}, kCliTimeout, file);
  EXPECT_EQ(info.code, 0) << info.err;
  EXPECT_NE(info.out.find("file:      <stdin>\n"), std::string::npos) << info.out;
  EXPECT_EQ(info.out.find("wick-stdin-"), std::string::npos) << info.out;
  const CliRun diff = run_wick({"diff", file, "-"}, kCliTimeout, file);
  EXPECT_EQ(diff.code, 0) << diff.out << diff.err;
  const CliRun verify = run_wick({"verify", "-"}, kCliTimeout, file);
  EXPECT_EQ(verify.code, 0) << verify.out;
  EXPECT_EQ(verify.out.rfind("<stdin>: OK", 0), 0u) << verify.out;
  const std::string npy = (dir / "a.npy").string();
  io::save_npy(arange(0, 4, 1, kInt64), npy);
  const CliRun n = run_wick({"info", "-"}, kCliTimeout, npy);
  EXPECT_EQ(n.code, 0) << n.err;
  EXPECT_NE(n.out.find("NumPy .npy"), std::string::npos) << n.out;
  const std::string out = (dir / "out.npy").string();
  const CliRun no_npy = run_wick({"convert", "-", out}, kCliTimeout, file);  // a dict is no .npy
  EXPECT_EQ(no_npy.code, 2);
  EXPECT_NE(no_npy.err.find("cannot write " + out + " as npy: "), std::string::npos) << no_npy.err;
  EXPECT_EQ(run_wick({"diff", "-", "-"}, kCliTimeout, file).code, 2);  // read once only
}

TEST(CliStdin, EmptyInputDirectoryAndDevicesHaveClearMessages) {
  TempDir dir;
  for (const char* sub : {"info", "cat", "verify"}) {
    const CliRun r = run_wick({sub, "-"});  // stdin is /dev/null
    EXPECT_EQ(r.code, 4) << sub;
    const std::string said = r.out + r.err;
    EXPECT_NE(said.find("<stdin>"), std::string::npos) << said;
    EXPECT_NE(said.find("empty"), std::string::npos) << said;
    EXPECT_EQ(said.find("Success"), std::string::npos) << said;
  }
  for (const std::string& named : {std::string("/dev/null"), dir.path().string()}) {
    const CliRun r = run_wick({"info", named});
    EXPECT_EQ(r.code, 3) << named;
    EXPECT_NE(r.err.find("not a regular file"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("Success"), std::string::npos) << r.err;
  }
  // stdin a directory: refused, and its temporary copy removed all the same.
  const TempDir tmp;
  const CliRun d =
      run_wick({"cat", "-"}, kCliTimeout, dir.path().string(), {"TMPDIR=" + tmp.path().string()});
  EXPECT_EQ(d.code, 3) << d.err;
  EXPECT_NE(d.err.find("cannot read standard input"), std::string::npos) << d.err;
  EXPECT_TRUE(std::filesystem::is_empty(tmp.path())) << "a temporary copy was left behind";
}

// No temporary directory to copy standard input to: a clear error, exit 3, not a crash.
TEST(CliStdin, NoTemporaryDirectoryIsAClearError) {
  TempDir dir;
  const std::string file = (dir / "ckpt.wick").string();
  save_sample(file);
  const CliRun r = run_wick({"cat", "-"}, kCliTimeout, file, {"TMPDIR=" + file + "/missing"});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("no temporary directory"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("TMPDIR"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace wick::testing
