#!/usr/bin/python3
"""PyTorch, timed on vktrain-bench's shapes: the peer of vktrain's matmul and conv2d.

Usage: torch_peer.py SPEC.json, where SPEC holds {"device": "cpu" | "cuda", "threads",
"repetitions", "target_seconds", "cases": [{"name", "kind", ...}]} (written by vktrain-bench).
Prints one JSON object: {"peer": "...", "results": [{"name", "gflops", "median_ms"}]}, or
{"error": "..."}.

Timing matches vktrain-bench: one warm-up call, one calibration call, then `repetitions` runs of
`inner` calls each (inner chosen so a run lasts about target_seconds); the median per call. On
CUDA every run ends with a synchronize, as vktrain's end with a fence wait. Flops are credited the
same way: 2 per multiply-add. The arithmetic is strict float32 (TF32 off), as vktrain's. On
Debian, /usr/bin/python3 has python3-torch (CPU only).
"""
import contextlib
import json
import statistics
import sys
import time


def measure(body, sync, repetitions, target_seconds):
    body()
    sync()
    start = time.perf_counter()
    body()
    sync()
    once = max(time.perf_counter() - start, 1e-7)
    inner = int(min(max(round(target_seconds / once), 1), 10000))
    samples = []
    for _ in range(repetitions):
        start = time.perf_counter()
        for _ in range(inner):
            body()
        sync()
        samples.append((time.perf_counter() - start) / inner)
    return statistics.median(samples)


def matmul_case(torch, case, device):
    m, n, k = case["m"], case["n"], case["k"]
    a = torch.rand(k, m, device=device) if case["transpose_a"] else torch.rand(m, k, device=device)
    b = torch.rand(n, k, device=device) if case["transpose_b"] else torch.rand(k, n, device=device)
    c = torch.empty(m, n, device=device)
    op_a = a.t() if case["transpose_a"] else a
    op_b = b.t() if case["transpose_b"] else b
    if case.get("float16_inputs"):
        # Tensor cores on float16 operands with float32 sums (reduced-precision reductions off);
        # the conversions are outside the timing, as vktrain's are inside its kernel.
        torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = False
        op_a, op_b = op_a.half(), op_b.half()
        c = torch.empty(m, n, device=device, dtype=torch.half)
    return (lambda: torch.mm(op_a, op_b, out=c)), 2.0 * m * n * k


def conv_case(torch, case, device):
    batch, cin, cout = case["batch"], case["cin"], case["cout"]
    h, w, kernel, pad = case["h"], case["w"], case["kernel"], case["pad"]
    x = torch.rand(batch, cin, h, w, device=device)
    weight = torch.rand(cout, cin, kernel, kernel, device=device)
    bias = torch.rand(cout, device=device)
    ho, wo = h + 2 * pad - kernel + 1, w + 2 * pad - kernel + 1
    dy = torch.rand(batch, cout, ho, wo, device=device)
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


def build_model(torch, case):
    """The sample models of samples/trainer/models.cpp, layer for layer."""
    nn = torch.nn
    layers = []
    if case["model"] == "mlp":
        width = 784
        layers += [nn.Flatten(), nn.Dropout(case["input_dropout"])]
        for _ in range(2):
            layers += [nn.Linear(width, 1024), nn.ReLU(), nn.Dropout(case["dropout"])]
            width = 1024
        layers.append(nn.Linear(width, 10))
    else:
        channels, size = 1, 28
        for out in case["conv_channels"]:
            for conv in range(case["convs_per_block"]):
                layers += [nn.Conv2d(channels if conv == 0 else out, out, 3, padding=1, bias=False),
                           nn.BatchNorm2d(out), nn.ReLU()]
            layers.append(nn.MaxPool2d(2))
            channels, size = out, size // 2
        layers += [nn.Flatten(), nn.Dropout(case["dropout"]),
                   nn.Linear(channels * size * size, 128), nn.ReLU(), nn.Dropout(case["dropout"]),
                   nn.Linear(128, 10)]
    return nn.Sequential(*layers)


def train_step_case(torch, case, device, sync, repetitions, target_seconds):
    """Images/s of one training step, eager and (on CUDA) replayed as a CUDA graph."""
    batch = case["batch"]
    model = build_model(torch, case).to(device).train()
    capturable = device == "cuda"
    if case["optimizer"] == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=case["lr"], capturable=capturable)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=case["lr"], momentum=case["momentum"])
    images = torch.rand(batch, 1, 28, 28, device=device)
    labels = torch.arange(batch, device=device) * 7 % 10
    loss_fn = torch.nn.CrossEntropyLoss()

    # vktrain's float16 matmul inputs: torch.autocast's float16 Linear layers (the MLP has no
    # other layer autocast changes); no GradScaler on either side.
    mixed = bool(case.get("float16_matmuls")) and device == "cuda"

    def autocast():
        return torch.autocast("cuda", dtype=torch.float16) if mixed else contextlib.nullcontext()

    def step():
        optimizer.zero_grad(set_to_none=False)
        with autocast():
            loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()

    result = {"name": case["name"],
              "images_per_s": batch / measure(step, sync, repetitions, target_seconds)}
    if device == "cuda":
        # The documented whole-network capture: warm up on a side stream, then record one step.
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                step()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            step()
        seconds = measure(graph.replay, sync, repetitions, target_seconds)
        result["graph_images_per_s"] = batch / seconds
    return result


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    try:
        import torch
    except ImportError as error:
        print(json.dumps({"error": "torch is not importable: %s" % error}))
        return
    device = spec.get("device", "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        print(json.dumps({"error": "torch %s has no CUDA device" % torch.__version__}))
        return
    threads = int(spec.get("threads", 1))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    results = []
    repetitions, target = int(spec["repetitions"]), float(spec["target_seconds"])
    for case in spec["cases"]:
        if case["kind"] == "train_step":
            results.append(train_step_case(torch, case, device, sync, repetitions, target))
    with torch.no_grad():
        for case in spec["cases"]:
            if case["kind"] == "train_step":
                continue
            if case.get("float16_inputs") and device != "cuda":
                continue  # PyTorch 1.13 has no float16 matmul on the CPU
            if case["kind"] == "matmul":
                body, flops = matmul_case(torch, case, device)
            else:
                body, flops = conv_case(torch, case, device)
            seconds = measure(body, sync, int(spec["repetitions"]),
                              float(spec["target_seconds"]))
            results.append({"name": case["name"], "gflops": flops / seconds * 1e-9,
                            "median_ms": seconds * 1e3})
    if device == "cuda":
        peer = "torch %s cuda, %s, float32 (TF32 off)" % (torch.__version__,
                                                         torch.cuda.get_device_name())
    else:
        peer = "torch %s cpu, %d thread%s" % (torch.__version__, torch.get_num_threads(),
                                              "" if torch.get_num_threads() == 1 else "s")
    print(json.dumps({"peer": peer, "results": results}))


if __name__ == "__main__":
    main()
