// The uniform-buffer windows of the windowed kernels (lib/core/scheduler_impl.hpp: UniformWindows):
// a dispatch binds kWindows of them (kDispatchWindows), each 64 KiB (kUniformWindowBytes) of a
// tensor, read as vec4s. Including shaders declare the array at the binding after their storage
// buffers, std140: uniform Window { vec4 v[kWindowVec4s]; } windows[kWindows].
const uint kWindows = 14;
const uint kWindowVec4s = 4096;
