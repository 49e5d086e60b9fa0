// Keeps the last `size` lines written to a stream, for error messages about a failed start.
export class LineTail {
  readonly #lines: string[] = [];
  readonly #size: number;

  constructor(size = 50) {
    this.#size = size;
  }

  push(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > this.#size) this.#lines.shift();
  }

  get lines(): readonly string[] {
    return [...this.#lines];
  }
}
