// The one completion pipeline at a cursor, shared by every caller that asks for ghost text: the
// server's inline handler, the command-line tool and the benches.
//
//   requestAt:  document text + cursor -> the context windows (context.ts) and the span plan (span-policy.ts)
//   completeAt: the engine request for them -> one model run -> each candidate post-processed
//               (postprocess.ts), empty ones and duplicates dropped, best first
//
// The two halves are apart because the server answers from its cache between them. The model run
// is a dependency shaped like the engine (one InfillRequest in, its InfillResult out): the server
// passes its model service (which adds code from other files, times and reports the run), the CLI
// and the benches pass the engine itself. Nothing here knows about LSP, caches or documents' runs.

import type { InfillCandidate, InfillRequest, InfillResult } from '../../model-host/src/types';
import { buildCursorContext, type CursorContext } from './context';
import { postprocessCompletion } from './postprocess';
import type { ServerSettings } from './protocol';
import type { CachedCompletion } from './result-cache';
import { samplerOptions } from './settings';
import { lineAboveCursor, planCursorSpan, type SpanPlan } from './span-policy';

/** Runs one engine request (the engine's `infill`, or the server's model service in front of it). */
export type RunInfill = (request: InfillRequest, signal?: AbortSignal) => Promise<InfillResult>;

/** What to ask the model for at a cursor: the windows around it and the span to fill. */
export interface CursorRequest {
  context: CursorContext;
  plan: SpanPlan;
}

export interface CompleteAtOptions {
  /** Whose context this is (the server sends the document URI; the engine caches per document). */
  document?: string;
  signal?: AbortSignal;
  /** Answer within about this many milliseconds with the decided start of each completion
   *  (the candidates are then marked `truncated`); unset waits for the whole completion. */
  timeBudgetMs?: number;
}

export interface CompleteAtResult {
  /** The engine's candidates as it wrote them, best first (not post-processed). */
  candidates: InfillCandidate[];
  /** What the editor shows: post-processed (LF), empty ones and duplicates dropped, best first. */
  completions: CachedCompletion[];
  /** The whole engine result (timings, passes, context), for the CLI and the benches. */
  result: InfillResult;
}

type RequestSettings = Pick<ServerSettings, 'maxPrefixTokens' | 'maxSuffixTokens' | 'maxTokensSingleLine' | 'maxTokensMultiLine'
  | 'candidates' | 'steps' | 'blockLength' | 'temperature' | 'crossFileNameBias' | 'cache'>;

/** The context and plan at `offset` in `text`, or undefined when the text is not worth completing
 *  (it looks binary). `maxCanvas`: the loaded model's limit (ModelService.maxCanvas). */
export function requestAt(text: string, offset: number, settings: RequestSettings, maxCanvas = Infinity): CursorRequest | undefined {
  const context = buildCursorContext(text, offset, settings);
  if (context.kind === 'skip') return undefined;
  return { context, plan: planCursorSpan(context.linePrefix, context.lineSuffix, settings, maxCanvas, lineAboveCursor(context.prefix)) };
}

/** The engine request for a span plan; completions, Fill Selection and prefill build the same one,
 *  so a prefill warms exactly the context ids the completion will use. */
export function engineRequest(
  plan: SpanPlan,
  context: { prefix: string; suffix: string; document?: string },
  settings: RequestSettings,
  extra?: { text: string; maxTokens: number },
): InfillRequest {
  return {
    prefix: context.prefix,
    suffix: context.suffix,
    canvasLength: plan.canvasLength,
    candidates: plan.candidates,
    sampler: { ...samplerOptions(settings), singleLine: plan.mode === 'single-line' },
    maxPrefixTokens: settings.maxPrefixTokens,
    maxSuffixTokens: settings.maxSuffixTokens,
    document: context.document,
    reuseContext: settings.cache,
    extraContext: extra?.text,
    maxExtraTokens: extra?.maxTokens,
  };
}

/** Post-processes every candidate (best first, as the engine ranks them), drops empty ones and
 *  duplicates. The texts are LF: the server's cache keeps them so, its reply converts them. */
export function rankCandidates(candidates: InfillCandidate[], context: CursorContext, plan: SpanPlan): CachedCompletion[] {
  const seen = new Set<string>();
  const out: CachedCompletion[] = [];
  for (const candidate of candidates) {
    const text = postprocessCompletion(candidate.text, {
      mode: plan.mode,
      linePrefix: context.linePrefix,
      lineSuffix: context.lineSuffix,
      suffix: context.suffix,
    });
    if (text === null || seen.has(text)) continue;
    seen.add(text);
    out.push({ text, confidence: candidate.confidence });
  }
  return out;
}

/** One completion at a cursor: the engine request for `at`, one run, the candidates ranked. */
export async function completeAt(
  at: CursorRequest, settings: RequestSettings, run: RunInfill, options: CompleteAtOptions = {},
): Promise<CompleteAtResult> {
  const request: InfillRequest = { ...engineRequest(at.plan, { ...at.context, document: options.document }, settings), timeBudgetMs: options.timeBudgetMs };
  const result = await run(request, options.signal);
  return { candidates: result.candidates, completions: rankCandidates(result.candidates, at.context, at.plan), result };
}
