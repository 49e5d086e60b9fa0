import { Writable } from 'node:stream';

const FRAMES = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';

export interface Spinner {
  /** What the reporter writes to: every line goes above the spinner's. */
  readonly stream: Writable & { isTTY?: boolean };
  /** Shows `render()` on the last line of a terminal, redrawn every 100 ms until stop(). */
  show(render: () => string): void;
  stop(): void;
}

// One line that stays at the bottom of a terminal and changes in place ("⠋ job 12345 pending
// (Priority), 0:41 in the queue"), while other lines are written above it. Nothing of it
// appears anywhere but on a terminal.
export function createSpinner(target: NodeJS.WritableStream & { isTTY?: boolean }): Spinner {
  const tty = target.isTTY === true;
  let render: (() => string) | undefined;
  let frame = 0;
  let timer: NodeJS.Timeout | undefined;
  const clear = () => {
    if (render) target.write('\r\x1b[2K');
  };
  const draw = () => {
    if (render) target.write(`\r\x1b[2K${FRAMES[frame % FRAMES.length] ?? ''} ${render()}`);
  };
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      clear();
      target.write(chunk);
      draw();
      callback();
    },
  }) as Writable & { isTTY?: boolean };
  stream.isTTY = tty;
  return {
    stream,
    show(next) {
      if (!tty) return;
      render = next;
      draw();
      if (timer) return;
      timer = setInterval(() => {
        frame++;
        draw();
      }, 100);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
      clear();
      render = undefined;
    },
  };
}
