// textDocument/inlineCompletion: ghost text at the cursor.
//
// One request: cut the context windows, pick single- or multi-line and the canvas lengths,
// answer from the cache if the user is typing through an earlier completion, otherwise
// debounce, run the model (abortable), post-process each candidate and return them best
// first. Anything that goes wrong ends in an empty list, never in an error popup: ghost
// text that does not appear is the right failure mode for an as-you-type feature.

import {
  InlineCompletionTriggerKind,
  type CancellationToken,
  type InlineCompletionItem,
  type InlineCompletionParams,
  type Position,
  type TextDocuments,
} from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { InfillEngine, InfillResult } from '../../model-host/src/types';
import { buildCursorContext, type CursorContext } from './context';
import type { EngineHost, Logger } from './engine-host';
import type { ServerSettings } from './lsp_ext';
import { postprocessCompletion, toEol } from './postprocess';
import type { CachedCompletion, ResultCache } from './result-cache';
import { debounce, isAbortError, type RequestScheduler } from './scheduler';
import { generationHash, samplerOptions } from './settings';
import { safeOffset } from './positions';
import { planCursorSpan, type SpanPlan } from './span-policy';

export interface CompletionDeps {
  documents: TextDocuments<TextDocument>;
  host: EngineHost;
  scheduler: RequestScheduler;
  cache: ResultCache;
  settings: () => ServerSettings;
  log: Logger;
}

/** Whether completions apply to this document at all. */
export function completionsAllowed(settings: ServerSettings, languageId: string): boolean {
  return settings.enable && !settings.disabledLanguages.includes(languageId);
}

/** Post-processes every candidate, drops empty ones and duplicates, keeps the best first. */
export function rankCandidates(result: InfillResult, ctx: CursorContext, plan: SpanPlan): CachedCompletion[] {
  const seen = new Set<string>();
  const out: CachedCompletion[] = [];
  const ordered = [...result.candidates].sort((a, b) => b.confidence - a.confidence);
  for (const candidate of ordered) {
    const text = postprocessCompletion(candidate.text, {
      mode: plan.mode,
      linePrefix: ctx.linePrefix,
      lineSuffix: ctx.lineSuffix,
      suffix: ctx.suffix,
      eol: '\n',
    });
    if (text === null || seen.has(text)) continue;
    seen.add(text);
    out.push({ text, confidence: candidate.confidence });
  }
  return out;
}

function toItems(
  completions: CachedCompletion[],
  document: TextDocument,
  ctx: CursorContext,
  cursor: Position,
): InlineCompletionItem[] {
  // The range starts where the context was cut and ends at the cursor (both clamped to the
  // document and moved off a surrogate pair or \r\n if the client put them inside one).
  const start = document.positionAt(ctx.offset);
  const end = start.line === cursor.line ? cursor : start;
  return completions.map((c) => ({ insertText: toEol(c.text, ctx.eol), range: { start, end } }));
}

export async function provideInlineCompletions(
  params: InlineCompletionParams,
  token: CancellationToken,
  deps: CompletionDeps,
): Promise<InlineCompletionItem[]> {
  const document = deps.documents.get(params.textDocument.uri);
  if (!document) return [];
  const settings = deps.settings();
  if (!completionsAllowed(settings, document.languageId)) return [];

  const version = document.version;
  // Clamped to the document and off any surrogate pair: the reply's range is built from it.
  const offset = safeOffset(document, params.position);
  const cursor = document.positionAt(offset);
  const ctx = buildCursorContext(document.getText(), offset, settings);
  if (ctx.kind === 'skip') return [];
  const plan = planCursorSpan(ctx.linePrefix, ctx.lineSuffix, settings, deps.host.maxCanvas());

  const cacheQuery = {
    uri: document.uri,
    offset: ctx.offset,
    prefix: ctx.prefix,
    suffix: ctx.suffix,
    settingsHash: generationHash(settings),
  };
  const cached = deps.cache.lookup(cacheQuery);
  if (cached) return toItems(cached, document, ctx, cursor);

  const ticket = deps.scheduler.begin(document.uri, 'inline', token);
  let engine: InfillEngine | undefined;
  try {
    // An explicit request (the user asked for a suggestion) skips the debounce.
    const explicit = params.context?.triggerKind === InlineCompletionTriggerKind.Invoked;
    if (!explicit && !(await debounce(settings.debounceMs, ticket.signal))) return [];
    engine = await deps.host.ready();
    if (!engine || ticket.signal.aborted) return [];

    const started = performance.now();
    const result = await engine.infill(
      {
        prefix: ctx.prefix,
        suffix: ctx.suffix,
        canvasLengths: plan.canvasLengths,
        sampler: { ...samplerOptions(settings), singleLine: plan.mode === 'single-line' },
        maxPrefixTokens: settings.maxPrefixTokens,
        maxSuffixTokens: settings.maxSuffixTokens,
      },
      ticket.signal,
    );
    deps.host.engineSucceeded();
    const completions = rankCandidates(result, ctx, plan);
    const latencyMs = performance.now() - started;
    deps.host.reportRequest(latencyMs, result.candidates.reduce((sum, c) => sum + c.tokens, 0));
    deps.cache.store(cacheQuery, completions);

    // Closed or edited while the model ran: the answer belongs to text that is gone.
    const now = deps.documents.get(document.uri);
    if (ticket.signal.aborted || !now || now.version !== version) return [];
    return toItems(completions, document, ctx, cursor);
  } catch (error) {
    if (isAbortError(error, ticket.signal)) return [];
    if (engine) deps.host.engineFailed(error, engine);
    return [];
  } finally {
    ticket.done();
  }
}
