// The one place the language server constructs an inference engine. The engine runs in a
// child process so that model passes (tens to hundreds of milliseconds of CPU) never block
// the JSON-RPC loop (and a native crash never takes the server down): cancellations, document changes and new requests keep flowing while
// the model works. WorkerEngine finds its script (worker.js) next to its own file, which is
// out/model-host/src/ for the tsc build and dist/ for the bundle (esbuild.mjs builds both).

import type { EngineOptions, InfillEngine } from '../../model-host/src/types';
import { WorkerEngine } from '../../model-host/src/worker-client';

export function createWorkerEngine(options: EngineOptions): InfillEngine {
  return new WorkerEngine(options);
}
