// Test runner: Catch2 with every conformance case registered as a test ("op/case", tag [ops]), and
// a listener that fails the run when the validation layer printed anything during a test.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>
#include <memory>
#include <optional>
#include <sstream>

#include "conformance.hpp"
#include "core/state.hpp"
#include "test_device.hpp"

namespace vkt::testing {

namespace {
std::optional<Device>& shared_device() {
  static std::optional<Device> device;
  return device;
}
bool validation_failed = false;
}  // namespace

Device open_test_device(DeviceOptions options) {
  options.validation = true;
  if (options.cache_dir.empty()) options.cache_dir = "none";
  return Device::open(options);
}

const Device& test_device() {
  auto& device = shared_device();
  if (!device) device = open_test_device();
  return *device;
}

}  // namespace vkt::testing

namespace {

using vkt::testing::shared_device;

// Counts validation messages per test case; any increase fails the process.
struct ValidationListener : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  uint64_t before = 0;
  void testCaseStarting(Catch::TestCaseInfo const&) override {
    before = shared_device() ? shared_device()->validation_messages() : 0;
  }
  void testCaseEnded(Catch::TestCaseStats const& stats) override {
    if (!shared_device()) return;
    uint64_t after = shared_device()->validation_messages();
    if (after > before) {
      std::fprintf(stderr, "FAILED: %llu validation message(s) during '%s'; last: %s\n",
                   static_cast<unsigned long long>(after - before), stats.testInfo.name.c_str(),
                   shared_device()->last_validation_message().c_str());
      vkt::testing::validation_failed = true;
    }
  }
};
CATCH_REGISTER_LISTENER(ValidationListener)

class CaseInvoker : public Catch::ITestInvoker {
 public:
  explicit CaseInvoker(const vkt::conformance::Case& c) : case_(c) {}
  void invoke() const override {
    uint64_t seed = vkt::conformance::run_seed();
    INFO("seed " << seed << " (rerun with VKTRAIN_TEST_SEED=" << seed << ")");
    const vkt::Device& device = vkt::testing::test_device();
    for (const auto& result : vkt::conformance::run_case(case_, device, seed)) {
      INFO(result.name << " " << result.shape << ": error " << result.error << ", tolerance "
                       << result.tolerance << (result.note.empty() ? "" : ", ") << result.note);
      CHECK(result.passed);
    }
  }

 private:
  const vkt::conformance::Case& case_;
};

}  // namespace

int main(int argc, char** argv) {
  static std::vector<std::string> names;
  const auto& cases = vkt::conformance::cases();
  names.reserve(cases.size());
  for (const auto& c : cases) {
    names.push_back(c.op + "/" + c.name);
    Catch::getMutableRegistryHub().registerTest(Catch::makeTestCase(
        new CaseInvoker(c), "", Catch::NameAndTags{names.back(), "[ops]"},
        Catch::SourceLineInfo(c.file, std::size_t(c.line))));
  }
  int result = Catch::Session().run(argc, argv);
  // Destroying the device reports leaked objects through the validation layer as well.
  if (auto& device = shared_device()) {
    std::shared_ptr<vkt::detail::Instance> instance = device->state().instance;
    uint64_t before = instance->messages.load();
    device.reset();  // the last handle: the device is destroyed here, its instance stays
    if (instance->messages.load() > before) {
      std::fprintf(stderr, "FAILED: validation messages while destroying the device; last: %s\n",
                   instance->last_message.c_str());
      vkt::testing::validation_failed = true;
    }
  }
  if (vkt::testing::validation_failed && result == 0) result = 1;
  return result;
}
