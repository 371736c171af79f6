// vktrain-info: the device report of every Vulkan device, marking the one vktrain would choose.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <vktrain/vktrain.hpp>

int main(int argc, char** argv) {
  CLI::App app{"Report the Vulkan devices vktrain sees and the one it would use."};
  std::string select;
  app.add_option("--device", select, "index or name substring (default: VKTRAIN_DEVICE, or the best)");
  CLI11_PARSE(app, argc, argv);
  try {
    std::vector<vkt::DeviceInfo> devices = vkt::Device::list();
    vkt::Device chosen = vkt::Device::open({.select = select, .cache_dir = "none"});
    std::printf("vktrain sees %zu Vulkan device(s); it uses device %u.\n\n", devices.size(),
                chosen.info().index);
    for (const vkt::DeviceInfo& info : devices) {
      std::printf("%s%s\n", info.index == chosen.info().index ? "[chosen] " : "",
                  vkt::describe(info).c_str());
    }
    // What the chosen device does with float16-input matmuls (the vendor allowlist, and
    // VKTRAIN_COOPERATIVE_MATRIX, decide).
    std::printf("float16-input matmuls on device %u: %s\n", chosen.info().index,
                vkt::cooperative_matmul_available(chosen)
                    ? "cooperative matrices (matmul_coopmat)"
                    : "rounded operands, then the float32 kernels");
  } catch (const vkt::Error& error) {
    std::fprintf(stderr, "vktrain-info: %s\n", error.what());
    return 1;
  }
  return 0;
}
