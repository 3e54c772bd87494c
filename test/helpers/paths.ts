import * as path from 'node:path';

/** The repository root, from a compiled test file in out/test/<area>/. */
export const repoRoot = path.resolve(__dirname, '../../..');
export const modelsDir = path.join(repoRoot, 'models');
/** The small model the process-level tests run; DI_TEST_TINY_MODEL points them at another copy
 *  (for instance while models/tiny is being re-exported in the working tree). */
export const tinyModel = process.env.DI_TEST_TINY_MODEL ? path.resolve(process.env.DI_TEST_TINY_MODEL) : path.join(modelsDir, 'tiny');
