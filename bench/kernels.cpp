// The kernel suite: matmul (square and the skinny shapes of an MLP's training step), conv2d
// forward and backward on a small CNN's layers, batch norm, dropout and cross-entropy.
//
// Credited work: matmul and conv2d 2·(multiply-adds) flops; every kernel its compulsory bytes
// (each tensor it must read, read once; each it writes, written once), float32.
#include <cstdio>
#include <functional>
#include <memory>

#include "bench.hpp"
#include "vktrain/optim.hpp"

namespace vkt::bench {

namespace {

constexpr double kFloat = 4.0;

Tensor random_tensor(const Device& device, Shape shape, uint64_t seed) {
  std::vector<float> values = random_values(size_t(shape_numel(shape)), seed);
  return Tensor::from_host(device, values, std::move(shape));
}

void progress(const KernelResult& result) {
  std::fprintf(stderr, "  %-44s %9.3f ms  %5.1f%% of %s (%.2f alongside)\n", result.name.c_str(),
               result.timing.median_s * 1e3, 100 * result.fraction, result.bound.c_str(),
               result.bound_value);
}

struct Suite {
  const Device& device;
  const Ceilings& ceilings;
  const Options& options;
  KernelRun run;

  // Times `body` against its ceiling (measure_kernel) and keeps the result.
  void add(KernelResult result, const std::function<void()>& body) {
    measure_kernel(device, result, body, ceilings, options);
    progress(result);
    if (options.profile && device.info().timestamp_queries) {
      result.profiled_calls = 3;
      Profiler profiler(device);
      for (int i = 0; i < result.profiled_calls; ++i) body();
      result.profile = profiler.kernels();
    }
    run.results.push_back(std::move(result));
  }

  void matmul_case(const std::string& name, int64_t m, int64_t n, int64_t k, bool ta, bool tb,
                   MatmulPrecision precision = MatmulPrecision::float32) {
    if (!selected(options, name)) return;
    Tensor a = random_tensor(device, ta ? Shape{k, m} : Shape{m, k}, 1);
    Tensor b = random_tensor(device, tb ? Shape{n, k} : Shape{k, n}, 2);
    Tensor c = Tensor::empty(device, {m, n});
    MatmulOptions mo{.transpose_a = ta, .transpose_b = tb, .precision = precision};
    KernelResult result{name, "matmul"};
    result.flops = 2.0 * double(m) * double(n) * double(k);
    result.bytes = kFloat * double(m * k + k * n + m * n);
    add(result, [&] { matmul_into(a, b, c, mo); });
    PeerCase peer{name, "matmul", m, n, k, ta, tb, precision == MatmulPrecision::float16_inputs};
    run.peer_cases.push_back(peer);
  }

  // x (batch, cin, h, w) * weight (cout, cin, kernel, kernel), stride 1, same padding.
  void conv_cases(const std::string& layer, int64_t batch, int64_t cin, int64_t cout, int64_t hw,
                  int64_t kernel, int64_t pad) {
    Conv2dParams params{.pad_h = int(pad), .pad_w = int(pad)};
    Tensor x = random_tensor(device, {batch, cin, hw, hw}, 3);
    Tensor weight = random_tensor(device, {cout, cin, kernel, kernel}, 4);
    Tensor bias = random_tensor(device, {cout}, 5);
    Shape y_shape = conv2d_output_shape(x.shape(), weight.shape(), params);
    Tensor y = Tensor::empty(device, y_shape);
    Tensor dy = random_tensor(device, y_shape, 6);
    Tensor dx = Tensor::empty(device, x.shape());
    Tensor dweight = Tensor::empty(device, weight.shape());
    double macs = double(shape_numel(y_shape)) * double(cin * kernel * kernel);
    double x_bytes = kFloat * double(x.numel()), y_bytes = kFloat * double(y.numel());
    double w_bytes = kFloat * double(weight.numel());
    PeerCase peer;
    peer.batch = batch, peer.cin = cin, peer.cout = cout, peer.h = hw, peer.w = hw;
    peer.kernel = kernel, peer.pad = pad;

    std::string name = "conv2d_fwd_" + layer;
    if (selected(options, name)) {
      KernelResult result{name, "conv2d", 2 * macs, x_bytes + w_bytes + kFloat * cout + y_bytes};
      add(result, [&] { conv2d_forward(x, weight, bias, params, y); });
      peer.name = name, peer.kind = "conv2d_forward";
      run.peer_cases.push_back(peer);
    }
    name = "conv2d_bwd_data_" + layer;
    if (selected(options, name)) {
      KernelResult result{name, "conv2d", 2 * macs, y_bytes + w_bytes + x_bytes};
      add(result, [&] { conv2d_backward(dy, {}, weight, params, dx, {}, {}); });
      peer.name = name, peer.kind = "conv2d_backward_data";
      run.peer_cases.push_back(peer);
    }
    name = "conv2d_bwd_weight_" + layer;
    if (selected(options, name)) {
      KernelResult result{name, "conv2d", 2 * macs, y_bytes + x_bytes + w_bytes};
      add(result, [&] { conv2d_backward(dy, x, {}, params, {}, dweight, {}); });
      peer.name = name, peer.kind = "conv2d_backward_weight";
      run.peer_cases.push_back(peer);
    }
  }

  // Training-mode BatchNorm2d (affine, running statistics), forward, backward and both.
  void batch_norm_cases(int64_t n, int64_t c, int64_t hw) {
    std::string shape = std::to_string(n) + "x" + std::to_string(c) + "x" + std::to_string(hw) +
                        "x" + std::to_string(hw);
    Tensor x = random_tensor(device, {n, c, hw, hw}, 7);
    Tensor dy = random_tensor(device, {n, c, hw, hw}, 8);
    Tensor y = Tensor::empty(device, x.shape()), dx = Tensor::empty(device, x.shape());
    Tensor gamma = Tensor::full(device, {c}, 1.0f), beta = Tensor::zeros(device, {c});
    Tensor running_mean = Tensor::zeros(device, {c}), running_var = Tensor::full(device, {c}, 1.0f);
    Tensor tracked = Tensor::zeros(device, {1}, DType::u32);
    Tensor save_mean = Tensor::empty(device, {c}), save_invstd = Tensor::empty(device, {c});
    Tensor dgamma = Tensor::empty(device, {c}), dbeta = Tensor::empty(device, {c});
    double tensor_bytes = kFloat * double(x.numel());
    auto forward = [&] {
      batch_norm_forward(x, gamma, beta, running_mean, running_var, tracked, save_mean, save_invstd,
                         y);
    };
    auto backward = [&] {
      batch_norm_backward(dy, x, gamma, save_mean, save_invstd, dx, dgamma, dbeta, true);
    };
    // BatchNorm then ReLU: fused (what nn::Sequential runs) and as two ops, the same work.
    Tensor z = Tensor::empty(device, x.shape()), dz = Tensor::empty(device, x.shape());
    auto fused = [&] {
      batch_norm_forward(x, gamma, beta, running_mean, running_var, tracked, save_mean, save_invstd,
                         y, {.relu = true});
      batch_norm_backward(dy, x, gamma, save_mean, save_invstd, dx, dgamma, dbeta, true,
                          FusedRelu{beta});
    };
    auto separate = [&] {
      batch_norm_forward(x, gamma, beta, running_mean, running_var, tracked, save_mean, save_invstd,
                         z);
      activation_forward(ActivationKind::relu, z, y);
      activation_backward(ActivationKind::relu, dy, Tensor{}, y, dz);
      batch_norm_backward(dz, x, gamma, save_mean, save_invstd, dx, dgamma, dbeta, true);
    };
    forward();  // the backward's saved statistics
    struct Part {
      std::string name;
      double passes;  // compulsory passes over an (N, C, H, W) tensor
      std::function<void()> body;
    };
    for (const Part& part : {Part{"batch_norm2d_train_fwd_", 2, forward},   // x in, y out
                             Part{"batch_norm2d_train_bwd_", 3, backward},  // dy, x in; dx out
                             Part{"batch_norm2d_train_fwd_bwd_", 5,
                                  [&] {
                                    forward();
                                    backward();
                                  }},
                             // x in, y out; dy, x in, dx out: the fused pair's compulsory
                             // passes (its backward recomputes the mask from x, y is not read),
                             // counted alike for both so their GB/s compare times.
                             Part{"batch_norm2d_relu_fused_fwd_bwd_", 5, fused},
                             Part{"batch_norm2d_relu_separate_fwd_bwd_", 5, separate}}) {
      std::string name = part.name + shape;
      if (!selected(options, name)) continue;
      KernelResult result{name, "batch_norm2d", 0, part.passes * tensor_bytes};
      add(result, part.body);
    }
  }

  // The sample CNN's 2x2 max pools (28x28 and 14x14 planes): forward (x in; y and indices out),
  // backward (dy and indices in; dx out).
  void max_pool_cases(int64_t n, int64_t c, int64_t hw) {
    std::string shape = std::to_string(n) + "x" + std::to_string(c) + "x" + std::to_string(hw) +
                        "x" + std::to_string(hw);
    Pool2dParams params = pool2d_params(2);
    Tensor x = random_tensor(device, {n, c, hw, hw}, 14);
    MaxPool2dResult pooled = max_pool2d(x, params);
    Tensor dy = random_tensor(device, pooled.y.shape(), 15), dx = Tensor::empty(device, x.shape());
    double x_bytes = kFloat * double(x.numel()), y_bytes = kFloat * double(pooled.y.numel());
    std::string name = "max_pool2d_fwd_" + shape;
    if (selected(options, name)) {
      KernelResult result{name, "pooling", 0, x_bytes + 2 * y_bytes};
      add(result, [&] { max_pool2d_forward(x, params, pooled.y, pooled.indices); });
    }
    name = "max_pool2d_bwd_" + shape;
    if (selected(options, name)) {
      KernelResult result{name, "pooling", 0, 2 * y_bytes + x_bytes};
      add(result, [&] { max_pool2d_backward(dy, pooled.indices, params, dx); });
    }
  }

  void dropout_case(int64_t n) {
    std::string name = "dropout_fwd_" + std::to_string(n);
    if (!selected(options, name)) return;
    Tensor x = random_tensor(device, {n}, 9), y = Tensor::empty(device, {n});
    Tensor step = Tensor::zeros(device, {1}, DType::u32);
    DropoutParams params{.p = 0.5f, .seed = 1234};
    KernelResult result{name, "dropout", 0, 2 * kFloat * double(n)};
    add(result, [&] { dropout_forward(x, step, y, params); });
  }

  // One optimizer step over a single parameter of n elements. `floats` is the compulsory traffic
  // per element: the parameter, its gradient and state read, the parameter and state written.
  void optimizer_case(
      const std::string& kind, int64_t n, double floats,
      const std::function<std::unique_ptr<optim::Optimizer>(std::vector<optim::ParamRef>)>& make) {
    std::string name = "optim_" + kind + "_" + std::to_string(n);
    if (!selected(options, name)) return;
    std::vector<optim::ParamRef> params{
        {"weight", random_tensor(device, {n}, 11), random_tensor(device, {n}, 12)}};
    std::unique_ptr<optim::Optimizer> optimizer = make(params);
    optimizer->step();  // the first step initialises the state; time the steady ones
    KernelResult result{name, "optimizer", 0, floats * kFloat * double(n)};
    add(result, [&] { optimizer->step(); });
  }

  void relu_case(int64_t n) {
    std::string name = "relu_fwd_" + std::to_string(n);
    if (!selected(options, name)) return;
    Tensor x = random_tensor(device, {n}, 13), y = Tensor::empty(device, {n});
    KernelResult result{name, "elementwise", 0, 2 * kFloat * double(n)};
    add(result, [&] { unary_into(UnaryOp::relu, x, 1.0f, y); });
  }

  void cross_entropy_case(int64_t n, int64_t classes) {
    std::string name = "cross_entropy_fwd_bwd_" + std::to_string(n) + "x" + std::to_string(classes);
    if (!selected(options, name)) return;
    Tensor logits = random_tensor(device, {n, classes}, 10);
    std::vector<int32_t> label_values(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) label_values[size_t(i)] = int32_t((i * 7) % classes);
    Tensor labels = Tensor::from_host(device, std::span<const int32_t>(label_values), {n});
    Tensor loss = Tensor::empty(device, {1}), dlogits = Tensor::empty(device, {n, classes});
    double logit_bytes = kFloat * double(n * classes), label_bytes = 4.0 * double(n);
    // forward: logits, labels in, loss out; backward: logits, labels in, dlogits out.
    KernelResult result{name, "cross_entropy", 0,
                        2 * (logit_bytes + label_bytes) + kFloat + logit_bytes};
    add(result, [&] {
      cross_entropy_forward(logits, labels, loss);
      cross_entropy_backward(logits, labels, dlogits);
    });
  }
};

}  // namespace

KernelRun run_kernels(const Device& device, const Ceilings& ceilings, const Options& options) {
  Suite suite{device, ceilings, options, {}};
  const bool quick = options.quick;

  // Square matmul.
  std::vector<int64_t> squares =
      quick ? std::vector<int64_t>{64, 128} : std::vector<int64_t>{256, 512, 1024};
  if (options.large && !quick) squares.insert(squares.end(), {2048, 4096});
  for (int64_t s : squares) {
    std::string d = std::to_string(s);
    suite.matmul_case("matmul_" + d + "x" + d + "x" + d, s, s, s, false, false);
  }
  // Float16 inputs on cooperative matrices, where they run (elsewhere the rounded inputs go
  // through the float32 kernels: the rows above). The FMA ceiling does not bound tensor cores;
  // the peer (PyTorch float16 matmul, float32 sums) is their yardstick.
  if (cooperative_matmul_available(device))
    for (int64_t s : squares) {
      std::string d = std::to_string(s);
      suite.matmul_case("matmul_f16in_" + d + "x" + d + "x" + d, s, s, s, false, false,
                        MatmulPrecision::float16_inputs);
    }

  // An MLP 784-1024-1024-10 at batch B: Linear layers y = x·Wᵀ (W stored (out, in)); the backward
  // computes dx = dy·W and dW = dyᵀ·x. Names give op(A) (m x k) · op(B) (k x n) as stored.
  const int64_t batch = quick ? 16 : 128, hidden = quick ? 64 : 1024, input = quick ? 49 : 784;
  const int64_t classes = 10;
  auto mm = [](int64_t m, int64_t k, int64_t n, const char* how) {
    return "matmul_" + std::to_string(m) + "x" + std::to_string(k) + "x" + std::to_string(n) + "_" +
           how;
  };
  // Layer 1 (784 -> 1024): forward, and dW (its dx is the input's, never needed).
  suite.matmul_case(mm(batch, input, hidden, "mlp_fwd1_nt"), batch, hidden, input, false, true);
  suite.matmul_case(mm(hidden, batch, input, "mlp_dw1_tn"), hidden, input, batch, true, false);
  // Layer 2 (1024 -> 1024): forward, dx, dW.
  suite.matmul_case(mm(batch, hidden, hidden, "mlp_fwd2_nt"), batch, hidden, hidden, false, true);
  suite.matmul_case(mm(batch, hidden, hidden, "mlp_dx2_nn"), batch, hidden, hidden, false, false);
  suite.matmul_case(mm(hidden, batch, hidden, "mlp_dw2_tn"), hidden, hidden, batch, true, false);
  // Layer 3 (1024 -> 10): forward, dx, dW — the skinniest shapes.
  suite.matmul_case(mm(batch, hidden, classes, "mlp_fwd3_nt"), batch, classes, hidden, false, true);
  suite.matmul_case(mm(batch, classes, hidden, "mlp_dx3_nn"), batch, hidden, classes, false, false);
  suite.matmul_case(mm(classes, batch, hidden, "mlp_dw3_tn"), classes, hidden, batch, true, false);
  // dx of layer 1 in a network whose input needs gradients: (B x 1024)·(1024 x 784).
  suite.matmul_case(mm(batch, hidden, input, "mlp_dx1_nn"), batch, input, hidden, false, false);

  // A small CNN on 28x28 inputs: conv 1->32 at 28x28, then 32->64 at 14x14, 3x3, padding 1.
  const int64_t images = quick ? 4 : 128;
  suite.conv_cases(std::to_string(images) + "x1x28x28_32k3p1", images, 1, 32, 28, 3, 1);
  suite.conv_cases(std::to_string(images) + "x32x14x14_64k3p1", images, 32, 64, 14, 3, 1);

  if (quick) {
    suite.batch_norm_cases(4, 8, 8);
  } else {
    suite.batch_norm_cases(128, 32, 28);
  }
  suite.max_pool_cases(images, 32, 28);
  suite.max_pool_cases(images, 64, 14);
  suite.dropout_case(quick ? (int64_t(1) << 14) : (int64_t(1) << 22));
  suite.cross_entropy_case(128, 10);
  const int64_t elements = quick ? (int64_t(1) << 14) : (int64_t(1) << 22);
  suite.relu_case(elements);
  using Params = std::vector<optim::ParamRef>;
  suite.optimizer_case("sgd_momentum", elements, 5, [](Params p) {
    return std::make_unique<optim::SGD>(std::move(p),
                                        optim::SGDOptions{.lr = 0.01, .momentum = 0.9});
  });
  suite.optimizer_case("adam", elements, 7, [](Params p) {
    return std::make_unique<optim::Adam>(std::move(p), optim::AdamOptions{});
  });
  suite.optimizer_case("adamw", elements, 7, [](Params p) {
    return std::make_unique<optim::AdamW>(std::move(p), optim::AdamWOptions{});
  });
  suite.optimizer_case("rmsprop", elements, 5, [](Params p) {
    return std::make_unique<optim::RMSprop>(std::move(p), optim::RMSpropOptions{});
  });
  suite.optimizer_case("adagrad", elements, 5, [](Params p) {
    return std::make_unique<optim::Adagrad>(std::move(p), optim::AdagradOptions{});
  });
  suite.optimizer_case("adadelta", elements, 7, [](Params p) {
    return std::make_unique<optim::Adadelta>(std::move(p), optim::AdadeltaOptions{});
  });
  return std::move(suite.run);
}

}  // namespace vkt::bench
