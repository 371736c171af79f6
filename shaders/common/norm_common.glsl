// Shared pieces of the normalization kernels (shaders/norm_*.comp, batch_norm_*.comp).
//
// Reduction rows: a kernel reduces over `rows` rows of `segments` runs of `seg_len` contiguous
// elements each; run j of row r starts at element (j * rows + r) * seg_len. This one description
// covers a batch-norm channel (rows = C, N runs of H*W), a group-norm group (rows = N*G, one run of
// C/G*H*W) and a layer-norm row (rows = leading elements, one run of D).
//
// Work split: a row is cut into chunks of chunk_len elements (its runs laid end to end), each
// reduced by one workgroup. Rows made of one-element runs (a column of a (segments, rows) matrix:
// batch norm over (N, C), layer norm's dγ) would make a workgroup read one float per cache line, so
// the COLUMNS variant instead gives a workgroup COLUMNS adjacent rows: invocation t reads column
// t % COLUMNS on every (WG / COLUMNS)-th matrix row of the chunk, and neighbouring invocations read
// neighbouring addresses.
//
// Welford statistics: each invocation keeps (count, mean, M2 = Σ(x − mean)²) with Welford's update,
// and partial results merge with Chan's formula. Unlike E[x²] − E[x]², nothing cancels when the
// mean is large against the spread (x = 1000 + u), and the merge order is fixed (deterministic
// results).
#extension GL_GOOGLE_include_directive : enable

// Element i = run·seg_len + offset of a row, walked i = first, first + step, ... with a carry
// instead of a division per element (an integer division by a non-constant is eight scalar divisions
// per vector on CPU devices).
struct NormCursor {
  uint run, offset, step_runs, step_offset;
};

NormCursor norm_cursor(uint first, uint step, uint seg_len) {
  uint run = first / seg_len, step_runs = step / seg_len;
  return NormCursor(run, first - run * seg_len, step_runs, step - step_runs * seg_len);
}

void norm_advance(inout NormCursor c, uint seg_len) {
  uint room = seg_len - c.offset;  // > 0; written so that nothing overflows
  c.run += c.step_runs;
  if (c.step_offset >= room) {
    c.offset = c.step_offset - room;
    c.run += 1;
  } else {
    c.offset += c.step_offset;
  }
}

// The address of the cursor's element of reduction row `row`.
uint norm_address(NormCursor c, uint row, uint rows, uint seg_len) {
  return (c.run * rows + row) * seg_len + c.offset;
}

// The workgroup index of a grid folded into x and y (see grid_1d in lib/ops/launch.hpp).
uint norm_workgroup() { return gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x; }

struct Welford {
  float count;
  float mean;
  float m2;
};

void welford_add(inout Welford w, float value) {
  w.count += 1.0;
  float delta = value - w.mean;
  w.mean += delta / w.count;
  w.m2 += delta * (value - w.mean);
}

Welford welford_merge(Welford a, Welford b) {
  if (b.count == 0.0) return a;
  float count = a.count + b.count;
  float delta = b.mean - a.mean;
  float weight = b.count / count;  // 1 when a is empty: the result is b
  return Welford(count, a.mean + delta * weight, a.m2 + b.m2 + delta * delta * a.count * weight);
}
// Four Welford states side by side, one per component of the vec4s a kernel reads, sharing one
// count: four independent dependency chains and one division per vec4, where four welford_add
// calls would be one chain of four divisions. welford_fold4 merges the four, in a fixed order.
struct Welford4 {
  float count;
  vec4 mean;
  vec4 m2;
};
void welford_add4(inout Welford4 w, vec4 value) {
  w.count += 1.0;
  vec4 delta = value - w.mean;
  w.mean += delta * (1.0 / w.count);
  w.m2 += delta * (value - w.mean);
}
Welford welford_fold4(Welford4 w) {
  Welford x = Welford(w.count, w.mean.x, w.m2.x), y = Welford(w.count, w.mean.y, w.m2.y);
  Welford z = Welford(w.count, w.mean.z, w.m2.z), v = Welford(w.count, w.mean.w, w.m2.w);
  return welford_merge(welford_merge(x, y), welford_merge(z, v));
}

// Shared-memory trees (the workgroup size must be a power of two). With `keep` = 1 they merge every
// invocation's value; with `keep` = COLUMNS they merge the values of invocations t, t + keep,
// t + 2·keep, ... (one column each). Every invocation gets the result of its slot t % keep.
shared float norm_scratch_a[gl_WorkGroupSize.x];
shared float norm_scratch_b[gl_WorkGroupSize.x];
shared float norm_scratch_c[gl_WorkGroupSize.x];

Welford workgroup_welford(Welford w, uint keep) {
  uint t = gl_LocalInvocationIndex;
  norm_scratch_a[t] = w.count;
  norm_scratch_b[t] = w.mean;
  norm_scratch_c[t] = w.m2;
  barrier();
  for (uint stride = gl_WorkGroupSize.x / 2; stride >= keep; stride >>= 1) {
    if (t < stride) {
      Welford merged =
          welford_merge(Welford(norm_scratch_a[t], norm_scratch_b[t], norm_scratch_c[t]),
                        Welford(norm_scratch_a[t + stride], norm_scratch_b[t + stride],
                                norm_scratch_c[t + stride]));
      norm_scratch_a[t] = merged.count;
      norm_scratch_b[t] = merged.mean;
      norm_scratch_c[t] = merged.m2;
    }
    barrier();
  }
  uint slot = t % keep;
  Welford total = Welford(norm_scratch_a[slot], norm_scratch_b[slot], norm_scratch_c[slot]);
  barrier();
  return total;
}

// Two sums at once, in a fixed order.
vec2 workgroup_sum2(vec2 v, uint keep) {
  uint t = gl_LocalInvocationIndex;
  norm_scratch_a[t] = v.x;
  norm_scratch_b[t] = v.y;
  barrier();
  for (uint stride = gl_WorkGroupSize.x / 2; stride >= keep; stride >>= 1) {
    if (t < stride) {
      norm_scratch_a[t] += norm_scratch_a[t + stride];
      norm_scratch_b[t] += norm_scratch_b[t + stride];
    }
    barrier();
  }
  uint slot = t % keep;
  vec2 total = vec2(norm_scratch_a[slot], norm_scratch_b[slot]);
  barrier();
  return total;
}
