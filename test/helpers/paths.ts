import * as path from 'node:path';

/** The repository root, from a compiled test file in out/test/<area>/. */
export const repoRoot = path.resolve(__dirname, '../../..');
export const modelsDir = path.join(repoRoot, 'models');
