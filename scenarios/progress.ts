/**
 * A progress bar on stderr for runs that take more than a second, and only on a terminal:
 * nothing is written when stderr is not a TTY (pipes, CI, tests) or when the work ends first.
 * The wall clock is read here and in the CLI only, never in the model.
 */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(s: string): boolean;
}

export class Progress {
  private readonly t0: number;
  private shown = false;
  private lastDraw = -Infinity;

  constructor(
    private readonly stream: ProgressStream,
    /** Milliseconds before the bar appears. */
    private readonly delayMs = 1000,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.t0 = now();
  }

  /** `fraction` of the work is done (0..1); `label` says what runs. */
  update(fraction: number, label: string): void {
    if (this.stream.isTTY !== true) return;
    const t = this.now();
    if (t - this.t0 < this.delayMs || t - this.lastDraw < 100) return;
    this.lastDraw = t;
    this.shown = true;
    const f = Math.min(1, Math.max(0, fraction));
    const width = Math.max(10, Math.min(40, (this.stream.columns ?? 80) - 40));
    const full = Math.round(f * width);
    const secs = ((t - this.t0) / 1000).toFixed(1);
    this.stream.write(`\r[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(100 * f).toFixed(0).padStart(3)}% ${label} ${secs} s\x1b[K`);
  }

  /** Clears the bar (if it was drawn). */
  done(): void {
    if (this.shown) this.stream.write('\r\x1b[K');
    this.shown = false;
  }
}
