// Golden files: the compatibility contract of the format. tutorial_list, all_types and tied
// were written by wick 0.1.0 (format 1.0), checkpoint_2_0 by the first writer of format 2.0,
// views_2_1 by the first writer of format 2.1.
// Every later version must load them to the same values, and the writer must still produce the
// same bytes (the producer string in the header aside).
// To add a golden file, add a case below and run the test once with WICK_UPDATE_GOLDEN=1.
#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>

#include "io_testing.h"
#include "wick/wick.h"

namespace wick {
namespace {

struct Golden {
  const char* file;
  Value value;
  SaveOptions options;
  int major = 1;  // the format version save() writes for the value
  int minor = 0;
};

// Format 2.1: tensors sharing storages. PyTorch's numbers/evens, a transpose, a row and a 0-d
// element of a matrix (its record), two slices of a buffer whose record is only the run they
// reach, an expanded view (a copy), a view in a tuple, one view under two paths.
Value views_value() {
  const Tensor numbers = arange(0, 10, 1, kInt64);
  const Tensor evens = numbers.slice(0, 0, 10, 2);
  const Tensor m = arange(0, 12, 1, kFloat32).view({3, 4});
  const Tensor big = arange(0, 100, 1, kFloat64);
  return Dict{{"numbers", numbers},
              {"evens", evens},
              {"m", m},
              {"m_t", m.t()},
              {"row", m[1]},
              {"corner", m[2][3]},
              {"a", big.slice(0, 10, 20)},
              {"b", big.slice(0, 30, 40, 5)},
              {"expanded", m[0].unsqueeze(0).expand({2, 4})},
              {"tuple", Tuple{numbers.slice(0, 1, 10, 3), 7}},
              {"evens_again", evens}};
}

std::vector<Golden> goldens() {
  std::vector<Golden> out;
  // The tutorial's torch.save([x, y], 'x-file').
  out.push_back({"tutorial_list.wick", Value{arange(4), zeros({4})}, {}});
  // Every dtype, 0-d, empty and non-contiguous tensors, nested containers and every scalar.
  Dict all;
  for (int code = 0; code < kNumDTypes; ++code) {
    const DType d = *dtype_from_code(static_cast<uint8_t>(code));
    all.insert(std::string(dtype_name(d)), (arange(-3, 3, 1, kFloat64) * 1.25).to(d).view({2, 3}));
  }
  all.insert("zero_d", scalar_tensor(42, kInt32));
  all.insert("empty", zeros({0, 3}, kFloat16));
  all.insert("transposed", arange(0, 6, 1, kFloat32).view({2, 3}).t());
  all.insert("nested", List{1, -2.5, "text", true, false, nullptr, List{}, Dict{{"k", List{7}}}});
  SaveOptions meta;
  meta.metadata =
      Dict{{"epoch", 3}, {"lr", 0.001}, {"name", "golden"}, {"ok", true}, {"none", nullptr}};
  out.push_back({"all_types.wick", all, meta});
  // Tied weights: one payload, two references.
  const Tensor w = arange(0, 12, 1, kFloat32).view({3, 4});
  out.push_back({"tied.wick", Dict{{"encoder.weight", w}, {"decoder.weight", w}}, {}});
  // Format 2.0: a torch.save-style checkpoint, optimizer state keyed by parameter index, Adam's
  // betas a tuple, tuples of every length, int keys beside a string key of digits.
  const Tensor fc = arange(0, 6, 1, kFloat32).view({3, 2});
  const Tensor bias = arange(-1, 2, 1, kFloat32);
  Dict state;
  state.insert(0, Dict{{"step", scalar_tensor(4, kFloat32)}, {"exp_avg", fc * 0.5}});
  state.insert(1, Dict{{"step", scalar_tensor(4, kFloat32)}, {"exp_avg", bias * 0.25}});
  const Value group =
      Dict{{"lr", 0.001},       {"betas", Tuple{0.9, 0.999}}, {"eps", 1e-08},
           {"weight_decay", 0}, {"amsgrad", false},           {"params", List{0, 1}}};
  const Value checkpoint =
      Dict{{"model_state_dict", Dict{{"fc.weight", fc}, {"fc.bias", bias}}},
           {"optimizer_state_dict", Dict{{"state", state}, {"param_groups", List{group}}}},
           {"epoch", 5},
           {"tuples", List{Tuple{}, Tuple{fc}, Tuple{1, "a", Tuple{nullptr}}}},
           {"keys", Dict{{"07", "str"}, {7, "int"}, {-(int64_t{1} << 40), Dict{}}}}};
  out.push_back({"checkpoint_2_0.wick", checkpoint, {}, 2});
  out.push_back({"views_2_1.wick", views_value(), {}, 2, 1});
  return out;
}

std::filesystem::path data_dir() {
  return WICK_TEST_DATA_DIR;
}

TEST(Golden, FilesLoadToTheSameValues) {
  for (const Golden& g : goldens()) {
    const auto path = data_dir() / g.file;
    if (std::getenv("WICK_UPDATE_GOLDEN") != nullptr) save(g.value, path, g.options);
    ASSERT_TRUE(std::filesystem::exists(path)) << path;
    for (bool mmap : {false, true}) {
      LoadOptions lo;
      lo.mmap = mmap;
      EXPECT_EQ(load(path, lo), g.value) << g.file;
    }
    io::Reader r(path);
    EXPECT_EQ(Value(r.metadata()), Value(g.options.metadata)) << g.file;
    EXPECT_EQ(r.info().major, g.major) << g.file;
    EXPECT_EQ(r.info().minor, g.minor) << g.file;
  }
}

TEST(Golden, WriterReproducesTheBytes) {
  for (const Golden& g : goldens()) {
    const auto golden = testing::read_bytes(data_dir() / g.file);
    std::ostringstream out;
    save(g.value, out, g.options);
    const std::string now = out.str();
    ASSERT_EQ(now.size(), golden.size()) << g.file;
    // Bytes 24..63 hold the producer ("wick X.Y.Z") and the header checksum over it.
    EXPECT_EQ(now.substr(0, 24), std::string(golden.data(), 24)) << g.file;
    EXPECT_EQ(now.substr(64), std::string(golden.data() + 64, golden.size() - 64)) << g.file;
  }
}

TEST(Golden, TiedFileSharesOneTensor) {
  const Value v = load(data_dir() / "tied.wick");
  EXPECT_TRUE(v["encoder.weight"].tensor().is_same(v["decoder.weight"].tensor()));
  EXPECT_EQ(io::Reader(data_dir() / "tied.wick").info().tensor_count, 1u);
}

TEST(Golden, ViewsFileSharesItsStorages) {
  for (const bool mmap : {false, true}) {
    const Value v = load(data_dir() / "views_2_1.wick", testing::read_options(true, mmap));
    const Tensor& numbers = v["numbers"].tensor();
    EXPECT_TRUE(v["evens"].tensor().shares_storage(numbers));
    EXPECT_TRUE(v["tuple"][0].tensor().shares_storage(numbers));
    EXPECT_TRUE(v["evens_again"].tensor().is_same(v["evens"].tensor()));
    for (const char* k : {"m_t", "row", "corner"})
      EXPECT_TRUE(v[k].tensor().shares_storage(v["m"].tensor())) << k;
    EXPECT_TRUE(v["a"].tensor().shares_storage(v["b"].tensor()));
    EXPECT_FALSE(v["expanded"].tensor().shares_storage(v["m"].tensor()));
  }
  const io::Reader r(data_dir() / "views_2_1.wick");
  EXPECT_EQ(r.info().view_count, 7u);    // evens, m_t, row, corner, a, b, tuple's
  EXPECT_EQ(r.info().tensor_count, 4u);  // numbers, m, big's run, expanded
}

}  // namespace
}  // namespace wick
