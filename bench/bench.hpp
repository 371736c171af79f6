// vktrain-bench: the device's measured ceilings, vktrain's kernels against them, and peers.
//
// Timing: a repetition records `inner` calls of a kernel, waits for the device, and counts
// (elapsed / inner); kernels are warmed up first (pipelines compiled, memory touched), and the
// median over repetitions is reported. Elapsed is device time between two timestamps where the
// queue writes them (Scheduler::timestamp), else host wall time around Device::synchronize(),
// which includes launch and submission overhead — amortised by `inner` (chosen so one repetition
// lasts about `target_seconds`), it matters only for tiny kernels.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "vktrain/vktrain.hpp"

namespace vkt::bench {

struct Options {
  bool quick = false;            // tiny sizes, few repetitions: the ctest smoke run
  bool large = false;            // also matmul 2048 and 4096
  bool peers = false;            // run bench/peers/torch_peer.py on the same shapes
  int repetitions = 7;           // medians over this many
  double target_seconds = 0.25;  // of one repetition
  std::string filter;            // substring of kernel names to run (empty: all)
  std::string python = "/usr/bin/python3";
  std::string peer_script;          // bench/peers/torch_peer.py
  std::string peer_device = "cpu";  // or "cuda"
  int peer_threads = 0;             // 0: the CPUs this process may run on
  bool profile = false;             // also each kernel row's device time by shader (vkt::Profiler)
};

// Per call. With device timestamps (Scheduler::timestamp) the figures are device time between a
// timestamp before and one after each repetition's calls, else host wall time around them;
// host_median_s is always the host's.
struct Timing {
  double median_s = 0, min_s = 0, max_s = 0;
  double host_median_s = 0;
  bool device_clock = false;
  int repetitions = 0, inner = 0;
};

// The median of the values (0 for none).
double median(std::vector<double> values);

// Runs `body` (which records work on `device`) warm-up, calibration and repetitions as above.
Timing measure(const Device& device, const std::function<void()>& body, const Options& options);

// As measure(), for bodies to be compared: each is warmed up and calibrated, then the repetitions
// alternate between them (a repetition of the first, of the second, ... and again), so a machine
// whose speed drifts during the run (a shared VM, a GPU's clocks) slows them alike.
std::vector<Timing> measure_interleaved(const Device& device,
                                        const std::vector<std::function<void()>>& bodies,
                                        const Options& options);

// The roofline ceilings: peak float32 FMA rate and copy bandwidth, as measured.
struct Ceilings {
  double fma_gflops = 0;
  double copy_gbs = 0;
  std::string fma_kernel;  // which variant gave the peak
  std::string copy_kernel;
  struct Sample {
    std::string name;
    double value = 0;  // GFLOP/s or GB/s
    Timing timing;
  };
  std::vector<Sample> samples;  // every variant measured
  // The best variants again, for measure_kernel() to time alongside each kernel (their buffers
  // live as long as these), and the work one call does (flops, bytes read + written).
  std::function<void()> fma_call, copy_call;
  double fma_call_flops = 0, copy_call_bytes = 0;
};
Ceilings measure_ceilings(const Device& device, const Options& options);

// One kernel's result. flops and bytes are what the kernel is credited with (2 per multiply-add;
// compulsory bytes: each input read once, each output written once); the bound is the roofline
// min(fma_gflops, intensity · copy_gbs) of the ceilings measured first, and fraction is achieved
// over that ceiling as measured again in repetitions alternating with the kernel's (a host whose
// speed drifts during the run moves both alike; on this project's shared 2-core VMs the same
// kernel's fraction of the start-of-run ceiling moved by ±20 points between runs).
struct KernelResult {
  std::string name;
  std::string family;  // "matmul", "conv2d", ...
  double flops = 0;
  double bytes = 0;
  Timing timing;
  double gflops() const { return flops / timing.median_s * 1e-9; }
  double gbs() const { return bytes / timing.median_s * 1e-9; }
  // Filled by measure_kernel(): the roofline bound and the fraction of it achieved.
  std::string bound;       // "fma" or "bytes"
  double bound_value = 0;  // the ceiling alongside: GFLOP/s when bound is fma, GB/s when bytes
  double fraction = 0;
  Timing ceiling_timing;  // of the ceiling's call, in the kernel's alternating repetitions
  // With --profile: the row's calls' device time by shader, over profiled_calls calls.
  std::vector<KernelTime> profile;
  int profiled_calls = 0;
};
// Times `body` (result.flops and result.bytes set) in repetitions alternating with the bounding
// ceiling's best variant, and fills timing, bound, bound_value, fraction and ceiling_timing.
void measure_kernel(const Device& device, KernelResult& result, const std::function<void()>& body,
                    const Ceilings& ceilings, const Options& options);

// A shape both vktrain and a peer run; the peer gets the same description.
struct PeerCase {
  std::string name;  // the kernel's name in KernelResult
  std::string kind;  // "matmul", "conv2d_forward", "conv2d_backward_data", "conv2d_backward_weight"
  // matmul: C (m, n) = op(A) (m, k) · op(B) (k, n)
  int64_t m = 0, n = 0, k = 0;
  bool transpose_a = false, transpose_b = false;
  bool float16_inputs = false;  // the peer multiplies float16 copies, summing in float32
  // conv2d: x (batch, cin, h, w), weight (cout, cin, kernel, kernel), stride 1
  int64_t batch = 0, cin = 0, cout = 0, h = 0, w = 0, kernel = 0, pad = 0;
};

struct KernelRun {
  std::vector<KernelResult> results;
  std::vector<PeerCase> peer_cases;
};
// Every kernel of the suite (matmul, conv2d, batch norm, dropout, cross-entropy), each measured
// against `ceilings` (measure_kernel).
KernelRun run_kernels(const Device& device, const Ceilings& ceilings, const Options& options);

struct PeerResult {
  std::string name;  // a kernel's name, or a training step's with " vs eager" / " vs graphs"
  std::string peer;  // e.g. "torch 1.13.0 cpu, 2 threads"
  std::string unit;  // "GFLOP/s" or "images/s"
  double ours = 0, theirs = 0;
  double ratio = 0;  // ours / theirs
};

// A whole training step (forward, cross-entropy, backward, optimizer) of a sample model; the peer
// script builds the same model from these fields (bench/peers/torch_peer.py).
struct TrainingStepCase {
  std::string name;       // "train_cnn_b128"
  std::string model;      // "cnn" or "mlp" (samples/trainer/models.cpp)
  std::string optimizer;  // "adam" or "sgd"
  double lr = 0, momentum = 0;
  float dropout = 0, input_dropout = 0;
  std::vector<int64_t> conv_channels;
  int convs_per_block = 1;
  int64_t batch = 0;
  // The model's matmuls on float16 inputs (set_matmul_precision; the peer: torch.autocast).
  bool float16_matmuls = false;
};
struct TrainingStepResult {
  TrainingStepCase config;
  Timing eager, replay;                        // per step
  double eager_host_s = 0, replay_host_s = 0;  // host CPU time per step (median)
  uint64_t dispatches = 0, barriers = 0;       // of the captured step
  // Where an eager step's device time goes (vkt::Profiler over profiled_steps steps), where the
  // device writes timestamps.
  std::vector<KernelTime> profile;
  int profiled_steps = 0;
  double eager_images_per_s() const { return double(config.batch) / eager.median_s; }
  double replay_images_per_s() const { return double(config.batch) / replay.median_s; }
};
std::vector<TrainingStepCase> training_step_cases(const Device& device, const Options& options);
std::vector<TrainingStepResult> run_training_steps(const Device& device,
                                                   const std::vector<TrainingStepCase>& cases,
                                                   const Options& options);

// Runs the peer script on the kernel cases and training steps; empty (with `note` saying why) when
// Python or torch is missing. Training steps compare our replayed step with theirs eager and, on
// CUDA, replayed as a CUDA graph.
std::vector<PeerResult> run_peers(const std::vector<PeerCase>& cases,
                                  const std::vector<KernelResult>& ours,
                                  const std::vector<TrainingStepResult>& steps,
                                  const Options& options, std::string& note);

// Helpers shared by the bench files.
bool selected(const Options& options, const std::string& name);
std::vector<float> random_values(size_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f);

}  // namespace vkt::bench
