// Peers: the same matmul and conv2d shapes timed by another implementation in the same run
// (bench/peers/torch_peer.py: PyTorch on the CPU or on CUDA), so a ratio survives a noisy machine.
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bench.hpp"

namespace vkt::bench {

namespace {

int available_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? int(n) : 1;
}

std::string shell_quote(const std::string& s) {
  std::string quoted = "'";
  for (char c : s) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

}  // namespace

std::vector<PeerResult> run_peers(const std::vector<PeerCase>& cases,
                                  const std::vector<KernelResult>& ours,
                                  const std::vector<TrainingStepResult>& steps,
                                  const Options& options, std::string& note) {
  namespace fs = std::filesystem;
  if (cases.empty() && steps.empty()) return {};
  if (!fs::exists(options.python)) {
    note = "peers skipped: no Python at " + options.python;
    return {};
  }
  if (options.peer_script.empty() || !fs::exists(options.peer_script)) {
    note = "peers skipped: no peer script at '" + options.peer_script + "'";
    return {};
  }

  nlohmann::json spec;
  spec["device"] = options.peer_device;
  spec["threads"] = options.peer_threads > 0 ? options.peer_threads : available_cpus();
  spec["repetitions"] = options.repetitions;
  spec["target_seconds"] = options.target_seconds;
  spec["cases"] = nlohmann::json::array();
  for (const PeerCase& c : cases) {
    nlohmann::json j{{"name", c.name}, {"kind", c.kind}};
    if (c.kind == "matmul") {
      j.update({{"m", c.m}, {"n", c.n}, {"k", c.k}, {"transpose_a", c.transpose_a},
                {"transpose_b", c.transpose_b}, {"float16_inputs", c.float16_inputs}});
    } else {
      j.update({{"batch", c.batch}, {"cin", c.cin}, {"cout", c.cout}, {"h", c.h}, {"w", c.w},
                {"kernel", c.kernel}, {"pad", c.pad}});
    }
    spec["cases"].push_back(j);
  }
  for (const TrainingStepResult& step : steps) {
    const TrainingStepCase& c = step.config;
    spec["cases"].push_back({{"name", c.name}, {"kind", "train_step"}, {"model", c.model},
                             {"optimizer", c.optimizer}, {"lr", c.lr}, {"momentum", c.momentum},
                             {"dropout", c.dropout}, {"input_dropout", c.input_dropout},
                             {"conv_channels", c.conv_channels},
                             {"convs_per_block", c.convs_per_block}, {"batch", c.batch},
                             {"float16_matmuls", c.float16_matmuls}});
  }
  fs::path spec_path = fs::temp_directory_path() /
                       ("vktrain-bench-peers-" + std::to_string(getpid()) + ".json");
  std::ofstream(spec_path) << spec.dump();

  std::string command = shell_quote(options.python) + " " + shell_quote(options.peer_script) +
                        " " + shell_quote(spec_path.string());
  std::string output;
  int status = -1;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
    status = pclose(pipe);
  }
  fs::remove(spec_path);
  if (status != 0) {
    note = "peers skipped: '" + command + "' failed (status " + std::to_string(status) + ")";
    return {};
  }

  nlohmann::json reply;
  try {
    reply = nlohmann::json::parse(output);
  } catch (const std::exception& error) {
    note = std::string("peers skipped: unreadable reply from the peer script: ") + error.what();
    return {};
  }
  if (reply.contains("error")) {
    note = "peers skipped: " + reply["error"].get<std::string>();
    return {};
  }
  std::string peer = reply.value("peer", std::string("peer"));
  std::vector<PeerResult> results;
  auto add = [&](std::string name, std::string unit, double ours_value, double theirs) {
    PeerResult p{std::move(name), peer, std::move(unit), ours_value, theirs};
    p.ratio = theirs > 0 ? ours_value / theirs : 0;
    results.push_back(p);
  };
  for (const auto& r : reply["results"]) {
    std::string name = r.at("name").get<std::string>();
    for (const KernelResult& k : ours)
      if (k.name == name) add(name, "GFLOP/s", k.gflops(), r.at("gflops").get<double>());
    for (const TrainingStepResult& s : steps) {
      if (s.config.name != name) continue;
      add(name + " vs eager", "images/s", s.replay_images_per_s(),
          r.at("images_per_s").get<double>());
      if (r.contains("graph_images_per_s"))
        add(name + " vs graphs", "images/s", s.replay_images_per_s(),
            r.at("graph_images_per_s").get<double>());
    }
  }
  note = "peer: " + peer;
  return results;
}

}  // namespace vkt::bench
