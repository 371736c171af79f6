// vktrain-conformance: runs every op's conformance case on a GPU (or all of them) against float64
// CPU references and reports a table, JSON and JUnit. Exits non-zero on any failure.
#include <fnmatch.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vktrain/io.hpp>
#include <vktrain/vktrain.hpp>

#include "conformance.hpp"

namespace {

using vkt::conformance::Case;
using vkt::conformance::Result;

struct Run {
  vkt::DeviceInfo device;
  std::vector<Result> results;
  std::vector<double> seconds;  // per result, the time of its case
  uint64_t seed = 0;
  size_t passed() const {
    size_t n = 0;
    for (const Result& r : results) n += r.passed;
    return n;
  }
};

bool selected(const Case& c, const std::string& filter) {
  if (filter.empty()) return true;
  std::string name = c.op + "/" + c.name;
  if (filter.find_first_of("*?[") != std::string::npos)
    return fnmatch(filter.c_str(), name.c_str(), 0) == 0;
  return name.find(filter) != std::string::npos;
}

nlohmann::json device_json(const vkt::DeviceInfo& info) {
  nlohmann::json heaps = nlohmann::json::array();
  for (const auto& heap : info.heaps) heaps.push_back({{"size", heap.size}, {"device_local", heap.device_local}});
  return {{"index", info.index},
          {"name", info.name},
          {"type", info.type},
          {"vendor", info.vendor},
          {"vendor_id", info.vendor_id},
          {"driver", info.driver},
          {"api_version", info.api_version},
          {"subgroup_size", info.subgroup_size},
          {"max_shared_memory", info.max_shared_memory},
          {"max_workgroup_invocations", info.max_workgroup_invocations},
          {"max_storage_buffer_range", info.max_storage_buffer_range},
          {"memory_heaps", heaps},
          {"features",
           {{"fp16_arithmetic", info.fp16_arithmetic},
            {"storage_16bit", info.storage_16bit},
            {"float_atomics", info.float_atomics},
            {"subgroup_size_control", info.subgroup_size_control},
            {"cooperative_matrix", info.cooperative_matrix},
            {"cooperative_matmul_f16", info.cooperative_matmul_f16},
            {"timestamp_queries", info.timestamp_queries},
            {"push_descriptors", info.push_descriptors}}}};
}

nlohmann::json run_json(const Run& run) {
  nlohmann::json cases = nlohmann::json::array();
  for (const Result& r : run.results) {
    auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
    nlohmann::json entry = {{"op", r.op},       {"case", r.name},
                            {"shape", r.shape}, {"error", number(r.error)},
                            {"tolerance", number(r.tolerance)}, {"passed", r.passed}};
    if (!r.passed) entry["note"] = r.note;
    cases.push_back(entry);
  }
  return {{"device", device_json(run.device)},
          {"seed", run.seed},
          {"cases", cases},
          {"summary", {{"passed", run.passed()}, {"failed", run.results.size() - run.passed()}}}};
}

std::string xml_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string junit(const std::vector<Run>& runs) {
  std::ostringstream xml;
  xml << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n";
  for (const Run& run : runs) {
    xml << "  <testsuite name=\"vktrain-conformance on " << xml_escape(run.device.name)
        << "\" tests=\"" << run.results.size() << "\" failures=\""
        << run.results.size() - run.passed() << "\">\n";
    for (size_t i = 0; i < run.results.size(); ++i) {
      const Result& r = run.results[i];
      xml << "    <testcase classname=\"" << xml_escape(r.op) << "\" name=\"" << xml_escape(r.name)
          << "\" time=\"" << run.seconds[i] << "\">";
      if (!r.passed)
        xml << "<failure message=\"" << xml_escape(r.note) << "\">error " << r.error
            << ", tolerance " << r.tolerance << ", shape " << xml_escape(r.shape) << "</failure>";
      xml << "</testcase>\n";
    }
    xml << "  </testsuite>\n";
  }
  xml << "</testsuites>\n";
  return xml.str();
}

Run run_device(const std::string& select, bool validation, const std::string& filter, uint64_t seed) {
  vkt::Device device = vkt::Device::open({.select = select, .validation = validation});
  Run run{device.info(), {}, {}, seed};
  for (const Case& c : vkt::conformance::cases()) {
    if (!selected(c, filter)) continue;
    auto start = std::chrono::steady_clock::now();
    std::vector<Result> results = vkt::conformance::run_case(c, device, seed);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (Result& r : results) {
      run.results.push_back(std::move(r));
      run.seconds.push_back(seconds / double(results.size()));
    }
  }
  return run;
}

void print_table(const Run& run) {
  std::printf("%s\n", vkt::describe(run.device).c_str());
  std::printf("%-16s %-44s %-28s %10s %10s  %s\n", "op", "case", "shape", "error", "tolerance",
              "result");
  for (const Result& r : run.results) {
    std::printf("%-16s %-44s %-28s %10.3g %10.3g  %s\n", r.op.c_str(), r.name.c_str(),
                r.shape.substr(0, 28).c_str(), r.error, r.tolerance, r.passed ? "pass" : "FAIL");
    if (!r.passed && !r.note.empty()) std::printf("    %s\n", r.note.c_str());
  }
  std::printf("\n%zu passed, %zu failed on %s (seed %llu)\n\n", run.passed(),
              run.results.size() - run.passed(), run.device.name.c_str(),
              static_cast<unsigned long long>(run.seed));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Run vktrain's kernel conformance suite against float64 CPU references."};
  std::string select, filter, json_file, junit_file;
  bool all_devices = false, list = false, validation = false;
  uint64_t seed = 0;
  app.add_option("--device", select, "device index or name substring (default: the best)");
  app.add_flag("--all-devices", all_devices, "run on every Vulkan device");
  app.add_option("--filter", filter, "run cases whose op/case name contains this, or matches a glob");
  app.add_flag("--list", list, "list the cases and exit");
  app.add_option("--json", json_file, "write the results as JSON");
  app.add_option("--junit", junit_file, "write the results as JUnit XML");
  app.add_flag("--validation", validation, "enable the Khronos validation layer");
  app.add_option("--seed", seed, "random seed (default: fresh, printed)");
  CLI11_PARSE(app, argc, argv);

  if (list) {
    for (const Case& c : vkt::conformance::cases())
      if (selected(c, filter)) std::printf("%s/%s\n", c.op.c_str(), c.name.c_str());
    return 0;
  }
  if (seed == 0) seed = vkt::conformance::run_seed();
  try {
    std::vector<Run> runs;
    if (all_devices) {
      for (const vkt::DeviceInfo& info : vkt::Device::list())
        runs.push_back(run_device(std::to_string(info.index), validation, filter, seed));
    } else {
      runs.push_back(run_device(select, validation, filter, seed));
    }
    size_t failed = 0, total = 0;
    for (const Run& run : runs) {
      print_table(run);
      failed += run.results.size() - run.passed();
      total += run.results.size();
    }
    if (!json_file.empty()) {
      nlohmann::json document;
      if (runs.size() == 1) {
        document = run_json(runs[0]);
      } else {
        document["runs"] = nlohmann::json::array();
        for (const Run& run : runs) document["runs"].push_back(run_json(run));
        document["summary"] = {{"passed", total - failed}, {"failed", failed}};
      }
      vkt::write_file_atomic(json_file, document.dump(2) + "\n");
    }
    if (!junit_file.empty()) vkt::write_file_atomic(junit_file, junit(runs));
    if (total == 0) {
      std::fprintf(stderr, "vktrain-conformance: no case matches '%s'\n", filter.c_str());
      return 2;
    }
    return failed == 0 ? 0 : 1;
  } catch (const vkt::Error& error) {
    std::fprintf(stderr, "vktrain-conformance: %s\n", error.what());
    return 2;
  }
}
