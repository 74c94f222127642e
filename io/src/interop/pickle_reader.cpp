// The restricted unpickler: a stack machine over a closed set of object kinds. Objects live in
// an arena and are referred to by index, so memo references and self-referencing containers
// need no reference counting; the conversion to a Value at STOP bounds depth and size.
//
// Memory is bounded by the pickle's bytes in its file, whatever it repeats: every object the
// arena holds and, before the Value tree is built, the whole tree (each string, key, container
// and tensor counted again wherever memo references repeat it) are charged against one budget
// (PickleLimits::max_bytes). Storages are read only after all of that has passed, so a file
// refused for its pickle never costs the memory of its tensors.

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <sstream>
#include <unordered_map>

#include "common/tensor_bytes.h"
#include "interop/pickle.h"
#include "wick/core/error.h"

namespace wick::io::detail {
namespace {

enum class Kind : uint8_t {
  None,
  Bool,
  Int,
  Float,
  Str,
  Tuple,
  List,
  Dict,
  Tensor,
  Storage,
  Global
};

const char* kind_label(Kind k) {
  switch (k) {
    case Kind::None:
      return "None";
    case Kind::Bool:
      return "bool";
    case Kind::Int:
      return "int";
    case Kind::Float:
      return "float";
    case Kind::Str:
      return "str";
    case Kind::Tuple:
      return "tuple";
    case Kind::List:
      return "list";
    case Kind::Dict:
      return "dict";
    case Kind::Tensor:
      return "tensor";
    case Kind::Storage:
      return "storage";
    case Kind::Global:
      return "global";
  }
  return "?";
}

// The callables and types a weights-only pickle may name.
enum class Fn : uint8_t {
  OrderedDict,
  RebuildTensorV2,
  RebuildTensor,
  RebuildParameter,
  RebuildParameterWithState,
  TorchSize,
  StorageType,
};

struct GlobalDef {
  std::string_view name;
  Fn fn;
  DType dtype = kFloat32;
};

constexpr GlobalDef kGlobals[] = {
    {"collections.OrderedDict", Fn::OrderedDict},
    {"torch._utils._rebuild_tensor_v2", Fn::RebuildTensorV2},
    {"torch._utils._rebuild_tensor", Fn::RebuildTensor},
    {"torch._utils._rebuild_parameter", Fn::RebuildParameter},
    {"torch._utils._rebuild_parameter_with_state", Fn::RebuildParameterWithState},
    {"torch.Size", Fn::TorchSize},
    {"torch.BoolStorage", Fn::StorageType, kBool},
    {"torch.ByteStorage", Fn::StorageType, kUInt8},
    {"torch.CharStorage", Fn::StorageType, kInt8},
    {"torch.ShortStorage", Fn::StorageType, kInt16},
    {"torch.IntStorage", Fn::StorageType, kInt32},
    {"torch.LongStorage", Fn::StorageType, kInt64},
    {"torch.HalfStorage", Fn::StorageType, kFloat16},
    {"torch.BFloat16Storage", Fn::StorageType, kBFloat16},
    {"torch.FloatStorage", Fn::StorageType, kFloat32},
    {"torch.DoubleStorage", Fn::StorageType, kFloat64},
};

// Globals torch's own weights-only loader accepts but that have no wick equivalent.
struct Unsupported {
  std::string_view name;
  std::string_view why;
};

constexpr Unsupported kUnsupported[] = {
    {"torch.ComplexHalfStorage", "complex32 tensors: wick has no complex dtypes"},
    {"torch.ComplexFloatStorage", "complex64 tensors: wick has no complex dtypes"},
    {"torch.ComplexDoubleStorage", "complex128 tensors: wick has no complex dtypes"},
    {"torch.QInt8Storage", "quantized tensors are not supported"},
    {"torch.QUInt8Storage", "quantized tensors are not supported"},
    {"torch.QInt32Storage", "quantized tensors are not supported"},
    {"torch.QUInt4x2Storage", "quantized tensors are not supported"},
    {"torch.QUInt2x4Storage", "quantized tensors are not supported"},
    {"torch._utils._rebuild_qtensor", "quantized tensors are not supported"},
    {"torch._utils._rebuild_sparse_tensor", "sparse tensors are not supported"},
    {"torch._utils._rebuild_sparse_csr_tensor", "sparse tensors are not supported"},
    {"torch._utils._rebuild_meta_tensor_no_storage", "meta tensors hold no data"},
    {"torch.nn.parameter.Parameter", "parameters are read through _rebuild_parameter only"},
};

const char* opcode_name(uint8_t op) {
  switch (op) {
    case '(':
      return "MARK";
    case '.':
      return "STOP";
    case '0':
      return "POP";
    case '1':
      return "POP_MARK";
    case '2':
      return "DUP";
    case 'F':
      return "FLOAT";
    case 'I':
      return "INT";
    case 'J':
      return "BININT";
    case 'K':
      return "BININT1";
    case 'L':
      return "LONG";
    case 'M':
      return "BININT2";
    case 'N':
      return "NONE";
    case 'P':
      return "PERSID";
    case 'Q':
      return "BINPERSID";
    case 'R':
      return "REDUCE";
    case 'S':
      return "STRING";
    case 'T':
      return "BINSTRING";
    case 'U':
      return "SHORT_BINSTRING";
    case 'V':
      return "UNICODE";
    case 'X':
      return "BINUNICODE";
    case 'a':
      return "APPEND";
    case 'b':
      return "BUILD";
    case 'c':
      return "GLOBAL";
    case 'd':
      return "DICT";
    case '}':
      return "EMPTY_DICT";
    case 'e':
      return "APPENDS";
    case 'g':
      return "GET";
    case 'h':
      return "BINGET";
    case 'i':
      return "INST";
    case 'j':
      return "LONG_BINGET";
    case 'l':
      return "LIST";
    case ']':
      return "EMPTY_LIST";
    case 'o':
      return "OBJ";
    case 'p':
      return "PUT";
    case 'q':
      return "BINPUT";
    case 'r':
      return "LONG_BINPUT";
    case 's':
      return "SETITEM";
    case 't':
      return "TUPLE";
    case ')':
      return "EMPTY_TUPLE";
    case 'u':
      return "SETITEMS";
    case 'G':
      return "BINFLOAT";
    case 0x80:
      return "PROTO";
    case 0x81:
      return "NEWOBJ";
    case 0x82:
      return "EXT1";
    case 0x83:
      return "EXT2";
    case 0x84:
      return "EXT4";
    case 0x85:
      return "TUPLE1";
    case 0x86:
      return "TUPLE2";
    case 0x87:
      return "TUPLE3";
    case 0x88:
      return "NEWTRUE";
    case 0x89:
      return "NEWFALSE";
    case 0x8a:
      return "LONG1";
    case 0x8b:
      return "LONG4";
    case 'B':
      return "BINBYTES";
    case 'C':
      return "SHORT_BINBYTES";
    case 0x8c:
      return "SHORT_BINUNICODE";
    case 0x8d:
      return "BINUNICODE8";
    case 0x8e:
      return "BINBYTES8";
    case 0x8f:
      return "EMPTY_SET";
    case 0x90:
      return "ADDITEMS";
    case 0x91:
      return "FROZENSET";
    case 0x92:
      return "NEWOBJ_EX";
    case 0x93:
      return "STACK_GLOBAL";
    case 0x94:
      return "MEMOIZE";
    case 0x95:
      return "FRAME";
    case 0x96:
      return "BYTEARRAY8";
    case 0x97:
      return "NEXT_BUFFER";
    case 0x98:
      return "READONLY_BUFFER";
    default:
      return nullptr;
  }
}

struct Obj {
  Kind kind = Kind::None;
  uint8_t aux = 0;   // Fn of a Global; dtype code of a storage type
  uint32_t ref = 0;  // index into the arena of its kind (strings, containers, tensors, storages)
  int64_t i = 0;     // Int and Bool value
  double f = 0;      // Float value
};

struct LoadedStorage {
  std::shared_ptr<Storage> storage;  // a placeholder of the right size until bind_storages()
  DType dtype;
  int64_t numel;
};

// One step of the path to a node, for messages: item `k` of container `container` (for a dict,
// `k` indexes the value and k - 1 its key).
struct Step {
  uint32_t container;
  std::size_t k;
};

// What the Value tree costs per node, by how libstdc++ lays it out: each node is a Value (in its
// parent's vector, or a dict item beside its key, whose text the dict's index holds a second
// copy of); strings longer than the inline buffer, and shapes and strides, live on the heap.
constexpr std::size_t kInlineString = 15;
constexpr std::size_t kDictItemExtra = sizeof(Dict::Item) - sizeof(Value);
constexpr std::size_t kDictIndexEntry = sizeof(Key) + 4 * sizeof(void*);
constexpr std::size_t kStorageOverhead = 256;  // LoadedStorage, StorageRef, placeholder

std::size_t heap_bytes(std::size_t string_size) {
  return string_size > kInlineString ? string_size + 1 : 0;
}

constexpr uint32_t kNoMemo = std::numeric_limits<uint32_t>::max();

class Unpickler {
 public:
  Unpickler(std::string_view data, const StorageLoader& loader, const std::string& where,
            const PickleLimits& limits)
      : d_(data),
        loader_(loader),
        where_(where),
        limits_(limits),
        budget_(limits.max_bytes != 0 ? limits.max_bytes : pickle_budget(data.size())) {}

  Value run() {
    while (true) {
      op_pos_ = pos_;
      if (pos_ >= d_.size()) fail("the pickle ends without a STOP opcode");
      const auto op = static_cast<uint8_t>(d_[pos_++]);
      if (op == '.') break;
      step(op);
    }
    if (!marks_.empty()) fail(wick::detail::cat(marks_.size(), " MARK(s) still open at STOP"));
    if (stack_.size() != 1) {
      fail(wick::detail::cat("STOP with ", stack_.size(), " objects on the stack; expected 1"));
    }
    if (pos_ != d_.size()) {
      fail(wick::detail::cat(d_.size() - pos_, " unexpected bytes after STOP"));
    }
    // Count first: the tree may be far larger than the arena when memo references repeat
    // strings and containers, and building it would allocate all of that.
    charge(objs_.size() * (sizeof(std::size_t) + sizeof(int)));
    sizes_.assign(objs_.size(), 0);
    heights_.assign(objs_.size(), 0);
    std::vector<Step> path;
    const std::size_t limit = budget_ - held_;
    if (tree_bytes(stack_.back(), 0, limit, path) > limit) {
      fail_at(path, wick::detail::cat("the value tree would have more than ", limit,
                                      " bytes, what is left of the pickle's budget of ", budget_,
                                      " (memo references repeat strings and containers in full)"));
    }
    bind_storages();
    return to_value(stack_.back(), path);
  }

 private:
  [[noreturn]] void fail(const std::string& msg) const {
    throw FormatError(wick::detail::cat(where_, " byte ", op_pos_, ": ", msg));
  }

  // Counts `n` more bytes held by the arena against the budget.
  void charge(std::size_t n) {
    if (n > budget_ - held_) {
      fail(wick::detail::cat("the objects the pickle builds would take more than ", budget_,
                             " bytes, its budget"));
    }
    held_ += n;
  }

  // --- input -------------------------------------------------------------------------------
  const char* take(std::size_t n, const char* what) {
    if (n > d_.size() - pos_) {
      fail(wick::detail::cat(what, " needs ", n, " bytes, only ", d_.size() - pos_, " remain"));
    }
    const char* p = d_.data() + pos_;
    pos_ += n;
    return p;
  }
  template <class T>
  T read_le(const char* what) {
    return load_le<T>(take(sizeof(T), what));
  }
  std::string_view line(const char* what) {
    constexpr std::size_t kMaxLine = 256;
    const std::size_t end = d_.find('\n', pos_);
    if (end == std::string_view::npos || end - pos_ > kMaxLine) {
      fail(wick::detail::cat(what, ": missing newline within ", kMaxLine, " bytes"));
    }
    const std::string_view s = d_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }

  // --- objects and the stack ---------------------------------------------------------------
  uint32_t make(Obj o) {
    if (objs_.size() >= limits_.max_objects) {
      fail(wick::detail::cat("more than ", limits_.max_objects, " objects"));
    }
    charge(sizeof(Obj));
    objs_.push_back(o);
    return static_cast<uint32_t>(objs_.size() - 1);
  }
  uint32_t make_str(std::string s) {
    strings_.push_back(std::move(s));
    return make({Kind::Str, 0, static_cast<uint32_t>(strings_.size() - 1)});
  }
  uint32_t make_container(Kind k, std::vector<uint32_t> items) {
    charge(sizeof(items));
    count_items(items.size());
    containers_.push_back(std::move(items));
    return make({k, 0, static_cast<uint32_t>(containers_.size() - 1)});
  }
  void count_items(std::size_t n) {
    charge(n * sizeof(uint32_t));
    container_items_ += n;
    if (container_items_ + stack_.size() > limits_.max_items) {
      fail(wick::detail::cat("more than ", limits_.max_items, " stack entries and items"));
    }
  }
  // The stack is not charged: each entry took at least one byte of pickle to push.
  void push(uint32_t o) {
    if (stack_.size() + container_items_ >= limits_.max_items) {
      fail(wick::detail::cat("more than ", limits_.max_items, " stack entries and items"));
    }
    stack_.push_back(o);
  }
  std::size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  uint32_t pop(const char* op) {
    if (stack_.size() <= floor()) fail(wick::detail::cat(op, " on an empty stack"));
    const uint32_t o = stack_.back();
    stack_.pop_back();
    return o;
  }
  uint32_t& top(const char* op) {
    if (stack_.size() <= floor()) fail(wick::detail::cat(op, " on an empty stack"));
    return stack_.back();
  }
  std::vector<uint32_t> pop_mark(const char* op) {
    if (marks_.empty()) fail(wick::detail::cat(op, " without a MARK"));
    std::vector<uint32_t> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()),
                                stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  const Obj& obj(uint32_t o) const { return objs_[o]; }
  std::vector<uint32_t>& items_of(uint32_t o) { return containers_[objs_[o].ref]; }

  // Typed access for arguments, failing with what was expected and what was found.
  const Obj& expect(uint32_t o, Kind k, const std::string& what) const {
    if (obj(o).kind != k) {
      fail(wick::detail::cat(what, ": expected a ", kind_label(k), ", got a ",
                             kind_label(obj(o).kind)));
    }
    return obj(o);
  }
  int64_t int_arg(uint32_t o, const std::string& what) const {
    return expect(o, Kind::Int, what).i;
  }
  const std::string& str_arg(uint32_t o, const std::string& what) const {
    return strings_[expect(o, Kind::Str, what).ref];
  }
  Shape ints_arg(uint32_t o, const std::string& what) {
    const Obj& t = obj(o);
    if (t.kind != Kind::Tuple && t.kind != Kind::List) {
      fail(wick::detail::cat(what, ": expected a tuple of ints, got a ", kind_label(t.kind)));
    }
    const auto& items = containers_[t.ref];
    if (items.size() > kMaxPickleRank) {
      fail(wick::detail::cat(what, ": ", items.size(), " dimensions; at most ", kMaxPickleRank));
    }
    Shape out;
    for (uint32_t item : items)
      out.push_back(int_arg(item, what));
    return out;
  }

  // --- opcodes -----------------------------------------------------------------------------
  void step(uint8_t op) {
    switch (op) {
      case 0x80: {  // PROTO
        const auto proto = static_cast<uint8_t>(*take(1, "PROTO"));
        if (proto > 5) fail(wick::detail::cat("pickle protocol ", int{proto}, " (at most 5)"));
        return;
      }
      case 0x95:  // FRAME: a length hint only
        if (read_le<uint64_t>("FRAME") > d_.size() - pos_) fail("FRAME longer than the pickle");
        return;
      case '(':
        if (marks_.size() >= limits_.max_marks) {
          fail(wick::detail::cat("more than ", limits_.max_marks, " nested MARKs"));
        }
        marks_.push_back(stack_.size());
        return;
      case 'N':
        return push(make({Kind::None}));
      case 0x88:
      case 0x89:
        return push(make({Kind::Bool, 0, 0, op == 0x88 ? 1 : 0}));
      case 'J':
        return push(make({Kind::Int, 0, 0, read_le<int32_t>("BININT")}));
      case 'K':
        return push(make({Kind::Int, 0, 0, read_le<uint8_t>("BININT1")}));
      case 'M':
        return push(make({Kind::Int, 0, 0, read_le<uint16_t>("BININT2")}));
      case 0x8a:
        return long_int(read_le<uint8_t>("LONG1"));
      case 0x8b:
        return long_int(read_le<uint32_t>("LONG4"));
      case 'G': {
        const auto bits = __builtin_bswap64(read_le<uint64_t>("BINFLOAT"));  // big-endian
        return push(make({Kind::Float, 0, 0, 0, std::bit_cast<double>(bits)}));
      }
      case 'X':
        return string(read_le<uint32_t>("BINUNICODE"), "BINUNICODE");
      case 0x8c:
        return string(read_le<uint8_t>("SHORT_BINUNICODE"), "SHORT_BINUNICODE");
      case 0x8d:
        return string(read_le<uint64_t>("BINUNICODE8"), "BINUNICODE8");
      case 'U':
        return string(read_le<uint8_t>("SHORT_BINSTRING"), "SHORT_BINSTRING");
      case 'T': {
        const auto n = read_le<int32_t>("BINSTRING");
        if (n < 0) fail("BINSTRING with a negative length");
        return string(static_cast<uint64_t>(n), "BINSTRING");
      }
      case ')':
        return push(make_container(Kind::Tuple, {}));
      case ']':
        return push(make_container(Kind::List, {}));
      case '}':
        return push(make_container(Kind::Dict, {}));
      case 't':
        return push(make_container(Kind::Tuple, pop_mark("TUPLE")));
      case 0x85:
      case 0x86:
      case 0x87: {
        std::vector<uint32_t> items(static_cast<std::size_t>(op - 0x84));
        for (std::size_t k = items.size(); k-- > 0;)
          items[k] = pop(opcode_name(op));
        return push(make_container(Kind::Tuple, std::move(items)));
      }
      case 'a': {
        const uint32_t item = pop("APPEND");
        const uint32_t list = top("APPEND");
        expect(list, Kind::List, "APPEND target");
        count_items(1);
        items_of(list).push_back(item);
        return;
      }
      case 'e': {
        auto items = pop_mark("APPENDS");
        const uint32_t list = top("APPENDS");
        expect(list, Kind::List, "APPENDS target");
        count_items(items.size());
        auto& dst = items_of(list);
        dst.insert(dst.end(), items.begin(), items.end());
        return;
      }
      case 's': {
        const uint32_t v = pop("SETITEM");
        const uint32_t k = pop("SETITEM");
        const uint32_t dict = top("SETITEM");
        expect(dict, Kind::Dict, "SETITEM target");
        count_items(2);
        items_of(dict).push_back(k);
        items_of(dict).push_back(v);
        return;
      }
      case 'u': {
        auto items = pop_mark("SETITEMS");
        if (items.size() % 2 != 0) fail("SETITEMS with an odd number of keys and values");
        const uint32_t dict = top("SETITEMS");
        expect(dict, Kind::Dict, "SETITEMS target");
        count_items(items.size());
        auto& dst = items_of(dict);
        dst.insert(dst.end(), items.begin(), items.end());
        return;
      }
      case 'h':
        return get(read_le<uint8_t>("BINGET"));
      case 'j':
        return get(read_le<uint32_t>("LONG_BINGET"));
      case 'q':
        return put(read_le<uint8_t>("BINPUT"));
      case 'r':
        return put(read_le<uint32_t>("LONG_BINPUT"));
      case 0x94:  // MEMOIZE: the next index, as Python numbers them (len(memo))
        return put(static_cast<uint32_t>(std::min<std::size_t>(memo_count_, kNoMemo - 1)));
      case '0':
        pop("POP");
        return;
      case '1':
        pop_mark("POP_MARK");
        return;
      case '2':
        return push(top("DUP"));
      case 'c': {
        const std::string_view module = line("GLOBAL module");
        const std::string_view name = line("GLOBAL name");
        return push(global(std::string(module) + "." + std::string(name)));
      }
      case 0x93: {
        const std::string name = str_arg(pop("STACK_GLOBAL"), "STACK_GLOBAL name");
        const std::string module = str_arg(pop("STACK_GLOBAL"), "STACK_GLOBAL module");
        return push(global(module + "." + name));
      }
      case 'R':
        return reduce();
      case 'b':
        return build();
      case 'Q':
        return persistent_load();
      default:
        break;
    }
    const char* name = opcode_name(op);
    if (name == nullptr) fail(wick::detail::cat("unknown opcode 0x", hex(op)));
    fail(wick::detail::cat("opcode ", name, " (0x", hex(op),
                           ") is outside what a weights-only load accepts; nothing was executed"));
  }

  static std::string hex(uint8_t v) {
    static constexpr char kDigits[] = "0123456789abcdef";
    return {kDigits[v >> 4], kDigits[v & 15]};
  }

  void long_int(uint64_t n) {
    // Two's complement, little endian; wick ints are 64-bit.
    if (n > 8) fail(wick::detail::cat("integer of ", n, " bytes does not fit in 64 bits"));
    const char* p = take(static_cast<std::size_t>(n), "LONG");
    uint64_t v = 0;
    for (std::size_t k = 0; k < n; ++k)
      v |= uint64_t{static_cast<uint8_t>(p[k])} << (8 * k);
    if (n > 0 && n < 8 && (static_cast<uint8_t>(p[n - 1]) & 0x80)) v |= ~uint64_t{0} << (8 * n);
    push(make({Kind::Int, 0, 0, static_cast<int64_t>(v)}));
  }

  void string(uint64_t n, const char* what) {
    const auto len = static_cast<std::size_t>(n);
    const char* p = take(len, what);
    charge(sizeof(std::string) + heap_bytes(len));
    push(make_str(std::string(p, len)));
  }

  void get(uint32_t idx) {
    if (idx >= memo_.size() || memo_[idx] == kNoMemo) {
      fail(wick::detail::cat("memo entry ", idx, " was never stored"));
    }
    push(memo_[idx]);
  }
  // Picklers number memo entries from 0, one per PUT, so every index is below the pickle's
  // size and the memo can be a vector that size bounds.
  void put(uint32_t idx) {
    const uint32_t o = top("PUT");
    if (idx >= d_.size()) {
      fail(wick::detail::cat("memo index ", idx, " is beyond what a ", d_.size(),
                             "-byte pickle can number"));
    }
    if (idx >= memo_.size()) {
      charge((idx + 1 - memo_.size()) * sizeof(uint32_t));
      memo_.resize(idx + 1, kNoMemo);
    }
    if (memo_[idx] == kNoMemo) ++memo_count_;
    memo_[idx] = o;
  }

  uint32_t global(const std::string& name) {
    for (const GlobalDef& g : kGlobals) {
      if (g.name == name) {
        charge(sizeof(std::string) + heap_bytes(name.size()));
        strings_.push_back(name);
        return make({Kind::Global, static_cast<uint8_t>(g.fn),
                     static_cast<uint32_t>(strings_.size() - 1), static_cast<int64_t>(g.dtype)});
      }
    }
    for (const Unsupported& u : kUnsupported) {
      if (u.name == name) fail(wick::detail::cat("global '", name, "': ", u.why));
    }
    fail(wick::detail::cat("unsupported global '", name,
                           "': a weights-only load accepts only tensors, their storages, "
                           "OrderedDict and torch.Size; nothing was executed"));
  }

  Fn fn_of(uint32_t o) const { return static_cast<Fn>(obj(o).aux); }
  const std::string& global_name(uint32_t o) const { return strings_[obj(o).ref]; }

  void reduce() {
    const uint32_t args_obj = pop("REDUCE");
    const uint32_t callee = top("REDUCE");
    if (obj(callee).kind != Kind::Global) {
      fail(wick::detail::cat("REDUCE calls a ", kind_label(obj(callee).kind),
                             ", not an allowed global"));
    }
    const std::string name = global_name(callee);
    const Obj& a = expect(args_obj, Kind::Tuple, "REDUCE arguments of " + name);
    const std::vector<uint32_t> args = containers_[a.ref];
    uint32_t result = 0;
    switch (fn_of(callee)) {
      case Fn::OrderedDict:
        if (!args.empty()) fail("collections.OrderedDict called with arguments");
        result = make_container(Kind::Dict, {});
        break;
      case Fn::TorchSize:
        if (args.size() != 1) fail("torch.Size takes one tuple");
        ints_arg(args[0], "torch.Size");
        result = make_container(Kind::Tuple, containers_[obj(args[0]).ref]);
        break;
      case Fn::RebuildTensorV2:
        if (args.size() != 6 && args.size() != 7) {
          fail(wick::detail::cat(name, " takes 6 or 7 arguments, got ", args.size()));
        }
        expect(args[4], Kind::Bool, name + " requires_grad");
        expect(args[5], Kind::Dict, name + " backward_hooks");
        result = rebuild_tensor(args, name);
        break;
      case Fn::RebuildTensor:
        if (args.size() != 4)
          fail(wick::detail::cat(name, " takes 4 arguments, got ", args.size()));
        result = rebuild_tensor(args, name);
        break;
      case Fn::RebuildParameter:
      case Fn::RebuildParameterWithState: {
        const std::size_t want = fn_of(callee) == Fn::RebuildParameter ? 3 : 4;
        if (args.size() != want) {
          fail(wick::detail::cat(name, " takes ", want, " arguments, got ", args.size()));
        }
        expect(args[0], Kind::Tensor, name + " data");
        expect(args[1], Kind::Bool, name + " requires_grad");
        expect(args[2], Kind::Dict, name + " backward_hooks");
        result = args[0];
        break;
      }
      case Fn::StorageType:
        fail(wick::detail::cat("REDUCE calls the storage type ", name));
    }
    top("REDUCE") = result;
  }

  uint32_t rebuild_tensor(const std::vector<uint32_t>& args, const std::string& name) {
    const Obj& s = expect(args[0], Kind::Storage, name + " storage");
    const LoadedStorage& st = storages_[s.ref];
    const int64_t offset = int_arg(args[1], name + " storage_offset");
    Shape shape = ints_arg(args[2], name + " size");
    Shape strides = ints_arg(args[3], name + " stride");
    if (shape.size() != strides.size()) {
      fail(wick::detail::cat(name, ": size ", shape_str(shape), " and stride ", shape_str(strides),
                             " differ in length"));
    }
    if (!detail::bounded_nbytes(shape, st.dtype)) {
      fail(wick::detail::cat(name, ": shape ", shape_str(shape), " of ", dtype_name(st.dtype),
                             " overflows 2^62 bytes, counting every zero size as 1"));
    }
    // PyTorch keeps any offset on an empty view (torch.empty(5, 0)[3] sits at 3 in a storage of
    // none); wick's views lie inside their storage or just past it, and an empty view has no
    // element to place, so it moves to the end.
    const bool empty = std::find(shape.begin(), shape.end(), 0) != shape.end();
    const int64_t at = empty && offset > 0 ? std::min<int64_t>(offset, st.numel) : offset;
    charge(sizeof(Tensor) + (shape.size() + strides.size()) * sizeof(int64_t));
    try {
      // Checked against the placeholder now, rebuilt over the bytes by bind_storages().
      tensors_.emplace_back(st.storage, std::move(shape), std::move(strides), at, st.dtype);
    } catch (const ShapeError& e) {
      fail(wick::detail::cat(name, ": the view does not fit its ", st.numel, "-element ",
                             dtype_name(st.dtype), " storage: ", e.what()));
    }
    tensor_storage_.push_back(s.ref);
    return make({Kind::Tensor, 0, static_cast<uint32_t>(tensors_.size() - 1)});
  }

  void build() {
    pop("BUILD");  // the state: an OrderedDict's attributes (_metadata) have no wick equivalent
    const uint32_t inst = top("BUILD");
    if (obj(inst).kind != Kind::Dict) {
      fail(wick::detail::cat("BUILD on a ", kind_label(obj(inst).kind),
                             ": only an OrderedDict's attributes may be set"));
    }
  }

  void persistent_load() {
    const uint32_t pid = pop("BINPERSID");
    const Obj& t = obj(pid);
    if (t.kind != Kind::Tuple || containers_[t.ref].size() != 5) {
      fail("persistent id must be a 5-tuple ('storage', storage type, key, location, numel)");
    }
    const std::vector<uint32_t> f = containers_[t.ref];
    const std::string& tag = str_arg(f[0], "persistent id tag");
    if (tag != "storage") {
      fail(wick::detail::cat("persistent id '", tag, "': only 'storage' is allowed"));
    }
    const Obj& type = expect(f[1], Kind::Global, "persistent id storage type");
    if (static_cast<Fn>(type.aux) != Fn::StorageType) {
      fail(wick::detail::cat("persistent id storage type is ", global_name(f[1])));
    }
    StorageRef ref{static_cast<DType>(type.i), str_arg(f[2], "persistent id key"),
                   str_arg(f[3], "persistent id location"), int_arg(f[4], "persistent id numel")};
    if (ref.numel < 0) fail(wick::detail::cat("storage '", ref.key, "' has numel ", ref.numel));
    if (const auto it = storage_by_key_.find(ref.key); it != storage_by_key_.end()) {
      const LoadedStorage& prev = storages_[it->second];
      if (prev.dtype != ref.dtype || prev.numel != ref.numel) {
        fail(wick::detail::cat("storage '", ref.key, "' is declared as ", prev.numel, " ",
                               dtype_name(prev.dtype), " and as ", ref.numel, " ",
                               dtype_name(ref.dtype)));
      }
      return push(make({Kind::Storage, 0, it->second}));
    }
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(static_cast<uint64_t>(ref.numel), dtype_size(ref.dtype), &nbytes) ||
        nbytes > std::numeric_limits<std::size_t>::max()) {
      fail(wick::detail::cat("storage '", ref.key, "' of ", ref.numel, " ", dtype_name(ref.dtype),
                             " elements overflows"));
    }
    charge(kStorageOverhead + 2 * (ref.key.size() + ref.location.size()));
    // No bytes yet: a storage is read only once the whole pickle has passed (bind_storages()).
    auto placeholder = Storage::borrow(nullptr, static_cast<std::size_t>(nbytes), nullptr);
    storages_.push_back({std::move(placeholder), ref.dtype, ref.numel});
    const auto idx = static_cast<uint32_t>(storages_.size() - 1);
    storage_by_key_.emplace(ref.key, idx);
    refs_.push_back(std::move(ref));
    push(make({Kind::Storage, 0, idx}));
  }

  // Reads every storage the pickle declared, and rebuilds each tensor over its bytes.
  void bind_storages() {
    if (refs_.empty()) return;
    std::vector<std::shared_ptr<Storage>> loaded = loader_(refs_);
    if (loaded.size() != refs_.size()) {
      throw FormatError(wick::detail::cat(where_, ": ", loaded.size(), " storages read for ",
                                          refs_.size(), " declared"));
    }
    for (std::size_t i = 0; i < refs_.size(); ++i) {
      const std::string what = wick::detail::cat(where_, ": storage '", refs_[i].key, "'");
      if (loaded[i] == nullptr || loaded[i]->nbytes() != storages_[i].storage->nbytes()) {
        throw FormatError(wick::detail::cat(what, ": read ",
                                            loaded[i] ? loaded[i]->nbytes() : std::size_t{0},
                                            " bytes, needs ", storages_[i].storage->nbytes()));
      }
      if (refs_[i].dtype == kBool) check_bool_bytes(loaded[i]->data(), loaded[i]->nbytes(), what);
      storages_[i].storage = std::move(loaded[i]);
    }
    for (std::size_t t = 0; t < tensors_.size(); ++t) {
      const Tensor& p = tensors_[t];
      tensors_[t] = Tensor(storages_[tensor_storage_[t]].storage, p.shape(), p.strides(),
                           p.offset(), p.dtype());
    }
  }

  // --- conversion --------------------------------------------------------------------------
  // The path of `path`, dotted; long keys and deep paths are elided, since the message must not
  // cost what the tree would.
  std::string path_text(const std::vector<Step>& path) const {
    constexpr std::size_t kMaxKey = 64;
    constexpr std::size_t kEnds = 8;  // steps shown at each end of a deeper path
    std::string p;
    for (std::size_t i = 0; i < path.size(); ++i) {
      if (path.size() > 2 * kEnds && i == kEnds) {
        p += wick::detail::cat(".(", path.size() - 2 * kEnds, " more)");
        i = path.size() - kEnds - 1;
        continue;
      }
      std::string step = child_name(path[i]);
      if (step.size() > kMaxKey) step = step.substr(0, kMaxKey) + "...";
      p += (p.empty() ? "" : ".") + step;
    }
    return p;
  }

  [[noreturn]] void fail_at(const std::vector<Step>& path, const std::string& msg) const {
    const std::string p = path_text(path);
    throw FormatError(wick::detail::cat(
        where_, ": ", p.empty() ? std::string("the root") : "'" + p + "'", ": ", msg));
  }

  static bool is_container(Kind k) {
    return k == Kind::Tuple || k == Kind::List || k == Kind::Dict;
  }

  // Bytes to_value() allocates for a leaf `o`, its Value included.
  std::size_t leaf_bytes(uint32_t o) const {
    const Obj& x = obj(o);
    switch (x.kind) {
      case Kind::Str:
        return sizeof(Value) + heap_bytes(strings_[x.ref].size());
      case Kind::Tensor: {
        const Tensor& t = tensors_[x.ref];
        return sizeof(Value) + (t.shape().size() + t.strides().size()) * sizeof(int64_t);
      }
      case Kind::Storage:
        return sizeof(Value) + 2 * sizeof(int64_t);
      default:
        return sizeof(Value);
    }
  }

  // Bytes to_value() allocates for the tree under `o`, at most limit + 1: what a reference
  // costs each time it is repeated. Each container is counted once, with its height, so that a
  // container reached again deeper down is still held to the depth bound.
  std::size_t tree_bytes(uint32_t o, int depth, std::size_t limit, std::vector<Step>& path) {
    const Obj& x = obj(o);
    if (!is_container(x.kind)) return leaf_bytes(o);
    if (depth >= kMaxDepth || (sizes_[o] != 0 && depth + heights_[o] > kMaxDepth)) {
      fail_at(path, wick::detail::cat("nesting deeper than ", kMaxDepth,
                                      " (or a container that contains itself)"));
    }
    if (sizes_[o] != 0) return sizes_[o];
    const std::vector<uint32_t>& items = containers_[x.ref];
    const bool dict = x.kind == Kind::Dict;
    std::size_t total = sizeof(Value);
    int height = 1;
    for (std::size_t k = dict ? 1 : 0; k < items.size() && total <= limit; k += dict ? 2 : 1) {
      path.push_back({o, k});
      std::size_t n = tree_bytes(items[k], depth + 1, limit, path);
      if (dict) n += kDictItemExtra + kDictIndexEntry + 2 * key_heap_bytes(items[k - 1]);
      total = n > limit ? limit + 1 : std::min(total + n, limit + 1);
      if (is_container(obj(items[k]).kind)) height = std::max(height, 1 + heights_[items[k]]);
      if (total <= limit) path.pop_back();
    }
    sizes_[o] = total;
    heights_[o] = height;
    return total;
  }

  std::size_t key_heap_bytes(uint32_t key) const {
    return obj(key).kind == Kind::Str ? heap_bytes(strings_[obj(key).ref].size()) : 0;
  }

  std::string child_name(const Step& s) const {
    const Obj& x = obj(s.container);
    if (x.kind != Kind::Dict) return std::to_string(s.k);
    const Obj& key = obj(containers_[x.ref][s.k - 1]);
    if (key.kind == Kind::Int) return std::to_string(key.i);
    return key.kind == Kind::Str ? strings_[key.ref] : "?";
  }

  // The Key of a dict key object: a str or an int, the kinds of key PyTorch's own dicts use.
  Key dict_key(uint32_t o, const std::vector<Step>& path) const {
    const Obj& key = obj(o);
    if (key.kind == Kind::Str) return strings_[key.ref];
    if (key.kind == Kind::Int) return key.i;
    fail_at(path, wick::detail::cat("dict key of type ", kind_label(key.kind),
                                    ": wick dict keys are strings or ints"));
  }

  Value to_value(uint32_t o, std::vector<Step>& path) {
    const Obj& x = obj(o);
    switch (x.kind) {
      case Kind::None:
        return {};
      case Kind::Bool:
        return x.i != 0;
      case Kind::Int:
        return x.i;
      case Kind::Float:
        return x.f;
      case Kind::Str:
        return strings_[x.ref];
      case Kind::Tensor:
        return tensors_[x.ref];
      case Kind::Storage: {
        // A bare storage (torch.save of a storage) reads as a 1-d tensor over all of it.
        const LoadedStorage& s = storages_[x.ref];
        return Tensor(s.storage, {s.numel}, {1}, 0, s.dtype);
      }
      case Kind::Global:
        fail_at(path, wick::detail::cat("the global '", global_name(o),
                                        "' is not data and has no wick value"));
      case Kind::Tuple:
      case Kind::List:
      case Kind::Dict:
        break;
    }
    const std::vector<uint32_t>& items = containers_[x.ref];
    if (x.kind != Kind::Dict) {
      std::vector<Value> out;
      out.reserve(items.size());
      for (std::size_t k = 0; k < items.size(); ++k) {
        path.push_back({o, k});
        out.push_back(to_value(items[k], path));
        path.pop_back();
      }
      if (x.kind == Kind::Tuple) return Tuple(std::move(out));
      return List(std::move(out));
    }
    Dict out;
    for (std::size_t k = 0; k + 1 < items.size(); k += 2) {
      Key key = dict_key(items[k], path);
      path.push_back({o, k + 1});
      // Like Python, a repeated key keeps its first position and its last value.
      out.insert_or_assign(std::move(key), to_value(items[k + 1], path));
      path.pop_back();
    }
    return out;
  }

  std::string_view d_;
  std::size_t pos_ = 0;
  std::size_t op_pos_ = 0;
  const StorageLoader& loader_;
  const std::string& where_;
  PickleLimits limits_;
  std::size_t budget_;    // bytes the arena and the tree may take
  std::size_t held_ = 0;  // bytes the arena holds so far

  std::vector<Obj> objs_;
  std::vector<std::string> strings_;
  std::vector<std::vector<uint32_t>> containers_;
  std::vector<Tensor> tensors_;
  std::vector<uint32_t> tensor_storage_;  // index into storages_ of each tensor
  std::vector<LoadedStorage> storages_;
  std::vector<StorageRef> refs_;  // what each of storages_ was declared as
  std::unordered_map<std::string, uint32_t> storage_by_key_;
  std::vector<uint32_t> stack_;
  std::vector<std::size_t> marks_;
  std::vector<uint32_t> memo_;  // object of each memo index, kNoMemo where none
  std::size_t memo_count_ = 0;  // indices set
  std::size_t container_items_ = 0;
  std::vector<std::size_t> sizes_;  // tree_bytes() of each container, 0 until counted
  std::vector<int> heights_;        // levels of containers from each counted container down
};

}  // namespace

std::size_t pickle_budget(uint64_t file_bytes) {
  const uint64_t max = std::numeric_limits<std::size_t>::max();
  return file_bytes > (max - kPickleBaseBytes) / kPickleBytesPerByte
             ? static_cast<std::size_t>(max)
             : static_cast<std::size_t>(file_bytes) * kPickleBytesPerByte + kPickleBaseBytes;
}

Value unpickle_weights(std::string_view data, const StorageLoader& load_storage,
                       const std::string& where, const PickleLimits& limits) {
  return Unpickler(data, load_storage, where, limits).run();
}

}  // namespace wick::io::detail
