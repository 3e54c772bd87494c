// diffusionInfill/fillSelection: the user selects a range and asks the model to rewrite it.
// This is where a diffusion model differs from a left-to-right one: the span is filled
// knowing both sides, and its length is chosen from the selection, not from a stop token.
//
// Unlike ghost text this is an explicit command, so a model that is not ready is reported
// as an error the client can show; a cancelled request or a closed document answers with
// no edit.

import { ErrorCodes, LSPErrorCodes, ResponseError, type CancellationToken, type TextDocuments } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { InfillEngine } from '../../model-host/src/types';
import { buildSelectionContext, type SelectionContext } from './context';
import type { EngineHost, Logger } from './engine-host';
import type { FillSelectionParams, FillSelectionResult, ServerSettings } from './lsp_ext';
import { safeOffset } from './positions';
import { postprocessCompletion, toEol } from './postprocess';
import { isAbortError, type RequestScheduler } from './scheduler';
import { samplerOptions } from './settings';
import { planSelectionSpan, type SpanPlan } from './span-policy';

export interface FillDeps {
  documents: TextDocuments<TextDocument>;
  host: EngineHost;
  scheduler: RequestScheduler;
  settings: () => ServerSettings;
  log: Logger;
}

const noEdit = (version: number, latencyMs = 0): FillSelectionResult => ({ edit: null, confidence: 0, latencyMs, version });

/** Code BPE averages 3-4 characters a token; 3 over-estimates the tokens, so a selection is
 *  refused rather than cut when in doubt. */
const CHARS_PER_TOKEN_ESTIMATE = 3;

/**
 * Refuses a selection the canvas cannot hold: the model would write at most a canvas of tokens
 * in place of all of it, deleting what it never regenerated (a 50,000-line selection became
 * 195 characters). The message says how much fits.
 */
export function checkSelectionSize(selected: string, plan: SpanPlan): void {
  const tokens = Math.ceil(selected.length / CHARS_PER_TOKEN_ESTIMATE);
  if (selected.trim() === '' || tokens <= plan.maxTokens) return;
  const chars = plan.maxTokens * CHARS_PER_TOKEN_ESTIMATE;
  throw new ResponseError(ErrorCodes.InvalidParams, `The selection is too large to fill at once: about ${tokens} tokens `
    + `(${selected.length} characters), and this model regenerates at most ${plan.maxTokens} tokens (about ${chars} characters). `
    + 'Select a smaller part; nothing was changed.');
}

/**
 * The replacement text for a selection, or null. The same clean-up as ghost text applies,
 * with the selection's surroundings as the "cursor line"; a selection of whole lines
 * (ending in a line break) gets a replacement that also ends in one.
 */
export function finishReplacement(raw: string, ctx: SelectionContext, plan: SpanPlan): string | null {
  const lineStart = ctx.prefix.lastIndexOf('\n') + 1;
  const lineEnd = ctx.suffix.indexOf('\n');
  const text = postprocessCompletion(raw, {
    mode: plan.mode,
    linePrefix: ctx.prefix.slice(lineStart),
    lineSuffix: lineEnd === -1 ? ctx.suffix : ctx.suffix.slice(0, lineEnd),
    suffix: ctx.suffix,
    eol: '\n',
    replacesSelection: true,
  });
  if (text === null) return null;
  return ctx.selected.endsWith('\n') && !text.endsWith('\n') ? text + '\n' : text;
}

export async function fillSelectionHandler(
  params: FillSelectionParams,
  token: CancellationToken,
  deps: FillDeps,
): Promise<FillSelectionResult> {
  const document = deps.documents.get(params.textDocument.uri);
  if (!document) throw new ResponseError(ErrorCodes.InvalidParams, `Unknown document ${params.textDocument.uri}: open it first.`);
  const version = document.version;
  const wanted = params.textDocument.version;
  if (wanted !== undefined && wanted !== null && wanted !== version) {
    throw new ResponseError(LSPErrorCodes.ContentModified, `The document changed: the selection was made in version ${JSON.stringify(wanted)}, `
      + `the server has version ${version}. Nothing was filled.`);
  }
  const settings = deps.settings();
  if (!settings.enable) return noEdit(version);

  if (typeof params.range !== 'object' || params.range === null) throw new ResponseError(ErrorCodes.InvalidParams, 'range is missing');
  const ctx = buildSelectionContext(
    document.getText(),
    safeOffset(document, params.range.start, 'range.start'),
    safeOffset(document, params.range.end, 'range.end'),
    settings,
  );
  if (ctx.kind === 'skip') return noEdit(version);
  const plan = planSelectionSpan(ctx.selected, settings, deps.host.maxCanvas());
  checkSelectionSize(ctx.selected, plan);

  const ticket = deps.scheduler.begin(document.uri, 'fill', token);
  let engine: InfillEngine | undefined;
  try {
    engine = await deps.host.ready();
    if (ticket.signal.aborted) return noEdit(version);
    if (!engine) {
      const status = deps.host.status();
      throw new ResponseError(ErrorCodes.InternalError, status.message ?? `The model is not ready (${status.state}).`);
    }
    const started = performance.now();
    const result = await engine.infill(
      {
        prefix: ctx.prefix,
        suffix: ctx.suffix,
        canvasLengths: plan.canvasLengths,
        // A selection inside one line is replaced by text on that line.
        sampler: { ...samplerOptions(settings), singleLine: !ctx.selected.includes('\n') },
        maxPrefixTokens: settings.maxPrefixTokens,
        maxSuffixTokens: settings.maxSuffixTokens,
      },
      ticket.signal,
    );
    const latencyMs = performance.now() - started;
    deps.host.engineSucceeded();
    deps.host.reportRequest(latencyMs, result.candidates.reduce((sum, c) => sum + c.tokens, 0));
    const now = deps.documents.get(document.uri);
    if (ticket.signal.aborted || !now || now.version !== version) return noEdit(version, latencyMs);

    for (const candidate of [...result.candidates].sort((a, b) => b.confidence - a.confidence)) {
      const text = finishReplacement(candidate.text, ctx, plan);
      if (text === null) continue;
      const range = { start: document.positionAt(ctx.start), end: document.positionAt(ctx.end) };
      return { edit: { range, newText: toEol(text, ctx.eol) }, confidence: candidate.confidence, latencyMs, version };
    }
    return noEdit(version, latencyMs);
  } catch (error) {
    if (error instanceof ResponseError) throw error;
    if (isAbortError(error, ticket.signal)) return noEdit(version);
    if (engine) deps.host.engineFailed(error, engine);
    throw new ResponseError(ErrorCodes.InternalError, `Filling the selection failed: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    ticket.done();
  }
}
