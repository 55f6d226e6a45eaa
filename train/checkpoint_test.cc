#include "train/checkpoint.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "google/protobuf/unknown_field_set.h"
#include "gtest/gtest.h"

namespace lightspeech::train {
namespace {

struct TinyImpl : torch::nn::Module {
  explicit TinyImpl(int64_t out) {
    a = register_module("a", torch::nn::Linear(3, out));
    b = register_module("b", torch::nn::Linear(out, 2));
    counter = register_buffer("counter", torch::zeros({2}, torch::kLong));
  }
  torch::Tensor forward(const torch::Tensor& x) { return b(torch::relu(a(x))); }
  torch::nn::Linear a{nullptr}, b{nullptr};
  torch::Tensor counter;
};
TORCH_MODULE(Tiny);

NamedTensors Params(torch::nn::Module& m) {
  NamedTensors out;
  for (const auto& p : m.named_parameters()) out.emplace_back(p.key(), p.value());
  return out;
}

std::string TempDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/" + name;
  ::mkdir(dir.c_str(), 0755);
  return dir;
}

TEST(CheckpointTest, TensorsRoundTripForEveryDType) {
  torch::manual_seed(0);
  for (torch::ScalarType t : {torch::kFloat32, torch::kFloat64, torch::kBFloat16, torch::kFloat16}) {
    torch::Tensor x = torch::randn({2, 3, 4}).to(t).transpose(0, 2);  // not contiguous
    absl::StatusOr<TensorProto> p = TensorToProto("x", x);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(p->shape_size(), 3);
    absl::StatusOr<torch::Tensor> back = TensorFromProto(*p);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(torch::equal(*back, x));
  }
  for (torch::Tensor x : {torch::arange(6, torch::kLong).view({2, 3}), torch::arange(4, torch::kInt),
                          torch::tensor({true, false, true}), torch::tensor(7.5), torch::zeros({0, 3})}) {
    absl::StatusOr<TensorProto> p = TensorToProto("x", x);
    ASSERT_TRUE(p.ok()) << p.status();
    absl::StatusOr<torch::Tensor> back = TensorFromProto(*p);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(torch::equal(*back, x)) << x;
  }
  // Raw little-endian float32 bytes, as numpy.frombuffer(data, '<f4') reads them.
  absl::StatusOr<TensorProto> p = TensorToProto("one", torch::ones({1}));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->data(), std::string("\x00\x00\x80\x3f", 4));
  EXPECT_EQ(p->dtype(), FLOAT32);
  EXPECT_EQ(TensorToProto("c", torch::zeros({1}, torch::kComplexFloat)).status().message(),
            "tensor 'c': dtype ComplexFloat cannot be checkpointed");
}

TEST(CheckpointTest, BadProtosAreRejectedBeforeAllocating) {
  TensorProto p;
  p.set_name("w");
  p.set_dtype(FLOAT32);
  p.add_shape(2);
  p.add_shape(3);
  p.set_data(std::string(20, '\0'));
  EXPECT_EQ(TensorFromProto(p).status().message(), "checkpoint tensor 'w': 20 bytes, expected 24 for FLOAT32 [2, 3]");
  p.set_shape(0, int64_t{1} << 40);
  p.set_shape(1, int64_t{1} << 40);
  EXPECT_EQ(TensorFromProto(p).status().message(), "checkpoint tensor 'w': bad shape [1099511627776, 1099511627776]");
  p.set_dtype(DTYPE_UNSPECIFIED);
  EXPECT_EQ(TensorFromProto(p).status().code(), absl::StatusCode::kDataLoss);
}

TEST(CheckpointTest, ModuleRoundTripAndMismatchesNamed) {
  torch::manual_seed(1);
  Tiny src(4), dst(4);
  src->counter.fill_(5);
  Checkpoint c;
  ASSERT_TRUE(SaveModule(*src, &c).ok());
  EXPECT_EQ(c.tensors_size(), 5);  // a.weight, a.bias, b.weight, b.bias, counter
  ASSERT_TRUE(LoadModule(c, *dst).ok());
  torch::Tensor x = torch::randn({5, 3});
  EXPECT_TRUE(torch::equal(src(x), dst(x)));
  EXPECT_EQ(dst->counter[1].item<int64_t>(), 5);

  Tiny other(8);
  const torch::Tensor before = other->a->weight.clone();
  EXPECT_EQ(LoadModule(c, *other).message(), "checkpoint tensor 'a.weight' has shape [4, 3], the model's is [8, 3]");
  EXPECT_TRUE(torch::equal(other->a->weight, before));  // nothing copied
  Checkpoint missing = c;
  missing.mutable_tensors()->RemoveLast();
  EXPECT_EQ(LoadModule(missing, *dst).message(), "checkpoint has no tensor 'counter' that the model has");
  Checkpoint extra = c;
  *extra.add_tensors() = c.tensors(0);
  extra.mutable_tensors()->rbegin()->set_name("c.weight");
  EXPECT_EQ(LoadModule(extra, *dst).message(), "checkpoint tensor 'c.weight' is not in the model");
  Checkpoint wrong_type = c;
  wrong_type.mutable_tensors(0)->set_dtype(FLOAT64);
  wrong_type.mutable_tensors(0)->set_data(c.tensors(0).data() + c.tensors(0).data());
  EXPECT_EQ(LoadModule(wrong_type, *dst).message(), "checkpoint tensor 'a.weight' has dtype FLOAT64, the model's is Float");
}

TEST(CheckpointTest, AdamWStateResumesExactly) {
  torch::manual_seed(2);
  Tiny a(4), b(4);
  torch::optim::AdamW opt_a(a->parameters(), torch::optim::AdamWOptions(1e-2).weight_decay(0.1));
  torch::optim::AdamW opt_b(b->parameters(), torch::optim::AdamWOptions(1e-2).weight_decay(0.1));
  torch::Tensor x = torch::randn({6, 3});
  auto step = [&](Tiny& m, torch::optim::AdamW& opt) {
    opt.zero_grad();
    m(x).square().mean().backward();
    opt.step();
  };
  for (int i = 0; i < 3; ++i) step(a, opt_a);
  Checkpoint c;
  ASSERT_TRUE(SaveModule(*a, &c).ok());
  ASSERT_TRUE(SaveAdamW("model", opt_a, Params(*a), &c).ok());
  ASSERT_EQ(c.optimizers_size(), 1);
  ASSERT_EQ(c.optimizers(0).params_size(), 4);
  EXPECT_EQ(c.optimizers(0).params(0).param(), "a.weight");
  EXPECT_EQ(c.optimizers(0).params(0).step(), 3);
  ASSERT_TRUE(LoadModule(c, *b).ok());
  ASSERT_TRUE(LoadAdamW(c, "model", opt_b, Params(*b)).ok());
  for (int i = 0; i < 2; ++i) {
    step(a, opt_a);
    step(b, opt_b);
  }
  for (size_t i = 0; i < a->parameters().size(); ++i) {
    EXPECT_TRUE(torch::equal(a->parameters()[i], b->parameters()[i])) << i;
  }
  Tiny wide(8);
  torch::optim::AdamW opt_w(wide->parameters(), torch::optim::AdamWOptions(1e-2));
  EXPECT_EQ(LoadAdamW(c, "model", opt_w, Params(*wide)).message(),
            "checkpoint optimizer 'model' state 'a.weight.exp_avg' has shape [4, 3], the model's is [8, 3]");
  EXPECT_EQ(LoadAdamW(c, "actor", opt_b, Params(*b)).message(), "checkpoint has no optimizer 'actor'");
  torch::optim::Adam adam(a->parameters());
  EXPECT_EQ(SaveAdamW("x", adam, Params(*a), &c).message(), "optimizer 'x' is not AdamW");
}

TEST(CheckpointTest, TorchRngRestores) {
  torch::manual_seed(3);
  absl::StatusOr<RngState> s = SaveTorchRng(torch::kCPU);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->device(), "cpu");
  const torch::Tensor first = torch::rand({4});
  ASSERT_TRUE(LoadTorchRng(*s).ok());
  EXPECT_TRUE(torch::equal(torch::rand({4}), first));
}

TEST(CheckpointTest, FilesListPruneAndVersion) {
  const std::string dir = TempDir("ckpt_files");
  Checkpoint c;
  c.set_format_version(kCheckpointFormatVersion);
  for (int64_t step : {5, 10, 15, 20}) {
    c.set_step(step);
    ASSERT_TRUE(WriteCheckpoint(c, CheckpointPath(dir, step)).ok());
  }
  ASSERT_TRUE(base::WriteFileAtomically(dir + "/ckpt-00000025.pb.partial.x", "junk").ok());
  EXPECT_EQ(CheckpointPath(dir, 15), dir + "/ckpt-00000015.pb");
  absl::StatusOr<std::string> latest = LatestCheckpoint(dir);
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(*latest, CheckpointPath(dir, 20));
  ASSERT_TRUE(PruneCheckpoints(dir, 2).ok());
  absl::StatusOr<std::vector<std::pair<int64_t, std::string>>> left = ListCheckpoints(dir);
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 2u);
  EXPECT_EQ((*left)[0].first, 15);
  absl::StatusOr<Checkpoint> read = ReadCheckpoint(CheckpointPath(dir, 20));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->step(), 20);
  c.set_format_version(99);
  ASSERT_TRUE(WriteCheckpoint(c, dir + "/v99.pb").ok());
  EXPECT_EQ(ReadCheckpoint(dir + "/v99.pb").status().message(),
            dir + "/v99.pb: checkpoint format version 99, this build reads 1");
  ASSERT_TRUE(base::WriteFileAtomically(dir + "/bad.pb", "\xff\xff\xff").ok());
  EXPECT_EQ(ReadCheckpoint(dir + "/bad.pb").status().message(),
            dir + "/bad.pb: not a checkpoint (no integrity header, and not a version-1 checkpoint)");
  ASSERT_TRUE(base::WriteFileAtomically(dir + "/bad.pb", "\x08\x01\xff\xff").ok());
  EXPECT_EQ(ReadCheckpoint(dir + "/bad.pb").status().message(), dir + "/bad.pb: not a checkpoint (unparsable)");
  EXPECT_EQ(LatestCheckpoint(TempDir("ckpt_empty")).status().code(), absl::StatusCode::kNotFound);
}

// A small but complete checkpoint: model, AdamW state after one step, generator, config, symbols.
Checkpoint FullCheckpoint() {
  torch::manual_seed(4);
  Tiny m(4);
  torch::optim::AdamW opt(m->parameters(), torch::optim::AdamWOptions(1e-2));
  opt.zero_grad();
  m(torch::randn({2, 3})).sum().backward();
  opt.step();
  Checkpoint c;
  c.set_format_version(kCheckpointFormatVersion);
  c.set_step(1);
  c.set_n_mels(6);
  c.set_max_duration(8);
  c.set_world_size(1);
  c.mutable_data_position()->set_batch_in_epoch(1);
  EXPECT_TRUE(SaveModule(*m, &c).ok());
  EXPECT_TRUE(SaveAdamW("model", opt, Params(*m), &c).ok());
  absl::StatusOr<RngState> rng = SaveTorchRng(torch::kCPU);
  EXPECT_TRUE(rng.ok());
  *c.add_rng() = *rng;
  c.mutable_config()->mutable_model()->set_preset(ModelConfig::LIGHT);
  c.mutable_config()->set_aligner(TrainConfig::MAS);
  c.mutable_config()->set_steps(10);
  for (const char* s : {"_", "a", "b"}) c.mutable_symbols()->add_symbols(s);
  return c;
}

// The integrity header turns every truncation and every single-bit flip of a checkpoint file into a
// DataLoss error that names the file; none is read, none crashes. Exhaustive: each prefix and each
// bit of the file (the test prints its size).
TEST(CheckpointTest, EveryTruncationAndBitFlipIsDetected) {
  const Checkpoint c = FullCheckpoint();
  const std::string dir = TempDir("ckpt_damage");
  const std::string path = dir + "/ckpt.pb";
  ASSERT_TRUE(WriteCheckpoint(c, path).ok());
  absl::StatusOr<std::string> bytes = base::ReadFile(path);
  ASSERT_TRUE(bytes.ok());
  absl::StatusOr<Checkpoint> back = DecodeCheckpoint(*bytes, path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->SerializeAsString(), c.SerializeAsString());
  EXPECT_FALSE(back->has_integrity());
  const size_t n = bytes->size();
  for (size_t cut = 0; cut < n; ++cut) {
    absl::StatusOr<Checkpoint> r = DecodeCheckpoint(absl::string_view(*bytes).substr(0, cut), path);
    ASSERT_FALSE(r.ok()) << "a prefix of " << cut << " bytes was read";
    ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
    ASSERT_TRUE(absl::StartsWith(r.status().message(), path + ": ")) << r.status();
  }
  std::string flipped = *bytes;
  for (size_t bit = 0; bit < 8 * n; ++bit) {
    flipped[bit / 8] ^= static_cast<char>(1 << (bit % 8));
    absl::StatusOr<Checkpoint> r = DecodeCheckpoint(flipped, path);
    flipped[bit / 8] ^= static_cast<char>(1 << (bit % 8));
    ASSERT_FALSE(r.ok()) << "bit " << bit << " flipped was read";
    ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
    ASSERT_TRUE(absl::StartsWith(r.status().message(), path + ": ")) << r.status();
  }
  std::printf("%zu-byte checkpoint: %zu truncations and %zu bit flips refused\n", n, n, 8 * n);
  EXPECT_EQ(DecodeCheckpoint(*bytes + "x", path).status().message(),
            absl::StrCat(path, ": checkpoint has extra bytes: ", n - 15, " bytes after the header, the header says ",
                         n - 16));
  // Files on disk: the error names the file and says what is wrong.
  ASSERT_TRUE(base::WriteFileAtomically(path, bytes->substr(0, n - 100)).ok());
  EXPECT_EQ(ReadCheckpoint(path).status().message(),
            absl::StrCat(path, ": checkpoint truncated: ", n - 116, " bytes after the header, the header says ", n - 16));
  ASSERT_TRUE(base::WriteFileAtomically(path, bytes->substr(0, 10)).ok());
  EXPECT_EQ(ReadCheckpoint(path).status().message(),
            path + ": truncated checkpoint: 10 bytes, shorter than its 16-byte header");
  const size_t in_tensor = bytes->find(c.tensors(0).data());
  ASSERT_NE(in_tensor, std::string::npos);
  flipped[in_tensor + 1] ^= 0x10;
  ASSERT_TRUE(base::WriteFileAtomically(path, flipped).ok());
  const std::string message(ReadCheckpoint(path).status().message());
  EXPECT_TRUE(absl::StartsWith(message, absl::StrCat(path, ": corrupt checkpoint: CRC32C of the ", n - 16,
                                                     " bytes after the header is ")))
      << message;
}

// Files written before the integrity header existed (the bare message) are still read.
TEST(CheckpointTest, FilesWithoutTheHeaderAreRead) {
  const Checkpoint c = FullCheckpoint();
  absl::StatusOr<Checkpoint> back = DecodeCheckpoint(c.SerializeAsString(), "old.pb");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->SerializeAsString(), c.SerializeAsString());
}

// Validation before anything is allocated: names, steps, moments, the config.
TEST(CheckpointTest, InvalidContentsAreNamed) {
  const Checkpoint good = FullCheckpoint();
  auto error = [](const Checkpoint& c) {
    absl::StatusOr<std::string> bytes = EncodeCheckpoint(c);
    EXPECT_TRUE(bytes.ok());
    return std::string(DecodeCheckpoint(*bytes, "c.pb").status().message());
  };
  Checkpoint c = good;
  *c.add_tensors() = c.tensors(0);
  EXPECT_EQ(error(c), "c.pb: checkpoint tensors has two tensors named 'a.weight'");
  c = good;
  c.mutable_optimizers(0)->mutable_params(1)->mutable_exp_avg_sq()->add_shape(2);
  EXPECT_EQ(error(c), "c.pb: checkpoint tensor 'a.bias.exp_avg_sq': 16 bytes, expected 32 for FLOAT32 [4, 2]");
  c = good;
  c.mutable_config()->mutable_model()->set_decoder_dim(1 << 20);
  EXPECT_EQ(error(c), "c.pb: checkpoint config: TrainConfig: model widths must be <= 8192");
  c = good;
  c.set_step(-1);
  EXPECT_EQ(error(c), "c.pb: checkpoint step -1 is negative");
}

// A checkpoint written before an option was retired (its field number now reserved) holds it as an
// unknown field of its config; reading it fails naming the option (train::RefuseRetiredOptions).
TEST(CheckpointTest, ConfigsWithARetiredOptionAreRefused) {
  const std::string dir = TempDir("ckpt_retired");
  Checkpoint c = FullCheckpoint();
  c.mutable_config()->GetReflection()->MutableUnknownFields(c.mutable_config())->AddVarint(21, 1);
  ASSERT_TRUE(WriteCheckpoint(c, dir + "/a.pb").ok());
  absl::StatusOr<Checkpoint> read = ReadCheckpoint(dir + "/a.pb");
  EXPECT_EQ(read.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(read.status().message(),
            dir + "/a.pb: checkpoint config: TrainConfig: optional_word_separators was retired (measured and not "
                  "adopted, docs/RESULTS.md round 7); the last commit with it is 7a71848");
  c = FullCheckpoint();
  RlConfig* rl = c.mutable_config()->mutable_rl();
  rl->GetReflection()->MutableUnknownFields(rl)->AddVarint(19, 1);
  ASSERT_TRUE(WriteCheckpoint(c, dir + "/b.pb").ok());
  EXPECT_EQ(ReadCheckpoint(dir + "/b.pb").status().message(),
            dir + "/b.pb: checkpoint config: TrainConfig: rl.actor_detaches_encoder was retired (measured and not "
                  "adopted, docs/RESULTS.md round 8); the last commit with it is 7a71848");
}

// A write that runs out of space (RLIMIT_FSIZE in a forked child, the same EFBIG path as a full
// disk) fails with ResourceExhausted naming the file, and the previous checkpoint survives intact.
TEST(CheckpointTest, FullDiskKeepsThePreviousCheckpoint) {
  const std::string dir = TempDir("ckpt_full");
  const std::string path = CheckpointPath(dir, 1);
  Checkpoint small;
  small.set_format_version(kCheckpointFormatVersion);
  small.set_step(1);
  ASSERT_TRUE(WriteCheckpoint(small, path).ok());
  Checkpoint big = small;
  big.set_step(2);
  absl::StatusOr<TensorProto> t = TensorToProto("big", torch::zeros({1 << 18}));  // 1 MiB
  ASSERT_TRUE(t.ok());
  *big.add_tensors() = *t;
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit = {64 * 1024, 64 * 1024};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    const absl::Status s = WriteCheckpoint(big, path);
    const bool expected = s.code() == absl::StatusCode::kResourceExhausted &&
                          s.message() == path + ".partial: write failed: File too large";
    if (!expected) std::fprintf(stderr, "child got: %s\n", s.ToString().c_str());
    ::_exit(expected ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  absl::StatusOr<Checkpoint> back = ReadCheckpoint(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->step(), 1);
  EXPECT_FALSE(base::IsRegularFile(path + ".partial"));
}

}  // namespace
}  // namespace lightspeech::train
