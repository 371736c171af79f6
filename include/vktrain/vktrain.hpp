// vktrain: train neural networks on any vendor's GPU through Vulkan compute.
//
// Layers, bottom-up: Device (device.hpp) -> memory and Tensor (tensor.hpp) -> Scheduler
// (scheduler.hpp) -> ops (ops.hpp). docs/architecture.md walks through the life of a dispatch.
#pragma once

#include "vktrain/device.hpp"
#include "vktrain/error.hpp"
#include "vktrain/ops.hpp"
#include "vktrain/profiler.hpp"
#include "vktrain/scheduler.hpp"
#include "vktrain/tensor.hpp"
