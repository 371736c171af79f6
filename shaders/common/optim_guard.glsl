// The non-finite guard of an optimizer step (Optimizer::step_if_finite, shaders/optim_guard.comp):
// GUARDED variants leave the parameter and its state untouched when this step's loss was NaN or
// infinite (guard[0] = 1). Included after a shader's own bindings, with GUARD_BINDING and
// GUARD_CONSTANT defined as the next free binding and specialization constant.
layout(constant_id = GUARD_CONSTANT) const bool GUARDED = false;
layout(std430, binding = GUARD_BINDING) readonly buffer Guard { uint guard[]; };

bool step_skipped() { return GUARDED && guard[0] != 0u; }
