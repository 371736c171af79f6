#!/usr/bin/python3
"""PyTorch on the CPU, timed on vktrain-bench's shapes: the peer of vktrain's matmul and conv2d.

Usage: torch_cpu.py SPEC.json, where SPEC holds {"threads", "repetitions", "target_seconds",
"cases": [{"name", "kind", ...}]} (written by vktrain-bench). Prints one JSON object:
{"peer": "...", "results": [{"name", "gflops", "median_ms"}]}, or {"error": "..."}.

Timing matches vktrain-bench: one warm-up call, one calibration call, then `repetitions` runs of
`inner` calls each (inner chosen so a run lasts about target_seconds); the median per call.
Flops are credited the same way: 2 per multiply-add. Run it with Debian's interpreter
(/usr/bin/python3), which has python3-torch.
"""
import json
import statistics
import sys
import time


def measure(body, repetitions, target_seconds):
    body()
    start = time.perf_counter()
    body()
    once = max(time.perf_counter() - start, 1e-7)
    inner = int(min(max(round(target_seconds / once), 1), 10000))
    samples = []
    for _ in range(repetitions):
        start = time.perf_counter()
        for _ in range(inner):
            body()
        samples.append((time.perf_counter() - start) / inner)
    return statistics.median(samples)


def matmul_case(torch, case):
    m, n, k = case["m"], case["n"], case["k"]
    a = torch.rand(k, m) if case["transpose_a"] else torch.rand(m, k)
    b = torch.rand(n, k) if case["transpose_b"] else torch.rand(k, n)
    c = torch.empty(m, n)
    op_a = a.t() if case["transpose_a"] else a
    op_b = b.t() if case["transpose_b"] else b
    return (lambda: torch.mm(op_a, op_b, out=c)), 2.0 * m * n * k


def conv_case(torch, case):
    batch, cin, cout = case["batch"], case["cin"], case["cout"]
    h, w, kernel, pad = case["h"], case["w"], case["kernel"], case["pad"]
    x = torch.rand(batch, cin, h, w)
    weight = torch.rand(cout, cin, kernel, kernel)
    bias = torch.rand(cout)
    ho, wo = h + 2 * pad - kernel + 1, w + 2 * pad - kernel + 1
    dy = torch.rand(batch, cout, ho, wo)
    flops = 2.0 * batch * cout * ho * wo * cin * kernel * kernel
    conv_backward = torch.ops.aten.convolution_backward

    def backward(mask):
        return lambda: conv_backward(dy, x, weight, None, [1, 1], [pad, pad], [1, 1], False,
                                     [0, 0], 1, mask)

    kind = case["kind"]
    if kind == "conv2d_forward":
        return (lambda: torch.nn.functional.conv2d(x, weight, bias, padding=pad)), flops
    if kind == "conv2d_backward_data":
        return backward([True, False, False]), flops
    if kind == "conv2d_backward_weight":
        return backward([False, True, False]), flops
    raise ValueError("unknown kind " + kind)


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    try:
        import torch
    except ImportError as error:
        print(json.dumps({"error": "torch is not importable: %s" % error}))
        return
    threads = int(spec.get("threads", 1))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    results = []
    with torch.no_grad():
        for case in spec["cases"]:
            if case["kind"] == "matmul":
                body, flops = matmul_case(torch, case)
            else:
                body, flops = conv_case(torch, case)
            seconds = measure(body, int(spec["repetitions"]), float(spec["target_seconds"]))
            results.append({"name": case["name"], "gflops": flops / seconds * 1e-9,
                            "median_ms": seconds * 1e3})
    peer = "torch %s cpu, %d thread%s" % (torch.__version__, torch.get_num_threads(),
                                          "" if torch.get_num_threads() == 1 else "s")
    print(json.dumps({"peer": peer, "results": results}))


if __name__ == "__main__":
    main()
