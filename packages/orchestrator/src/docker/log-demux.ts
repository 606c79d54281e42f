import { StringDecoder } from 'node:string_decoder';
export type LogStream = 'stdout' | 'stderr';

/**
 * Docker's multiplexed log stream, read incrementally: each frame is an 8-byte header (stream
 * byte: 1 stdout, 2 stderr; 3 bytes padding; big-endian 32-bit size) and its payload. Frames
 * arrive split across chunks, so what does not make a whole frame yet is kept for the next push.
 * Containers with a TTY send raw bytes instead (no headers): everything is stdout.
 */
export class LogDemuxer {
  private pending = Buffer.alloc(0);
  constructor(private readonly tty: boolean) {}

  push(chunk: Buffer): Array<{ stream: LogStream; data: Buffer }> {
    if (this.tty) return chunk.length > 0 ? [{ stream: 'stdout', data: chunk }] : [];
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Array<{ stream: LogStream; data: Buffer }> = [];
    while (buf.length >= 8) {
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) break;
      // stdin (0) never appears in logs; anything but 2 is shown as stdout
      out.push({ stream: buf[0] === 2 ? 'stderr' : 'stdout', data: buf.subarray(8, 8 + size) });
      buf = buf.subarray(8 + size);
    }
    this.pending = Buffer.from(buf);
    return out;
  }
}

/**
 * A line longer than this is passed on in pieces of this size: a container that never prints a
 * newline (a progress bar drawn with `\r`, binary output) must neither grow the buffer without end
 * nor keep a follower waiting forever. Secrets straddling a cut are hidden only as far as each
 * piece holds a long enough run of them (docs/configuration/variables-and-secrets.md).
 */
export const MAX_LINE_CHARS = 64 * 1024;

/**
 * Text in whole lines, per stream: secrets are scrubbed line by line, so a secret split across
 * two chunks must not reach the scrubber in two halves. Bytes are decoded per stream, so a
 * character split across two frames arrives whole. `flush` gives out what is left at the end.
 */
export class LineBuffer {
  private readonly partial: Record<LogStream, string> = { stdout: '', stderr: '' };
  private readonly decoders: Record<LogStream, StringDecoder> = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };

  push(stream: LogStream, data: string | Buffer): string | undefined {
    const text = typeof data === 'string' ? data : this.decoders[stream].write(data);
    const joined = this.partial[stream] + text;
    const cut = joined.lastIndexOf('\n');
    if (cut < 0) {
      if (joined.length < MAX_LINE_CHARS) {
        this.partial[stream] = joined;
        return undefined;
      }
      this.partial[stream] = '';
      return joined;
    }
    this.partial[stream] = joined.slice(cut + 1);
    return joined.slice(0, cut + 1);
  }

  flush(): Array<{ stream: LogStream; text: string }> {
    for (const s of ['stdout', 'stderr'] as const) this.partial[s] += this.decoders[s].end();
    const out = (['stdout', 'stderr'] as const).filter((s) => this.partial[s] !== '').map((s) => ({ stream: s, text: this.partial[s] }));
    this.partial.stdout = '';
    this.partial.stderr = '';
    return out;
  }
}
