// Strict LSP framing for `--stdio`. vscode-jsonrpc's reader reports a bad frame as an error event
// that nobody listens to, and then waits for more bytes: a client that sent `Content-Length: abc`,
// no length, a negative one, `1e3` (parseInt reads 1) or a length beyond the body gets a server
// that is alive but deaf forever. There is no safe way to find the next frame in a corrupt byte
// stream, so this checks every header before the reader sees it and, on the first bad frame,
// says why on stderr and exits: vscode-languageclient (and most clients) restart a server that
// exits. A frame that stops arriving halfway (no new bytes for a while) counts as bad, too.

import { Transform, type TransformCallback } from 'node:stream';
import { StreamMessageReader, StreamMessageWriter, type MessageReader, type MessageWriter } from 'vscode-languageserver/node';

/** Headers longer than this are not LSP headers. */
const MAX_HEADER_BYTES = 8 * 1024;
/** The largest message accepted: a didOpen of a very large file, with room to spare. */
const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;
/** A frame with no new bytes for this long will not be completed. */
const STALLED_FRAME_MS = 5_000;

const HEADER_END = Buffer.from('\r\n\r\n');

class FrameError extends Error {}

/** Passes well-formed frames through unchanged; calls `fail` once on the first malformed one. */
class FrameGuard extends Transform {
  private buffer: Buffer = Buffer.alloc(0);
  /** Body length of the frame being read, once its header is parsed. */
  private bodyLength: number | undefined;
  private headerBytes = 0;
  private stallTimer: NodeJS.Timeout | undefined;
  private failed = false;

  constructor(private readonly fail: (error: FrameError) => void, private readonly stalledMs = STALLED_FRAME_MS) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.failed) return done();
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    try {
      this.drain();
    } catch (error) {
      this.failed = true;
      this.clearStall();
      this.fail(error instanceof FrameError ? error : new FrameError(String(error)));
      return done();
    }
    this.armStall();
    done();
  }

  override _flush(done: TransformCallback): void {
    this.clearStall();
    done();
  }

  /** Emits every complete frame in the buffer; throws FrameError on a malformed header. */
  private drain(): void {
    for (;;) {
      if (this.bodyLength === undefined) {
        const end = this.buffer.indexOf(HEADER_END);
        if (end === -1) {
          if (this.buffer.length > MAX_HEADER_BYTES) throw new FrameError(`no end of header in the first ${MAX_HEADER_BYTES} bytes`);
          return;
        }
        this.bodyLength = parseHeader(this.buffer.subarray(0, end).toString('ascii'));
        this.headerBytes = end + HEADER_END.length;
      }
      const frameBytes = this.headerBytes + this.bodyLength;
      if (this.buffer.length < frameBytes) return;
      this.push(this.buffer.subarray(0, frameBytes));
      this.buffer = this.buffer.subarray(frameBytes);
      this.bodyLength = undefined;
    }
  }

  private armStall(): void {
    this.clearStall();
    if (this.buffer.length === 0) return;
    this.stallTimer = setTimeout(() => {
      if (this.failed) return;
      this.failed = true;
      const what = this.bodyLength === undefined
        ? 'a header that never ended'
        : `a body of ${this.buffer.length - this.headerBytes} bytes where Content-Length said ${this.bodyLength}`;
      this.fail(new FrameError(`the frame stalled for ${this.stalledMs} ms with ${what}`));
    }, this.stalledMs);
    this.stallTimer.unref();
  }

  private clearStall(): void {
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }
}

/** The body length from an LSP header block; every way it can be wrong is a FrameError. */
function parseHeader(header: string): number {
  let length: number | undefined;
  for (const line of header.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new FrameError(`header line ${JSON.stringify(line.slice(0, 80))} is not "Name: value"`);
    if (line.slice(0, colon).trim().toLowerCase() !== 'content-length') continue;
    const value = line.slice(colon + 1).trim();
    if (length !== undefined) throw new FrameError('Content-Length is given twice');
    // Digits only: parseInt would read "1e3" as 1 and "-5" as -5.
    if (!/^\d{1,10}$/.test(value)) throw new FrameError(`Content-Length ${JSON.stringify(value.slice(0, 40))} is not a byte count`);
    length = Number(value);
    if (length > MAX_MESSAGE_BYTES) throw new FrameError(`Content-Length ${length} is over the limit of ${MAX_MESSAGE_BYTES} bytes`);
  }
  if (length === undefined) throw new FrameError('the header has no Content-Length');
  return length;
}

/**
 * Reader and writer over this process's stdin and stdout with the guard in between. `fatal` runs
 * once, for a malformed frame or a body that is not JSON-RPC; it should log and exit.
 */
export function guardedStdio(fatal: (reason: string) => void): { reader: MessageReader; writer: MessageWriter } {
  const guard = new FrameGuard((error) => fatal(`malformed message frame from the client: ${error.message}`));
  process.stdin.pipe(guard);
  const reader = dropMalformedCancels(new StreamMessageReader(guard));
  reader.onError((error) => fatal(`unreadable message from the client: ${error.message}`));
  return { reader, writer: new StreamMessageWriter(process.stdout) };
}

/**
 * vscode-jsonrpc reads `$/cancelRequest`'s `params.id` before any handler runs, so null or missing
 * params throw inside the reader, which reports it as an unreadable message (and the server would
 * exit). It is a well-framed notification with bad params, like any other notification with bad
 * params it is logged and ignored: it cancels nothing.
 */
function dropMalformedCancels(reader: MessageReader, log = (line: string) => process.stderr.write(`${line}\n`)): MessageReader {
  const listen = reader.listen.bind(reader);
  reader.listen = (callback) => listen((message) => {
    const m = message as { method?: unknown; params?: unknown };
    if (m.method === '$/cancelRequest') {
      const id = (m.params as { id?: unknown } | null | undefined)?.id;
      if (typeof id !== 'number' && typeof id !== 'string') {
        log(`Ignored $/cancelRequest without a request id (params: ${JSON.stringify(m.params) ?? 'missing'})`);
        return;
      }
    }
    callback(message);
  });
  return reader;
}
