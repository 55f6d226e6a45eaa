// One full training step (forward, mel and policy-gradient losses, both backward passes, both
// optimizer steps) of the prototype and light configurations in LibTorch, beside the same step in
// PyTorch (tools/bench_model.py, run by this binary with the same flags), on the CPU or CUDA (--device).
//   bazel run -c opt //tools:bench_model -- --threads=2
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "model/acoustic_model.h"
#include "model/length_regulator.h"
#include "rl/baselines.h"
#include "rl/categorical.h"
#include "rl/reinforce.h"
#include "rl/rewards.h"

ABSL_FLAG(int64_t, batch, 8, "Utterances per batch.");
ABSL_FLAG(int64_t, tokens, 32, "Longest utterance in tokens; utterance i has tokens - 3i.");
ABSL_FLAG(int64_t, frames_per_token, 5, "Target mel frames per token.");
ABSL_FLAG(int64_t, vocab, 80, "Symbols.");
ABSL_FLAG(int64_t, max_duration, 24, "K.");
ABSL_FLAG(int, threads, 2, "Intra-op threads (both LibTorch and PyTorch).");
ABSL_FLAG(int, warmup, 2, "Untimed steps first.");
ABSL_FLAG(int, iters, 3, "Timed steps.");
ABSL_FLAG(std::string, python, "/usr/bin/python3", "Interpreter for the PyTorch twin; empty to skip it.");
ABSL_FLAG(std::string, twin, "tools/bench_model.py", "The PyTorch twin script.");
ABSL_FLAG(std::string, device, "auto", "cpu, cuda, cuda:N, or auto (CUDA when available).");
ABSL_FLAG(bool, twin_first, false, "Run the PyTorch twin before the LibTorch steps (to check order effects).");

namespace {

namespace m = lightspeech::model;
namespace rl = lightspeech::rl;
using Clock = std::chrono::steady_clock;

struct Result {
  double step_ms = 0, sample_lr_ms = 0;
  int64_t params = 0;
};

void Check(const absl::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    std::exit(1);
  }
}
template <typename T>
T Get(absl::StatusOr<T> v) {
  Check(v.status());
  return *std::move(v);
}

torch::Device BenchDevice() {
  const std::string d = absl::GetFlag(FLAGS_device);
  if (d == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  return torch::Device(d);
}

// Waits for queued device work, so wall-clock times cover it (a no-op on the CPU).
void Sync(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

Result Bench(bool light, const torch::Device& device) {
  const int64_t b = absl::GetFlag(FLAGS_batch), n = absl::GetFlag(FLAGS_tokens), vocab = absl::GetFlag(FLAGS_vocab);
  torch::manual_seed(0);
  std::vector<int64_t> len(b);
  for (int64_t i = 0; i < b; ++i) len[i] = std::max<int64_t>(n - 3 * i, 1);
  torch::Tensor lengths = torch::tensor(len, torch::kLong);
  torch::Tensor mask = torch::arange(n).unsqueeze(0) < lengths.unsqueeze(1);
  torch::Tensor tokens = ((7 * torch::arange(b).unsqueeze(1) + 3 * torch::arange(n).unsqueeze(0)).remainder(vocab - 1) + 1) * mask;
  torch::Tensor target_lengths = lengths * absl::GetFlag(FLAGS_frames_per_token);
  const int64_t t_max = target_lengths.max().item<int64_t>();
  torch::Tensor target_mask = torch::arange(t_max).unsqueeze(0) < target_lengths.unsqueeze(1);
  torch::Tensor target = torch::randn({b, t_max, 80}) * target_mask.unsqueeze(-1);
  mask = mask.to(device);
  tokens = tokens.to(device);
  target_lengths = target_lengths.to(device);
  target = target.to(device);

  m::AcousticModelOptions o = light ? m::AcousticModelOptions::Light(vocab, absl::GetFlag(FLAGS_max_duration))
                                    : m::AcousticModelOptions::Prototype(vocab, absl::GetFlag(FLAGS_max_duration));
  o.use_predictor = false;
  m::AcousticModel model = Get(m::AcousticModel::Create(o));
  model->to(device);
  model->train();
  std::vector<torch::Tensor> actor = model->encoder()->parameters();
  for (const auto& p : model->policy()->parameters()) actor.push_back(p);
  torch::optim::Adam opt_all(model->parameters(), torch::optim::AdamOptions(1e-3));
  torch::optim::Adam opt_actor(actor, torch::optim::AdamOptions(1e-3));
  rl::ReinforceOptions ro;
  ro.entropy_coef = 0.01;

  double sample_lr = 0;
  auto step = [&]() {
    torch::Tensor enc = model->Encode(tokens, mask);
    torch::Tensor logits = model->PolicyLogits(enc, mask);
    Sync(device);
    const auto t0 = Clock::now();
    rl::CategoricalPolicy policy = Get(rl::CategoricalPolicy::Create(logits, mask));
    rl::SampledActions s = policy.Sample(1);
    m::Expanded ex = Get(m::RegulateLength(enc, s.durations[0], mask, {}, target_lengths));
    Sync(device);
    sample_lr += std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    torch::Tensor mel = model->decoder()->forward(ex.frames, ex.frame_mask).mel;
    torch::Tensor fm = ex.frame_mask.unsqueeze(-1).to(torch::kFloat);
    torch::Tensor mel_loss = ((mel - target).square() * fm).sum() / (fm.sum() * mel.size(2));
    torch::Tensor reward = Get(rl::PerTokenReward(mel.detach(), target, ex.frame_to_token, ex.frame_mask, n));
    torch::Tensor adv = Get(rl::BatchNormalizedAdvantage(reward, mask));
    rl::ReinforceLossTerms pg = Get(rl::ReinforceLoss(s.log_prob, adv.unsqueeze(0), mask, policy.Entropy(), ro));
    std::vector<torch::Tensor> grads = torch::autograd::grad({pg.loss}, actor, {}, /*retain_graph=*/true);
    opt_all.zero_grad();
    mel_loss.backward();
    opt_all.step();
    for (size_t i = 0; i < actor.size(); ++i) actor[i].mutable_grad() = grads[i];
    opt_actor.step();
    // The policy gradients may be views (autograd::grad), which zero_grad cannot detach in place.
    for (auto& p : actor) p.mutable_grad() = torch::Tensor();
  };
  for (int i = 0; i < absl::GetFlag(FLAGS_warmup); ++i) step();
  sample_lr = 0;
  Sync(device);
  const auto start = Clock::now();
  const int iters = absl::GetFlag(FLAGS_iters);
  for (int i = 0; i < iters; ++i) step();
  Sync(device);
  Result r;
  r.step_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count() / iters;
  r.sample_lr_ms = sample_lr / iters;
  for (const auto& p : model->parameters()) r.params += p.numel();
  return r;
}

// Runs the PyTorch twin with this run's flags; its JSON line goes to *json.
bool RunTwin(std::string* json) {
  const std::string cmd = absl::StrCat(
      absl::GetFlag(FLAGS_python), " ", absl::GetFlag(FLAGS_twin), " --batch ", absl::GetFlag(FLAGS_batch), " --tokens ",
      absl::GetFlag(FLAGS_tokens), " --frames_per_token ", absl::GetFlag(FLAGS_frames_per_token), " --vocab ",
      absl::GetFlag(FLAGS_vocab), " --max_duration ", absl::GetFlag(FLAGS_max_duration), " --threads ",
      absl::GetFlag(FLAGS_threads), " --warmup ", absl::GetFlag(FLAGS_warmup), " --iters ", absl::GetFlag(FLAGS_iters),
      " --device ", BenchDevice().str());
  std::printf("pytorch twin: %s\n", cmd.c_str());
  std::fflush(stdout);
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return false;
  char buf[4096];
  while (size_t got = std::fread(buf, 1, sizeof(buf), pipe)) json->append(buf, got);
  if (pclose(pipe) != 0) {
    std::fprintf(stderr, "the PyTorch twin failed\n");
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  torch::set_num_threads(absl::GetFlag(FLAGS_threads));
  const torch::Device device = BenchDevice();
  std::printf("device %s\n", device.str().c_str());
  std::printf("batch %lld, tokens %lld (utterance i: tokens - 3i), %lld frames/token, K %lld, %d threads, %d warmup + %d timed steps\n",
              static_cast<long long>(absl::GetFlag(FLAGS_batch)), static_cast<long long>(absl::GetFlag(FLAGS_tokens)),
              static_cast<long long>(absl::GetFlag(FLAGS_frames_per_token)),
              static_cast<long long>(absl::GetFlag(FLAGS_max_duration)), absl::GetFlag(FLAGS_threads),
              absl::GetFlag(FLAGS_warmup), absl::GetFlag(FLAGS_iters));
  if (absl::GetFlag(FLAGS_python).empty()) {
    const Result proto = Bench(false, device), light = Bench(true, device);
    std::printf("libtorch  prototype: %.1f ms/step, light: %.1f ms/step\n", proto.step_ms, light.step_ms);
    return 0;
  }
  std::string json;
  Result proto, light;
  if (absl::GetFlag(FLAGS_twin_first)) {
    if (!RunTwin(&json)) return 1;
  }
  proto = Bench(false, device);
  light = Bench(true, device);
  std::printf("libtorch  prototype: %.1f ms/step (sample+regulate %.2f ms, %.2f%%), %lld params\n", proto.step_ms,
              proto.sample_lr_ms, 100 * proto.sample_lr_ms / proto.step_ms, static_cast<long long>(proto.params));
  std::printf("libtorch  light:     %.1f ms/step (sample+regulate %.2f ms, %.2f%%), %lld params\n", light.step_ms,
              light.sample_lr_ms, 100 * light.sample_lr_ms / light.step_ms, static_cast<long long>(light.params));
  std::printf("libtorch  prototype / light: %.2fx\n", proto.step_ms / light.step_ms);
  std::fflush(stdout);
  if (!absl::GetFlag(FLAGS_twin_first)) {
    if (!RunTwin(&json)) return 1;
  }
  std::printf("pytorch   %s", json.c_str());
  // {"prototype": {"step_ms": X, "sample_lr_ms": Y, ...}, "light": {"step_ms": X, ...}}
  auto step_ms = [&](const std::string& name) {
    const size_t at = json.find("\"step_ms\": ", json.find("\"" + name + "\""));
    return at == std::string::npos ? -1.0 : std::strtod(json.c_str() + at + 11, nullptr);
  };
  const double py_proto = step_ms("prototype"), py_light = step_ms("light");
  std::printf("pytorch   prototype: %.1f ms/step, light: %.1f ms/step\n", py_proto, py_light);
  std::printf("prototype: libtorch / pytorch time = %.3f (target <= 1.05)\n", proto.step_ms / py_proto);
  std::printf("light:     pytorch / libtorch time = %.3f (target >= 1.3)\n", py_light / light.step_ms);
  std::printf("libtorch light vs prototype: %.2fx faster (target >= 5)\n", proto.step_ms / light.step_ms);
  std::printf("sampling + length regulation: prototype %.2f%%, light %.2f%% of the step (target < 2%%)\n",
              100 * proto.sample_lr_ms / proto.step_ms, 100 * light.sample_lr_ms / light.step_ms);
  return 0;
}
