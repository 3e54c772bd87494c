// A model folder that cannot be loaded: the status bar turns to its error state with the reason,
// completions stop without errors, and fixing the setting recovers without a reload.
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import { api, closeAll, isReady, modelName, openAtTypedStatement, provideInline, samples, setUserSettings, waitForStatus } from './helpers';

describe('a broken model path', () => {
  afterEach(closeAll);

  it('shows the error state, and fixing the path recovers', async () => {
    const a = await api();
    await waitForStatus(a, 'ready', isReady);
    const expected = modelName(a);
    const broken = path.join(os.tmpdir(), `diffusion-infill-no-model-${process.pid}`);

    const restore = await setUserSettings({ modelPath: broken });
    try {
      const failed = await waitForStatus(a, 'error', (s) => s.state === 'error');
      assert.ok(failed.message?.includes(broken), `the error names the folder: ${failed.message}`);
      // The editor keeps working: a completion request just gets nothing.
      const { editor, position } = await openAtTypedStatement(samples.python);
      assert.deepEqual(await provideInline(a, editor.document, position), []);
    } finally {
      await restore();
    }
    const recovered = await waitForStatus(a, 'ready again', isReady);
    assert.equal(recovered.model, expected);
    const { editor, position } = await openAtTypedStatement(samples.python);
    assert.ok((await provideInline(a, editor.document, position)).length >= 1, 'completions are back');
  });
});
