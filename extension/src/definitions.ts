// Definitions of the names near the cursor, through VS Code's own definition providers, sent to
// the server as context from other files (diffusionInfill/contextDefinitions; the server keeps
// only workspace files that files.exclude and .gitignore allow: context-sources/exclusions.ts).
// Asked once the cursor has rested a while, at most a few names, and sent only when they changed:
// the server re-chooses its extra context at most once per region for them, so that typing keeps
// the model's cached context.
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { contextDefinitions, SETTINGS, SETTINGS_SECTION } from '../../language-server/src/protocol';

/** Wait after the last cursor move: definition providers may be slow (a language server's own work). */
const REST_MS = 400;
/** Names looked up per rest, from the cursor's line and the two before it. */
const MAX_NAMES = 6;
/** Lines of a definition sent, from its first line. */
const DEFINITION_LINES = 12;
/** Files larger than this are not read (the server's limit too). */
const MAX_FILE_BYTES = 512 * 1024;
const KEYWORDS = new Set(['const', 'let', 'var', 'function', 'return', 'if', 'else', 'for', 'while', 'new', 'this', 'import', 'from',
  'export', 'class', 'async', 'await', 'def', 'self', 'true', 'false', 'null', 'None', 'True', 'False', 'in', 'of', 'not', 'and', 'or']);

export function watchDefinitions(client: () => LanguageClient | undefined): vscode.Disposable {
  let timer: NodeJS.Timeout | undefined;
  let last = '';
  const ask = async (editor: vscode.TextEditor) => {
    const c = client();
    const config = vscode.workspace.getConfiguration(SETTINGS_SECTION);
    // No code budget (names only): the definitions would never be shown to the model.
    const enabled = config.get<boolean>(SETTINGS.crossFile.key, SETTINGS.crossFile.default)
      && config.get<number>(SETTINGS.crossFileTokens.key, SETTINGS.crossFileTokens.default) > 0;
    if (!c || !enabled || editor.document.uri.scheme !== 'file') return;
    const doc = editor.document;
    const line = editor.selection.active.line;
    const names: vscode.Position[] = [];
    const seen = new Set<string>();
    for (let l = line; l >= Math.max(0, line - 2) && names.length < MAX_NAMES; l--) {
      for (const m of doc.lineAt(l).text.matchAll(/[A-Za-z_$][\w$]*/g)) {
        if (m[0].length < 2 || KEYWORDS.has(m[0]) || seen.has(m[0]) || names.length >= MAX_NAMES) continue;
        seen.add(m[0]);
        names.push(new vscode.Position(l, m.index!));
      }
    }
    const found: Array<{ uri: string; line: number; text: string }> = [];
    for (const at of names) {
      const locations = await vscode.commands.executeCommand<Array<vscode.Location | vscode.LocationLink>>('vscode.executeDefinitionProvider', doc.uri, at)
        .then((r) => r ?? [], () => []);
      for (const loc of locations.slice(0, 1)) {
        const target = 'targetUri' in loc ? loc.targetUri : loc.uri;
        const range = 'targetUri' in loc ? loc.targetRange : loc.range;
        if (target.scheme !== 'file' || target.toString() === doc.uri.toString()) continue;
        const text = await readLines(target, range.start.line);
        if (text) found.push({ uri: c.code2ProtocolConverter.asUri(target), line: range.start.line, text });
      }
    }
    const key = JSON.stringify(found);
    if (key === last) return;
    last = key;
    c.sendNotification(contextDefinitions, { textDocument: { uri: c.code2ProtocolConverter.asUri(doc.uri) }, definitions: found }).catch(() => undefined);
  };
  const schedule = (editor: vscode.TextEditor | undefined) => {
    clearTimeout(timer);
    if (editor) timer = setTimeout(() => void ask(editor).catch(() => undefined), REST_MS);
  };
  return vscode.Disposable.from(
    vscode.window.onDidChangeTextEditorSelection((e) => schedule(e.textEditor)),
    vscode.window.onDidChangeActiveTextEditor((editor) => schedule(editor)),
    { dispose: () => clearTimeout(timer) },
  );
}

/** DEFINITION_LINES lines of a file from `line`, from the open document or the disk (small files only). */
async function readLines(uri: vscode.Uri, line: number): Promise<string | undefined> {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  let text: string;
  if (open) text = open.getText();
  else {
    const stat = await vscode.workspace.fs.stat(uri).then((s) => s, () => undefined);
    if (!stat || stat.size > MAX_FILE_BYTES) return undefined;
    text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
  }
  return text.split(/\r?\n/).slice(line, line + DEFINITION_LINES).join('\n');
}
