// textDocument/inlineCompletion: ghost text at the cursor.
//
// The completion itself is complete-at.ts's pipeline (context windows, span plan, one model run,
// candidates post-processed and ranked), the same one the CLI and the benches run. What is left
// here is the LSP work around it: answer from the cache if the user is typing through an earlier
// completion, otherwise debounce, run the model through the document's run (abortable) with the
// model service as the pipeline's engine, reply with items, and grow a completion the time budget
// cut short. Anything that goes wrong ends in an empty list, never in an error popup: ghost text
// that does not appear is the right failure mode for an as-you-type feature.

import {
  InlineCompletionTriggerKind,
  type CancellationToken,
  type InlineCompletionItem,
  type InlineCompletionParams,
  type Position,
  type TextDocuments,
} from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { InfillCandidate } from '../../model-host/src/types';
import { completeAt, rankCandidates, requestAt, type RunInfill } from './complete-at';
import type { CursorContext } from './context';
import { toEol } from './line-endings';
import type { ModelService } from './model-service';
import type { ServerSettings } from './protocol';
import type { CachedCompletion, CacheQuery, ResultCache } from './result-cache';
import type { DocumentRuns } from './document-runs';
import { debounce, type RequestScheduler } from './scheduler';
import { generationHash } from './settings';
import { safeOffset } from './positions';
import type { SpanPlan } from './span-policy';

export interface CompletionDeps {
  documents: TextDocuments<TextDocument>;
  model: ModelService;
  scheduler: RequestScheduler;
  /** The one inline run per document, which typing at its cursor does not abort. */
  runs: DocumentRuns;
  cache: ResultCache;
  settings: () => ServerSettings;
  /** Where each request's outcome goes when the trace is on (DIFFUSION_INFILL_TRACE=1). */
  trace?: (line: string) => void;
  /** Tells the client that a completion shown cut short is now whole in the cache (completionGrew). */
  grew?: (uri: string, version: number) => void;
  /** A completion left the code from other files out because its K/V was cold: warm it at the
   *  cursor once typing rests (prefill.ts), so the next completion there reads it at no extra cost. */
  warmExtra?: (uri: string, offset: number) => void;
}

/** Whether completions apply to this document at all. */
export function completionsAllowed(settings: ServerSettings, languageId: string): boolean {
  return settings.enable && !settings.disabledLanguages.includes(languageId);
}

/** The reply: each completion in the document's line ending, from the cursor. */
export function toItems(
  completions: CachedCompletion[],
  document: TextDocument,
  context: CursorContext,
  cursor: Position,
): InlineCompletionItem[] {
  // The range starts where the context was cut and ends at the cursor (both clamped to the
  // document and moved off a surrogate pair or \r\n if the client put them inside one).
  const start = document.positionAt(context.offset);
  const end = start.line === cursor.line ? cursor : start;
  return completions.map((c) => ({ insertText: toEol(c.text, context.eol), range: { start, end } }));
}

/** The first item's text, short, for the trace. */
function firstText(items: readonly InlineCompletionItem[]): string | undefined {
  const text = items[0]?.insertText;
  return typeof text === 'string' ? text.slice(0, 80) : undefined;
}

export async function provideInlineCompletions(
  params: InlineCompletionParams,
  token: CancellationToken,
  deps: CompletionDeps,
): Promise<InlineCompletionItem[]> {
  const document = deps.documents.get(params.textDocument.uri);
  // Why a request got what it got: an empty answer has many causes, and VS Code asks again only on the next edit.
  const outcome = (what: string, items: InlineCompletionItem[] = []): InlineCompletionItem[] => {
    deps.trace?.(`[trace] ${JSON.stringify({ kind: 'inline', version: document?.version, position: params.position,
      trigger: params.context?.triggerKind, outcome: what, items: items.length, first: firstText(items) })}`);
    return items;
  };
  if (!document) return outcome('no such document');
  const settings = deps.settings();
  if (!completionsAllowed(settings, document.languageId)) return outcome('disabled');

  const version = document.version;
  // Clamped to the document and off any surrogate pair: the reply's range is built from it.
  const offset = safeOffset(document, params.position);
  const cursor = document.positionAt(offset);
  const at = requestAt(document.getText(), offset, settings, deps.model.maxCanvas());
  if (!at) return outcome('skipped');
  const { context, plan } = at;

  const cacheQuery = {
    uri: document.uri,
    offset: context.offset,
    prefix: context.prefix,
    suffix: context.suffix,
    suffixToEnd: context.suffixToEnd,
    settingsHash: generationHash(settings),
  };
  const cached = deps.cache.lookup(cacheQuery);
  if (cached) return outcome('cached', toItems(cached, document, context, cursor));

  const ticket = deps.scheduler.begin(document.uri, 'inline', token);
  // A run going for text this request's does not continue can serve no one (document-runs.ts).
  deps.runs.supersede(document.uri, cacheQuery);
  let grow: (() => Promise<void>) | undefined;
  try {
    // An explicit request (the user asked for a suggestion) skips the debounce and the time budget.
    const explicit = params.context?.triggerKind === InlineCompletionTriggerKind.Invoked;
    if (!explicit && !(await debounce(settings.debounceMs, ticket.signal))) return outcome(`cancelled while debouncing: ${reason(ticket.signal)}`);
    // The document's run for earlier text may answer this request through the cache once it ends.
    if (!(await deps.runs.idle(document.uri, ticket.signal))) return outcome(`cancelled waiting for the run before: ${reason(ticket.signal)}`);
    const typedThrough = deps.cache.lookup(cacheQuery);
    if (typedThrough) return outcome('typed through', toItems(typedThrough, document, context, cursor));
    const timeBudgetMs = explicit || settings.ghostTextBudgetMs <= 0 ? undefined : settings.ghostTextBudgetMs;
    // The model service is the pipeline's engine: it adds the code from other files for this cursor.
    const where = { ...context, document: document.uri };
    // Ghost text while typing reads the code from other files only once its K/V is warm: a cold
    // first completion then costs what it did without it. An explicit request always reads it.
    const run: RunInfill = (request, signal) => deps.model.run({ ...request, extraContextWhenWarm: !explicit }, where, settings, signal);
    // The run stores its answer in the cache itself: typing on finds it even when this request
    // was superseded or cancelled meanwhile. An explicit request's run (no time budget) ends with it.
    const { candidates, completions, result } = await deps.runs.start(document.uri, cacheQuery, ticket.signal, async (signal) => {
      const done = await completeAt(at, settings, run, { document: document.uri, signal, timeBudgetMs });
      deps.cache.store(cacheQuery, done.completions);
      return done;
    }, explicit);

    // Closed or edited while the model ran: the answer belongs to text that is gone.
    const now = deps.documents.get(document.uri);
    if (ticket.signal.aborted || !now || now.version !== version) return outcome(`stale: ${reason(ticket.signal) || `version ${now?.version}`}`);
    if (result.extraSkipped) deps.warmExtra?.(document.uri, offset);
    // Cut short by the time budget: write the rest (even when what was decided in time, alone, was post-processed away).
    const cut = candidates[0];
    if (cut?.truncated) grow = () => growCompletion(deps, { uri: document.uri, version, context, plan, cacheQuery, cut });
    return outcome(cut?.truncated ? 'answered, growing' : 'answered', toItems(completions, document, context, cursor));
  } catch (error) {
    // Cancelled, no model, or an engine error (the model service logged and counted it).
    return outcome(`failed: ${reason(ticket.signal) || (error instanceof Error ? error.message : String(error))}`);
  } finally {
    ticket.done();
    // After done(): growing takes the document's slot, and must not cancel the answer it follows.
    void grow?.();
  }
}

/** Why a request's signal was aborted ('' while it is not). */
function reason(signal: AbortSignal): string {
  if (!signal.aborted) return '';
  return signal.reason instanceof Error ? signal.reason.message : String(signal.reason);
}

interface CutShort {
  uri: string;
  version: number;
  context: CursorContext;
  plan: SpanPlan;
  cacheQuery: CacheQuery;
  /** The best candidate as the engine wrote it before the budget ran out (not post-processed). */
  cut: InfillCandidate;
}

/**
 * Writes the rest of a completion the time budget cut short: the model continues from the cut
 * text as if it had been typed (its context is warm, so only those tokens are new); the whole
 * completion is post-processed against the original cursor, like a one-shot answer, and replaces
 * the short one in the cache there. Typing through the ghost text then finds it, and the client,
 * told, asks again and shows it (only while the document is at the version it was cut for).
 */
async function growCompletion(deps: CompletionDeps, s: CutShort): Promise<void> {
  const ticket = deps.scheduler.begin(s.uri, 'inline');
  try {
    // The document's run, like the one it continues: typing through the ghost text does not stop
    // it, and the whole line it writes to the cache serves the keystrokes that follow
    // (document-runs.ts); an edit that does not continue the text does.
    const stored = await deps.runs.start(s.uri, { ...s.cacheQuery, expects: s.cut.text }, ticket.signal, async (signal) => {
      const typed = s.context.linePrefix + s.cut.text;
      const grown: CursorContext = { ...s.context, prefix: s.context.prefix + s.cut.text, linePrefix: typed.slice(typed.lastIndexOf('\n') + 1) };
      const { candidates } = await deps.model.infill(s.plan, { ...grown, document: s.uri }, deps.settings(), signal, undefined, true);
      if (!candidates[0]) return false;
      const whole = rankCandidates([{ ...s.cut, text: s.cut.text + candidates[0].text, truncated: false }], s.context, s.plan);
      if (whole.length === 0) return false;
      deps.cache.store(s.cacheQuery, whole);
      return true;
    });
    // An edit cancels the ticket (main.ts); the check covers one that lands after the last pass.
    const version = deps.documents.get(s.uri)?.version;
    deps.trace?.(`[trace] ${JSON.stringify({ kind: 'grow', version: s.version, stored, aborted: reason(ticket.signal), now: version })}`);
    if (!stored || ticket.signal.aborted || version !== s.version) return;
    deps.grew?.(s.uri, s.version);
  } catch (error) {
    // Cancelled or failed: the short ghost text stays what it was.
    deps.trace?.(`[trace] ${JSON.stringify({ kind: 'grow', version: s.version, failed: reason(ticket.signal) || String(error) })}`);
  } finally {
    ticket.done();
  }
}
