// A terminal for runDashboard without one: a 120x40 screen that keeps what it is sent, and
// a keyboard that Ink reads in raw mode.
import { EventEmitter } from 'node:events';

export class FakeTerminal extends EventEmitter {
  readonly isTTY = true;
  columns = 120;
  rows = 40;
  writableLength = 0;
  written = '';
  write(s: string | Uint8Array, ...rest: unknown[]): boolean {
    this.written += String(s);
    const cb = rest.find((x) => typeof x === 'function') as (() => void) | undefined;
    if (cb) process.nextTick(cb);
    return true;
  }
}

export class FakeKeyboard extends EventEmitter {
  readonly isTTY = true;
  isRaw = false;
  private data: string | null = null;
  /** keys as a terminal sends them, in one read */
  type(s: string): void {
    this.data = s;
    this.emit('readable');
  }
  read(): string | null {
    const d = this.data;
    this.data = null;
    return d;
  }
  setRawMode(on: boolean): void {
    this.isRaw = on;
  }
  setEncoding(): void {}
  resume(): void {}
  pause(): void {}
  ref(): void {}
  unref(): void {}
}
