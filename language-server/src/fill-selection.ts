// diffusionInfill/fillSelection: the user selects a range and asks the model to rewrite it.
// This is where a diffusion model differs from a left-to-right one: the span is filled
// knowing both sides. The selection's size only sets a ceiling (span-policy.ts: half again
// its tokens, and a block); the model ends the replacement where it writes <|pad|>.
//
// Unlike ghost text this is an explicit command, so a model that is not ready is reported
// as an error the client can show; a cancelled request or a closed document answers with
// no edit.

import { ErrorCodes, LSPErrorCodes, ResponseError, type CancellationToken, type TextDocuments } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { CancelledError, errorText } from '../../model-host/src/errors';
import { buildSelectionContext, type SelectionContext } from './context';
import { toEol } from './line-endings';
import { ModelNotReadyError, type ModelService } from './model-service';
import { postprocessCompletion } from './postprocess';
import type { FillSelectionParams, FillSelectionResult, ServerSettings } from './protocol';
import { safeOffset } from './positions';
import type { RequestScheduler } from './scheduler';
import { planSelectionSpan, type SpanPlan } from './span-policy';

export interface FillDeps {
  documents: TextDocuments<TextDocument>;
  model: ModelService;
  scheduler: RequestScheduler;
  settings: () => ServerSettings;
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
function checkSelectionSize(selected: string, plan: SpanPlan): void {
  const tokens = Math.ceil(selected.length / CHARS_PER_TOKEN_ESTIMATE);
  if (selected.trim() === '' || tokens <= plan.maxTokens) return;
  const chars = plan.maxTokens * CHARS_PER_TOKEN_ESTIMATE;
  throw new ResponseError(ErrorCodes.InvalidParams, `The selection is too large to fill at once: about ${tokens} tokens `
    + `(${selected.length} characters), and this model regenerates at most ${plan.maxTokens} tokens (about ${chars} characters). `
    + 'Select a smaller part; nothing was changed.');
}

/**
 * The replacement text for a selection (LF), or null. The same clean-up as ghost text applies,
 * with the selection's surroundings as the "cursor line"; a selection of whole lines
 * (ending in a line break) gets a replacement that also ends in one.
 */
export function finishReplacement(raw: string, selection: SelectionContext, plan: SpanPlan): string | null {
  const lineStart = selection.prefix.lastIndexOf('\n') + 1;
  const lineEnd = selection.suffix.indexOf('\n');
  const text = postprocessCompletion(raw, {
    mode: plan.mode,
    linePrefix: selection.prefix.slice(lineStart),
    lineSuffix: lineEnd === -1 ? selection.suffix : selection.suffix.slice(0, lineEnd),
    suffix: selection.suffix,
    replacesSelection: true,
  });
  if (text === null) return null;
  return selection.selected.endsWith('\n') && !text.endsWith('\n') ? text + '\n' : text;
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
  const selection = buildSelectionContext(
    document.getText(),
    safeOffset(document, params.range.start, 'range.start'),
    safeOffset(document, params.range.end, 'range.end'),
    settings,
  );
  if (selection.kind === 'skip') return noEdit(version);
  const plan = planSelectionSpan(selection.selected, settings, deps.model.maxCanvas());
  checkSelectionSize(selection.selected, plan);

  const ticket = deps.scheduler.begin(document.uri, 'fill', token);
  try {
    const { candidates, latencyMs } = await deps.model.infill(plan, { ...selection, document: document.uri }, settings, ticket.signal);
    const now = deps.documents.get(document.uri);
    if (ticket.signal.aborted || !now || now.version !== version) return noEdit(version, latencyMs);

    // Best first, as the engine ranks them: the first that survives post-processing wins.
    for (const candidate of candidates) {
      const text = finishReplacement(candidate.text, selection, plan);
      if (text === null) continue;
      const range = { start: document.positionAt(selection.start), end: document.positionAt(selection.end) };
      return { edit: { range, newText: toEol(text, selection.eol) }, confidence: candidate.confidence, latencyMs, version };
    }
    return noEdit(version, latencyMs);
  } catch (error) {
    if (error instanceof CancelledError) return noEdit(version);
    // Unlike ghost text, an explicit command says why nothing happened.
    if (error instanceof ModelNotReadyError) throw new ResponseError(ErrorCodes.InternalError, error.message);
    throw new ResponseError(ErrorCodes.InternalError, `Filling the selection failed: ${errorText(error)}`);
  } finally {
    ticket.done();
  }
}
