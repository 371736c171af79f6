// The device every test in a process shares: opened once, with the Khronos validation layer and
// synchronization validation on. A test that makes the layer print anything fails (catch_main.cpp).
#pragma once

#include "vktrain/vktrain.hpp"

namespace vkt::testing {

const Device& test_device();
// Opens a separate device with these options, validation on (for tests of device options).
Device open_test_device(DeviceOptions options = {});

}  // namespace vkt::testing
