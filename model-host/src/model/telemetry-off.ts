// onnxruntime-node 1.30 starts Microsoft's telemetry SDK in any process that creates a session:
// it writes an event database and a device id under ~/.cache/Microsoft/DeveloperTools/, leaves
// /tmp/mat-debug-<pid>.log behind, and looks up an events host to upload to. The native library
// reads ORT_DISABLE_TELEMETRY from the process environment, so this module forces it before
// onnxruntime-node is first loaded: import it ahead of 'onnxruntime-node' in every module that
// loads the runtime (session.ts, the worker, the CLI, the test helpers). Whatever the user's
// environment says is overridden, on purpose: this extension promises that nothing leaves the machine.

const TELEMETRY_VARIABLE = 'ORT_DISABLE_TELEMETRY';

process.env[TELEMETRY_VARIABLE] = '1';

/** A copy of `env` with onnxruntime's telemetry forced off, for child processes that may load it. */
export function withTelemetryOff(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, [TELEMETRY_VARIABLE]: '1' };
}
