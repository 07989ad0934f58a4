// Progress display: a cli-progress bar on a terminal (headline metric, tokens/s, ETA), a log line
// every few percent otherwise (CI logs). The headline metric is shown under the same name as its
// key in metrics.jsonl and on the /runs page: `ce` (cross-entropy of the next token) for the
// trainer, whose `loss` there is the total CE + λ·MTP + balance; `reward` for GRPO. A step may carry
// a note (GRPO: "no signal: all 8 groups had equal rewards", a step that learned nothing from its
// rewards): it ends the bar and the step's log line, and a step whose note differs from the step
// before it is logged at once, so the first step of a stretch without signal is never skipped.
import cliProgress from 'cli-progress';

/** A step's numbers: the headline metric and tokens/s, plus extra fields shown in log lines. */
export type ProgressMetrics = { tokS: number } & Record<string, number>;

/** The cli-progress bar format for a run `label` whose headline metric is `metric`. */
export function barFormat(label: string, metric: string): string {
  return `${label} |{bar}| {value}/{total} steps | ${metric} {metric} | {tokS} tok/s | ETA {eta_formatted}{note}`;
}

/** The log line for a step (no terminal): `step 3/10  ce 2.1000  950 tok/s  … elapsed … ETA …[  — note]`. */
export function progressLine(step: number, total: number, metric: string, m: ProgressMetrics, elapsedS: number, etaS: number, note?: string): string {
  const extra = Object.entries(m).filter(([k]) => k !== metric && k !== 'tokS').map(([k, v]) => ` ${k} ${Number.isInteger(v) ? v : v.toFixed(3)}`).join('');
  return `step ${step}/${total}  ${metric} ${(m[metric] ?? NaN).toFixed(4)}  ${Math.round(m.tokS)} tok/s${extra}  elapsed ${elapsedS.toFixed(0)} s  ETA ${etaS.toFixed(0)} s${note ? `  — ${note}` : ''}`;
}

/** Step progress of a run. */
export class Progress {
  private bar: cliProgress.SingleBar | null = null;
  private lastLog = 0;
  private lastNote: string | undefined;
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
      this.bar.start(total, start, { metric: '-', tokS: '-', note: '' });
    }
  }

  /**
   * Reports a finished step with its headline metric and throughput (extra fields are shown in log
   * lines) and, optionally, a note about the step (shown on the bar and the step's log line).
   */
  update(step: number, m: ProgressMetrics, note?: string): void {
    if (this.quiet) return;
    const changed = note !== this.lastNote;
    this.lastNote = note;
    if (this.bar) {
      this.bar.update(step, { metric: (m[this.metric] ?? NaN).toFixed(4), tokS: Math.round(m.tokS), note: note ? ` | ${note}` : '' });
      return;
    }
    const every = Math.max(1, Math.round(this.total / 20));
    if (step - this.lastLog >= every || step === this.total || (changed && note)) {
      this.lastLog = step;
      const el = (performance.now() - this.t0) / 1000;
      const eta = step > this.start ? (el / (step - this.start)) * (this.total - step) : 0;
      console.error(progressLine(step, this.total, this.metric, m, el, eta, note));
    }
  }

  /** Ends the display. */
  stop(): void {
    this.bar?.stop();
  }
}
