// The extension activates in a real VS Code, registers every command it contributes, starts its
// language server and loads the model it is configured with.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { api, extension, isReady, modelName, waitForStatus } from './helpers';

describe('activation', () => {
  it('activates, registers its commands and loads the model', async () => {
    const a = await api();
    assert.ok(extension().isActive);

    const contributed = (extension().packageJSON as { contributes: { commands: { command: string }[] } })
      .contributes.commands.map((c) => c.command);
    const registered = new Set(await vscode.commands.getCommands(true));
    for (const command of contributed) assert.ok(registered.has(command), `${command} is contributed but not registered`);

    assert.ok(a.client.languageClient, 'the language client is running');
    const status = await waitForStatus(a, 'ready', isReady);
    assert.equal(status.model, modelName(a), 'the status bar names the configured model');
    assert.ok(status.device, 'the status bar names the device the model runs on');
  });
});
