// One full training step (forward, mel and policy-gradient losses, both backward passes, both
// optimizer steps) of the prototype and light configurations in LibTorch, beside the same step in
// PyTorch (tools/bench_model.py, run by this binary with the same flags), on the CPU or CUDA (--device).
//   bazel run -c opt //tools:bench_model -- --threads=2
#include <algorithm>
#include <chrono>
#include <iterator>
#include <optional>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "model/acoustic_model.h"
#include "model/flat_adam.h"
#include "model/length_regulator.h"
#include "rl/baselines.h"
#include "rl/categorical.h"
#include "rl/reinforce.h"
#include "rl/rewards.h"
#include "train/device.h"

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
ABSL_FLAG(bool, flat_adam, true, "Adam on one flat buffer (model::FlatAdam) instead of torch::optim::Adam.");
ABSL_FLAG(std::string, configs, "prototype,light", "Which configurations to time: prototype, light or both.");

namespace {

namespace m = lightspeech::model;
namespace rl = lightspeech::rl;
using Clock = std::chrono::steady_clock;

// The step's phases, in order (the twin times the same ones).
constexpr const char* kPhases[] = {"encode", "sample_regulate", "decode", "losses", "policy_grad", "mel_backward", "adam"};
constexpr int kNumPhases = sizeof(kPhases) / sizeof(kPhases[0]);

struct Result {
  double step_ms = 0;  // median over the timed steps
  double mean_ms = 0, sample_lr_ms = 0;
  double phase_ms[kNumPhases] = {};  // mean per step
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
  return torch::Device(Get(lightspeech::train::ResolveDevice(absl::GetFlag(FLAGS_device))));
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
  // Adam's update on flat buffers (torch::optim::Adam with --flat_adam=false). The policy head never
  // gets a mel-loss gradient, so torch::optim::Adam (like the twin's) always skips it in opt_all; the
  // flat optimizer 1 simply leaves it out. Packing policy, encoder, decoder makes both optimizers'
  // parameters consecutive runs of one buffer.
  std::optional<torch::optim::Adam> torch_all, torch_actor;
  std::optional<m::FlatAdam> flat_all, flat_actor;
  if (absl::GetFlag(FLAGS_flat_adam)) {
    const std::vector<torch::Tensor> enc = model->encoder()->parameters(), pol = model->policy()->parameters(),
                                     dec = model->decoder()->parameters();
    auto join = [](std::vector<torch::Tensor> a, const std::vector<torch::Tensor>& b) {
      a.insert(a.end(), b.begin(), b.end());
      return a;
    };
    Check(m::FlatAdam::Pack(join(join(pol, enc), dec)));
    m::FlatAdamOptions ao;
    ao.lr = 1e-3;
    flat_all = Get(m::FlatAdam::Create(join(enc, dec), ao));
    flat_actor = Get(m::FlatAdam::Create(join(pol, enc), ao));
  } else {
    torch_all.emplace(model->parameters(), torch::optim::AdamOptions(1e-3));
    torch_actor.emplace(actor, torch::optim::AdamOptions(1e-3));
  }
  rl::ReinforceOptions ro;
  ro.entropy_coef = 0.01;

  double phase_ms[kNumPhases] = {};
  Clock::time_point last;
  auto lap = [&](int phase) {
    Sync(device);
    const Clock::time_point now = Clock::now();
    phase_ms[phase] += std::chrono::duration<double, std::milli>(now - last).count();
    last = now;
  };
  auto step = [&]() {
    Sync(device);
    last = Clock::now();
    torch::Tensor enc = model->Encode(tokens, mask);
    torch::Tensor logits = model->PolicyLogits(enc, mask);
    lap(0);
    rl::CategoricalPolicy policy = Get(rl::CategoricalPolicy::Create(logits, mask));
    rl::SampledActions s = policy.Sample(1);
    m::Expanded ex = Get(m::RegulateLength(enc, s.durations[0], mask, {}, target_lengths));
    lap(1);
    torch::Tensor mel = model->decoder()->forward(ex.frames, ex.frame_mask).mel;
    lap(2);
    torch::Tensor fm = ex.frame_mask.unsqueeze(-1).to(torch::kFloat);
    torch::Tensor mel_loss = ((mel - target).square() * fm).sum() / (fm.sum() * mel.size(2));
    torch::Tensor reward = Get(rl::PerTokenReward(mel.detach(), target, ex.frame_to_token, ex.frame_mask, n));
    torch::Tensor adv = Get(rl::BatchNormalizedAdvantage(reward, mask));
    rl::ReinforceLossTerms pg = Get(rl::ReinforceLoss(s.log_prob, adv.unsqueeze(0), mask, policy.Entropy(), ro));
    lap(3);
    std::vector<torch::Tensor> grads = torch::autograd::grad({pg.loss}, actor, {}, /*retain_graph=*/true);
    lap(4);
    if (flat_all) {
      flat_all->ZeroGrad();
    } else {
      torch_all->zero_grad();
    }
    mel_loss.backward();
    lap(5);
    if (flat_all) {
      Check(flat_all->Step());
    } else {
      torch_all->step();
    }
    for (size_t i = 0; i < actor.size(); ++i) actor[i].mutable_grad() = grads[i];
    if (flat_actor) {
      Check(flat_actor->Step());
    } else {
      torch_actor->step();
    }
    // The policy gradients may be views (autograd::grad), which zero_grad cannot detach in place.
    for (auto& p : actor) p.mutable_grad() = torch::Tensor();
    lap(6);
  };
  for (int i = 0; i < absl::GetFlag(FLAGS_warmup); ++i) step();
  std::fill(std::begin(phase_ms), std::end(phase_ms), 0.0);
  const int iters = absl::GetFlag(FLAGS_iters);
  std::vector<double> steps;
  for (int i = 0; i < iters; ++i) {
    Sync(device);
    const auto start = Clock::now();
    step();
    Sync(device);
    steps.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  Result r;
  for (double t : steps) r.mean_ms += t / iters;
  std::sort(steps.begin(), steps.end());
  r.step_ms = steps[steps.size() / 2];  // the median (upper median for even counts), as the twin reports
  for (int i = 0; i < kNumPhases; ++i) r.phase_ms[i] = phase_ms[i] / iters;
  r.sample_lr_ms = r.phase_ms[1];
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
      " --device ", BenchDevice().str(), " --configs ", absl::GetFlag(FLAGS_configs));
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

// The number after "key": in the JSON object that follows "name": in json, or -1.
double JsonNumber(const std::string& json, const std::string& name, const std::string& key) {
  const size_t object = json.find("\"" + name + "\": {");
  if (object == std::string::npos) return -1;
  const size_t at = json.find("\"" + key + "\": ", object);
  if (at == std::string::npos) return -1;
  return std::strtod(json.c_str() + at + key.size() + 4, nullptr);
}

void PrintResult(const std::string& name, const Result& r) {
  std::printf("libtorch  %-10s %.1f ms/step median (mean %.1f; sample+regulate %.2f ms, %.2f%%), %lld params\n",
              (name + ":").c_str(), r.step_ms, r.mean_ms, r.sample_lr_ms, 100 * r.sample_lr_ms / r.step_ms,
              static_cast<long long>(r.params));
}

// Per-phase means of both languages, side by side.
void PrintPhases(const std::string& name, const Result& r, const std::string& json) {
  std::printf("%s phases (ms/step)   libtorch   pytorch\n", name.c_str());
  for (int i = 0; i < kNumPhases; ++i) {
    std::printf("  %-16s %9.1f %9.1f\n", kPhases[i], r.phase_ms[i], json.empty() ? -1.0 : JsonNumber(json, name, kPhases[i]));
  }
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  torch::set_num_threads(absl::GetFlag(FLAGS_threads));
  const torch::Device device = BenchDevice();
  const std::string configs = absl::GetFlag(FLAGS_configs);
  const bool run_proto = configs.find("prototype") != std::string::npos;
  const bool run_light = configs.find("light") != std::string::npos;
  std::printf("device %s, %d intra-op threads (at::get_num_threads %d)\n", device.str().c_str(), absl::GetFlag(FLAGS_threads),
              torch::get_num_threads());
  std::printf("batch %lld, tokens %lld (utterance i: tokens - 3i), %lld frames/token, K %lld, %d warmup + %d timed steps\n",
              static_cast<long long>(absl::GetFlag(FLAGS_batch)), static_cast<long long>(absl::GetFlag(FLAGS_tokens)),
              static_cast<long long>(absl::GetFlag(FLAGS_frames_per_token)),
              static_cast<long long>(absl::GetFlag(FLAGS_max_duration)), absl::GetFlag(FLAGS_warmup), absl::GetFlag(FLAGS_iters));
  const bool twin = !absl::GetFlag(FLAGS_python).empty();
  std::string json;
  if (twin && absl::GetFlag(FLAGS_twin_first) && !RunTwin(&json)) return 1;
  Result proto, light;
  if (run_proto) {
    proto = Bench(false, device);
    PrintResult("prototype", proto);
  }
  if (run_light) {
    light = Bench(true, device);
    PrintResult("light", light);
  }
  if (run_proto && run_light) std::printf("libtorch  prototype / light: %.2fx\n", proto.step_ms / light.step_ms);
  std::fflush(stdout);
  if (twin && !absl::GetFlag(FLAGS_twin_first) && !RunTwin(&json)) return 1;
  if (twin) std::printf("pytorch   %s", json.c_str());
  if (run_proto) PrintPhases("prototype", proto, json);
  if (run_light) PrintPhases("light", light, json);
  if (!twin) return 0;
  const double py_proto = JsonNumber(json, "prototype", "step_ms"), py_light = JsonNumber(json, "light", "step_ms");
  std::printf("pytorch   prototype: %.1f ms/step, light: %.1f ms/step (medians)\n", py_proto, py_light);
  if (run_proto) std::printf("prototype: libtorch / pytorch time = %.3f (target <= 1.05)\n", proto.step_ms / py_proto);
  if (run_light) std::printf("light:     pytorch / libtorch time = %.3f (target >= 1.3)\n", py_light / light.step_ms);
  if (run_proto && run_light) {
    std::printf("libtorch light vs prototype: %.2fx faster (target >= 5)\n", proto.step_ms / light.step_ms);
  }
  std::printf("sampling + length regulation: prototype %.2f%%, light %.2f%% of the step (target < 2%%)\n",
              run_proto ? 100 * proto.sample_lr_ms / proto.step_ms : 0.0, run_light ? 100 * light.sample_lr_ms / light.step_ms : 0.0);
  return 0;
}
