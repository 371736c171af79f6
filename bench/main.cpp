// vktrain-bench: measures the device's ceilings (peak FMA rate, copy bandwidth), times vktrain's
// kernels and reports each as GFLOP/s or GB/s and as the fraction of the roofline bound it reaches,
// optionally next to PyTorch (CPU or CUDA) for the same shapes (--peers). A table goes to stdout;
// --json FILE writes the same figures for scripts. See docs/performance.md.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <thread>

#include "bench.hpp"
#include "vktrain/io.hpp"

#ifndef VKTRAIN_BENCH_PEER_SCRIPT
#define VKTRAIN_BENCH_PEER_SCRIPT ""
#endif

namespace {

using namespace vkt;
using namespace vkt::bench;

std::string today() {
  std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
  return text;
}

nlohmann::json timing_json(const Timing& t) {
  return {{"median_ms", t.median_s * 1e3},
          {"min_ms", t.min_s * 1e3},
          {"max_ms", t.max_s * 1e3},
          {"host_median_ms", t.host_median_s * 1e3},
          {"clock", t.device_clock ? "device" : "host"},
          {"repetitions", t.repetitions},
          {"inner", t.inner}};
}

nlohmann::json device_json(const DeviceInfo& info) {
  return {{"name", info.name},
          {"type", info.type},
          {"vendor", info.vendor},
          {"vendor_id", info.vendor_id},
          {"driver", info.driver},
          {"api_version", info.api_version},
          {"subgroup_size", info.subgroup_size},
          {"max_shared_memory", info.max_shared_memory},
          {"max_workgroup_invocations", info.max_workgroup_invocations},
          {"timestamp_queries", info.timestamp_queries},
          {"host_threads", std::thread::hardware_concurrency()},
          {"timing", "host wall time around Device::synchronize(), median of repetitions"},
          {"date", today()}};
}

void print_table(const DeviceInfo& info, const Ceilings& ceilings,
                 const std::vector<KernelResult>& kernels, const std::vector<PeerResult>& peers,
                 const std::vector<TrainingStepResult>& steps, const std::string& peer_note) {
  std::printf("device: %s (%s), subgroup size %u\n", info.name.c_str(), info.driver.c_str(),
              info.subgroup_size);
  bool device_clock = !ceilings.samples.empty() && ceilings.samples.front().timing.device_clock;
  std::printf("timing: %s, medians\n\n",
              device_clock ? "device timestamps" : "host wall time around synchronize()");
  std::printf("ceilings\n");
  for (const auto& s : ceilings.samples) {
    bool fma = s.name.rfind("fma", 0) == 0;
    std::printf("  %-22s %10.2f %s\n", s.name.c_str(), s.value, fma ? "GFLOP/s" : "GB/s");
  }
  std::printf("  => fma %.2f GFLOP/s (%s), copy %.2f GB/s (%s)\n\n", ceilings.fma_gflops,
              ceilings.fma_kernel.c_str(), ceilings.copy_gbs, ceilings.copy_kernel.c_str());
  std::printf("%-46s %10s %9s %9s %6s %8s\n", "kernel", "ms", "GFLOP/s", "GB/s", "bound",
              "of bound");
  for (const KernelResult& k : kernels) {
    std::printf("%-46s %10.3f %9.2f %9.2f %6s %7.1f%%\n", k.name.c_str(), k.timing.median_s * 1e3,
                k.gflops(), k.gbs(), k.bound.c_str(), 100 * k.fraction);
  }
  for (const KernelResult& k : kernels) {
    if (k.profile.empty()) continue;
    std::printf("\n%s: device time by kernel, per call (%d calls profiled)\n%s", k.name.c_str(),
                k.profiled_calls, profile_table(k.profile, 10, k.profiled_calls).c_str());
  }
  if (!peer_note.empty()) std::printf("\n%s\n", peer_note.c_str());
  if (!peers.empty()) {
    std::printf("%-46s %10s %10s %8s %9s\n", "peer case", "ours", "theirs", "ratio", "unit");
    for (const PeerResult& p : peers)
      std::printf("%-46s %10.2f %10.2f %8.3f %9s\n", p.name.c_str(), p.ours, p.theirs, p.ratio,
                  p.unit.c_str());
  }
  if (!steps.empty()) {
    std::printf("\n%-22s %11s %11s %11s %11s %7s %7s %10s\n", "training step", "eager ms",
                "replay ms", "eager img/s", "replay img/s", "host ms", "host %", "disp/barr");
    for (const auto& s : steps) {
      double host_fraction = s.replay_host_s / s.replay.median_s;
      std::printf("%-22s %11.3f %11.3f %11.1f %11.1f %7.3f %6.1f%% %5llu/%llu\n",
                  s.config.name.c_str(), s.eager.median_s * 1e3, s.replay.median_s * 1e3,
                  s.eager_images_per_s(), s.replay_images_per_s(), s.replay_host_s * 1e3,
                  100 * host_fraction, static_cast<unsigned long long>(s.dispatches),
                  static_cast<unsigned long long>(s.barriers));
    }
    std::printf(
        "(host ms: CPU time of the calling thread per replayed step; host %%: of the step)\n");
    for (const auto& s : steps) {
      if (s.profile.empty()) continue;
      std::printf("\n%s, eager: device time by kernel, per step (%d steps profiled)\n%s",
                  s.config.name.c_str(), s.profiled_steps,
                  profile_table(s.profile, 10, s.profiled_steps).c_str());
    }
  }
}

// A profile over `runs` steps (or a kernel row's calls), per run.
nlohmann::json profile_json(const std::vector<KernelTime>& profile, int runs) {
  double total = 0;
  for (const KernelTime& k : profile) total += k.seconds;
  nlohmann::json kernels = nlohmann::json::array();
  for (const KernelTime& k : profile)
    kernels.push_back({{"name", k.name},
                       {"scope", k.scope},
                       {"calls", k.calls},
                       {"calls_per_step", double(k.calls) / runs},
                       {"ms_per_step", k.seconds * 1e3 / runs},
                       {"share", total > 0 ? k.seconds / total : 0.0}});
  return {{"steps", runs}, {"kernels", kernels}};
}

nlohmann::json report_json(const DeviceInfo& info, const Ceilings& ceilings,
                           const std::vector<KernelResult>& kernels,
                           const std::vector<PeerResult>& peers,
                           const std::vector<TrainingStepResult>& steps, const Options& options) {
  nlohmann::json report;
  report["device"] = device_json(info);
  report["options"] = {{"quick", options.quick},
                       {"large", options.large},
                       {"repetitions", options.repetitions},
                       {"target_seconds", options.target_seconds}};
  report["ceilings"] = {{"fma_gflops", ceilings.fma_gflops},
                        {"copy_gbs", ceilings.copy_gbs},
                        {"fma_kernel", ceilings.fma_kernel},
                        {"copy_kernel", ceilings.copy_kernel},
                        {"samples", nlohmann::json::array()}};
  for (const auto& s : ceilings.samples)
    report["ceilings"]["samples"].push_back(
        {{"name", s.name}, {"value", s.value}, {"timing", timing_json(s.timing)}});
  report["kernels"] = nlohmann::json::array();
  for (const KernelResult& k : kernels) {
    nlohmann::json j{{"name", k.name},
                     {"family", k.family},
                     {"gflops", k.flops > 0 ? nlohmann::json(k.gflops()) : nlohmann::json()},
                     {"gbs", k.gbs()},
                     {"bound", k.bound},
                     {"bound_value", k.bound_value},
                     {"ceiling_timing", timing_json(k.ceiling_timing)},
                     {"fraction_of_ceiling", k.fraction},
                     {"flops", k.flops},
                     {"bytes", k.bytes},
                     {"timing", timing_json(k.timing)}};
    if (!k.profile.empty()) j["profile"] = profile_json(k.profile, k.profiled_calls);
    report["kernels"].push_back(j);
  }
  report["training_steps"] = nlohmann::json::array();
  for (const auto& s : steps)
    report["training_steps"].push_back(
        {{"name", s.config.name},
         {"model", s.config.model},
         {"batch", s.config.batch},
         {"eager_images_per_s", s.eager_images_per_s()},
         {"replay_images_per_s", s.replay_images_per_s()},
         {"host_ms_per_step", s.replay_host_s * 1e3},
         {"eager_host_ms_per_step", s.eager_host_s * 1e3},
         {"dispatches", s.dispatches},
         {"barriers", s.barriers},
         {"eager_timing", timing_json(s.eager)},
         {"eager_profile", profile_json(s.profile, s.profiled_steps)},
         {"replay_timing", timing_json(s.replay)}});
  report["peers"] = nlohmann::json::array();
  for (const PeerResult& p : peers)
    report["peers"].push_back({{"name", p.name},
                               {"peer", p.peer},
                               {"unit", p.unit},
                               {"ours", p.ours},
                               {"theirs", p.theirs},
                               {"ratio", p.ratio}});
  return report;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Measure the device's ceilings and vktrain's kernels against them."};
  Options options;
  options.peer_script = VKTRAIN_BENCH_PEER_SCRIPT;
  std::string json_path, select;
  app.add_flag("--quick", options.quick, "tiny sizes and few repetitions (a smoke run)");
  app.add_flag("--large", options.large, "also matmul 2048 and 4096");
  app.add_flag("--peers", options.peers, "time the same shapes with PyTorch (--peer-device)");
  app.add_option("--json", json_path, "write the results to this file as JSON");
  app.add_option("--filter", options.filter, "run only kernels whose name contains this");
  app.add_option("--repetitions", options.repetitions, "repetitions per kernel (median)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--target", options.target_seconds, "seconds per repetition")
      ->check(CLI::Range(1e-4, 60.0));
  app.add_option("--python", options.python, "the interpreter for --peers (needs torch)");
  app.add_option("--peer-script", options.peer_script,
                 "the peer script (bench/peers/torch_peer.py)");
  app.add_option("--peer-device", options.peer_device, "where the peer runs: cpu or cuda")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  app.add_option("--peer-threads", options.peer_threads, "threads for the peer (default: CPUs)");
  app.add_flag("--profile", options.profile,
               "also each kernel row's device time by shader (3 calls, vkt::Profiler)");
  app.add_option("--device", select, "index or name substring (default: VKTRAIN_DEVICE, or best)");
  CLI11_PARSE(app, argc, argv);
  if (options.quick) {
    options.repetitions = std::min(options.repetitions, 3);
    options.target_seconds = std::min(options.target_seconds, 0.01);
  }

  try {
    Device device = Device::open({.select = select});
    const DeviceInfo& info = device.info();
    std::fprintf(stderr, "vktrain-bench on %s; ceilings...\n", info.name.c_str());
    Ceilings ceilings = measure_ceilings(device, options);
    std::fprintf(stderr, "kernels...\n");
    KernelRun run = run_kernels(device, ceilings, options);
    std::fprintf(stderr, "training steps...\n");
    std::vector<TrainingStepResult> steps =
        run_training_steps(device, training_step_cases(device, options), options);
    std::vector<PeerResult> peers;
    std::string peer_note;
    if (options.peers) {
      std::fprintf(stderr, "peers...\n");
      peers = run_peers(run.peer_cases, run.results, steps, options, peer_note);
    }
    print_table(info, ceilings, run.results, peers, steps, peer_note);
    if (!json_path.empty())  // atomically: a reader never sees half a report
      write_file_atomic(
          json_path,
          report_json(info, ceilings, run.results, peers, steps, options).dump(2) + "\n");
    if (device.validation_enabled() && device.validation_messages() > 0) {
      std::fprintf(stderr, "vktrain-bench: %llu validation message(s); last: %s\n",
                   static_cast<unsigned long long>(device.validation_messages()),
                   device.last_validation_message().c_str());
      return 1;
    }
  } catch (const vkt::Error& error) {
    std::fprintf(stderr, "vktrain-bench: %s\n", error.what());
    return 1;
  }
  return 0;
}
