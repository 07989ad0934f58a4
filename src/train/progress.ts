// Progress display: a cli-progress bar on a terminal (loss, tokens/s, ETA), a log line every
// few percent otherwise (CI logs).
import cliProgress from 'cli-progress';

/** Step progress of a run. */
export class Progress {
  private bar: cliProgress.SingleBar | null = null;
  private lastLog = 0;
  private readonly t0 = performance.now();

  constructor(private readonly total: number, private readonly start: number, private readonly quiet = false, label = 'train') {
    if (quiet) return;
    if (process.stderr.isTTY) {
      this.bar = new cliProgress.SingleBar({
        format: `${label} |{bar}| {value}/{total} steps | loss {loss} | {tokS} tok/s | ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 20,
      }, cliProgress.Presets.shades_classic);
      this.bar.start(total, start, { loss: '-', tokS: '-' });
    }
  }

  /** Reports a finished step with its loss and throughput (extra fields are shown in log lines). */
  update(step: number, m: { loss: number; tokS: number } & Record<string, number>): void {
    if (this.quiet) return;
    if (this.bar) {
      this.bar.update(step, { loss: m.loss.toFixed(4), tokS: Math.round(m.tokS) });
      return;
    }
    const every = Math.max(1, Math.round(this.total / 20));
    if (step - this.lastLog >= every || step === this.total) {
      this.lastLog = step;
      const el = (performance.now() - this.t0) / 1000;
      const eta = step > this.start ? (el / (step - this.start)) * (this.total - step) : 0;
      const extra = Object.entries(m).filter(([k]) => k !== 'loss' && k !== 'tokS').map(([k, v]) => ` ${k} ${Number.isInteger(v) ? v : v.toFixed(3)}`).join('');
      console.error(`step ${step}/${this.total}  loss ${m.loss.toFixed(4)}  ${Math.round(m.tokS)} tok/s${extra}  elapsed ${el.toFixed(0)} s  ETA ${eta.toFixed(0)} s`);
    }
  }

  /** Ends the display. */
  stop(): void {
    this.bar?.stop();
  }
}
