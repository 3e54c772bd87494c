// The result of one run of the extension-host suites, as index.ts writes it to $DI_E2E_RESULT and
// the launchers read it back (an extension host inside a browser-hosted VS Code has no exit code
// to hand to whoever started it).

export interface HostTestResult {
  /** Suite and test titles, joined with " › ". */
  title: string;
  state: 'passed' | 'failed' | 'pending';
  durationMs?: number;
  /** The failure's message and stack. */
  error?: string;
}

export interface HostTestReport {
  passed: number;
  failed: number;
  pending: number;
  durationMs: number;
  tests: HostTestResult[];
  /** Set when the suites could not even be loaded or run. */
  fatal?: string;
}
