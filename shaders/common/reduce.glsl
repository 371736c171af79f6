// workgroup_sum: the sum of one value per invocation, returned to every invocation. A shared-memory
// tree (the workgroup size must be a power of two): no optional subgroup feature is needed, and the
// order of additions is fixed, so the result does not depend on timing.
shared float reduce_scratch[gl_WorkGroupSize.x];

float workgroup_sum(float value) {
  uint t = gl_LocalInvocationIndex;
  reduce_scratch[t] = value;
  barrier();
  for (uint stride = gl_WorkGroupSize.x / 2; stride > 0; stride >>= 1) {
    if (t < stride) reduce_scratch[t] += reduce_scratch[t + stride];
    barrier();
  }
  float total = reduce_scratch[0];
  barrier();
  return total;
}
