// The regularization study: one model trained with no regularization, L1, L2, L1+L2, dropout,
// BatchNorm, BatchNorm+dropout and augmentation, on a small training set where over-fitting shows.
// Writes runs/study/<run>/metrics.csv, runs/study/summary.csv and misclassified.csv; then
// samples/plot_study.py draws the curves, a grid of misclassified images and a Markdown table.
//   regularization_study [--epochs N] [--max-train N] [--out DIR] [--runs a,b,...]
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <vktrain/error.hpp>
#include <vktrain/io.hpp>

#include "trainer.hpp"

namespace {

struct Variant {
  std::string name;
  void (*apply)(samples::TrainConfig&);
};

const Variant kVariants[] = {
    {"none", [](samples::TrainConfig&) {}},
    {"l1", [](samples::TrainConfig& c) { c.l1 = 1e-4; }},
    {"l2", [](samples::TrainConfig& c) { c.l2 = 1e-3; }},
    {"l1_l2", [](samples::TrainConfig& c) { c.l1 = 5e-5; c.l2 = 5e-4; }},
    {"dropout", [](samples::TrainConfig& c) { c.model.dropout = 0.5f; c.model.input_dropout = 0.2f; }},
    {"batchnorm", [](samples::TrainConfig& c) { c.model.batchnorm = true; }},
    {"batchnorm_dropout", [](samples::TrainConfig& c) { c.model.batchnorm = true; c.model.dropout = 0.5f; }},
    {"augment", [](samples::TrainConfig& c) { c.augment = true; }},
};

}  // namespace

int main(int argc, char** argv) {
  samples::TrainConfig base;
  base.model = {.kind = "mlp", .dropout = 0.0f, .input_dropout = 0.0f, .batchnorm = false, .hidden = 256};
  base.optimizer = "sgd";
  base.lr = 0.05;
  base.epochs = 8;
  base.batch_size = 50;
  base.max_train = 2000;  // small enough to over-fit: the point of the study
  base.validation = 2000;
  base.quiet = true;
  std::string out = "runs/study", only;
  CLI::App app{"Train one model with each regularizer and compare (see samples/plot_study.py)."};
  app.add_option("--epochs", base.epochs)->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--max-train", base.max_train)->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--model", base.model.kind)->check(CLI::IsMember({"mlp", "cnn"}))->capture_default_str();
  app.add_option("--device", base.device);
  app.add_option("--out", out)->capture_default_str();
  app.add_option("--runs", only, "comma-separated subset of: none,l1,l2,l1_l2,dropout,batchnorm,batchnorm_dropout,augment");
  CLI11_PARSE(app, argc, argv);

  try {
    std::ostringstream summary;
    summary << "run,best_epoch,best_val_accuracy,final_train_accuracy,final_val_accuracy,test_accuracy,minutes\n";
    for (const Variant& variant : kVariants) {
      if (!only.empty() && ("," + only + ",").find("," + variant.name + ",") == std::string::npos) continue;
      samples::TrainConfig c = base;
      variant.apply(c);
      c.out_dir = std::filesystem::path(out) / variant.name;
      samples::Trainer trainer(c);
      samples::RunResult r = trainer.run();
      double best_val = 0;
      for (const auto& e : r.epochs) best_val = std::max(best_val, e.val_accuracy);
      std::printf("%-18s train %.3f  val %.3f (best %.3f at epoch %d)  test %.3f  %.1f min\n",
                  variant.name.c_str(), r.epochs.back().train_accuracy, r.epochs.back().val_accuracy,
                  best_val, r.best_epoch, r.test_accuracy, r.seconds / 60);
      summary << variant.name << "," << r.best_epoch << "," << best_val << "," << r.epochs.back().train_accuracy
              << "," << r.epochs.back().val_accuracy << "," << r.test_accuracy << "," << r.seconds / 60 << "\n";
      if (variant.name == "none") {
        // The unregularized model's mistakes on the first test images, for the grid of examples.
        const vkt::data::Dataset& test = trainer.test_set();
        std::vector<int32_t> predicted = trainer.predict(test, 500);
        std::ostringstream csv;
        csv << "index,true,predicted,pixels\n";
        vkt::data::Dataset raw = vkt::data::load_mnist_dir(c.data_dir, false);  // unnormalized pixels
        int written = 0;
        for (size_t i = 0; i < predicted.size() && written < 25; ++i) {
          if (predicted[i] == test.labels[i]) continue;
          csv << i << "," << raw.class_names[size_t(test.labels[i])] << "," << raw.class_names[size_t(predicted[i])] << ",";
          for (int64_t p = 0; p < raw.image_size(); ++p)
            csv << (p ? " " : "") << int(raw.images[size_t(int64_t(i) * raw.image_size() + p)] * 255 + 0.5f);
          csv << "\n";
          ++written;
        }
        vkt::write_file_atomic(std::filesystem::path(out) / "misclassified.csv", csv.str());
      }
    }
    vkt::write_file_atomic(std::filesystem::path(out) / "summary.csv", summary.str());
    std::printf("results in %s; plots: python3 samples/plot_study.py %s\n", out.c_str(), out.c_str());
  } catch (const vkt::Error& error) {
    std::fprintf(stderr, "regularization_study: %s\n", error.what());
    return 1;
  }
}
