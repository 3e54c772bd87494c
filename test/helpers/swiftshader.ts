// WebGPU without a GPU: Debian's chromium package ships SwiftShader, a Vulkan driver that runs on
// the CPU, and onnxruntime-node's WebGPU provider (Dawn) takes it as an adapter when the Vulkan
// loader is pointed at it. test/setup.sh installs both (chromium, libvulkan1). Mesa's llvmpipe
// is refused by Dawn, so this is the one software path. Missing pieces fail the test: nothing
// here is skipped.
import * as fs from 'node:fs';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Points this process's Vulkan loader (and any child's, through the environment) at SwiftShader. */
export function useSwiftShader(): NodeJS.ProcessEnv {
  if (!fs.existsSync(SWIFTSHADER_ICD)) {
    throw new Error(`${SWIFTSHADER_ICD} is missing: install Debian's chromium package (bash test/setup.sh does)`);
  }
  const loader = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1'];
  if (!loader.some((f) => fs.existsSync(f))) {
    throw new Error('the Vulkan loader (libvulkan.so.1) is missing: install Debian\'s libvulkan1 package (bash test/setup.sh does)');
  }
  // Set before the first session opens: Dawn reads it when it looks for adapters.
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  return process.env;
}
