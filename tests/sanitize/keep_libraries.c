/* LD_PRELOADed by scripts/sanitize: dlclose() does nothing, so the Vulkan loader's driver (lavapipe)
 * and layer libraries stay mapped until exit. LeakSanitizer reports leaks at exit; without this,
 * the frames of libraries already unloaded print as "<unknown module>" and tests/sanitize/lsan.supp
 * could not match them by library name. Leaks in vktrain itself are never hidden by this. */
int dlclose(void* handle) {
  (void)handle;
  return 0;
}
