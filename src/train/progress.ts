// Progress display: a cli-progress bar on a terminal (headline metric, tokens/s, ETA), a log line
// every few percent otherwise (CI logs). The headline metric is shown under the same name as its
// key in metrics.jsonl and on the /runs page: `ce` (cross-entropy of the next token) for the
// trainer, whose `loss` there is the total CE + λ·MTP + balance; `reward` for GRPO.
import cliProgress from 'cli-progress';

/** A step's numbers: the headline metric and tokens/s, plus extra fields shown in log lines. */
export type ProgressMetrics = { tokS: number } & Record<string, number>;

/** The cli-progress bar format for a run `label` whose headline metric is `metric`. */
export function barFormat(label: string, metric: string): string {
  return `${label} |{bar}| {value}/{total} steps | ${metric} {metric} | {tokS} tok/s | ETA {eta_formatted}`;
}

/** The log line for a step (no terminal): `step 3/10  ce 2.1000  950 tok/s  … elapsed … ETA …`. */
export function progressLine(step: number, total: number, metric: string, m: ProgressMetrics, elapsedS: number, etaS: number): string {
  const extra = Object.entries(m).filter(([k]) => k !== metric && k !== 'tokS').map(([k, v]) => ` ${k} ${Number.isInteger(v) ? v : v.toFixed(3)}`).join('');
  return `step ${step}/${total}  ${metric} ${(m[metric] ?? NaN).toFixed(4)}  ${Math.round(m.tokS)} tok/s${extra}  elapsed ${elapsedS.toFixed(0)} s  ETA ${etaS.toFixed(0)} s`;
}

/** Step progress of a run. */
export class Progress {
  private bar: cliProgress.SingleBar | null = null;
  private lastLog = 0;
  private readonly t0 = performance.now();

  /** `metric` names the headline number: a key of the metrics passed to `update` (and of metrics.jsonl). */
  constructor(private readonly total: number, private readonly start: number, private readonly quiet = false, label = 'train', private readonly metric = 'ce') {
    if (quiet) return;
    if (process.stderr.isTTY) {
      this.bar = new cliProgress.SingleBar({
        format: barFormat(label, metric),
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 20,
      }, cliProgress.Presets.shades_classic);
      this.bar.start(total, start, { metric: '-', tokS: '-' });
    }
  }

  /** Reports a finished step with its headline metric and throughput (extra fields are shown in log lines). */
  update(step: number, m: ProgressMetrics): void {
    if (this.quiet) return;
    if (this.bar) {
      this.bar.update(step, { metric: (m[this.metric] ?? NaN).toFixed(4), tokS: Math.round(m.tokS) });
      return;
    }
    const every = Math.max(1, Math.round(this.total / 20));
    if (step - this.lastLog >= every || step === this.total) {
      this.lastLog = step;
      const el = (performance.now() - this.t0) / 1000;
      const eta = step > this.start ? (el / (step - this.start)) * (this.total - step) : 0;
      console.error(progressLine(step, this.total, this.metric, m, el, eta));
    }
  }

  /** Ends the display. */
  stop(): void {
    this.bar?.stop();
  }
}
