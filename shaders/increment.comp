#version 450
// counter[0] += 1: advances the on-device step counter that captured sequences read.
layout(local_size_x = 1) in;
layout(std430, binding = 0) buffer Counter { uint counter[]; };

void main() { counter[0] += 1u; }
