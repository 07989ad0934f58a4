// Expert-parallel serving (`tinyseek serve DIR --ep N` under `mpirun -np N`): the routed experts of
// every MoE layer are spread over N ranks (E/N each, as expert-parallel training does), everything
// else is replicated. Each rank loads the model directory with only its own experts (the others are
// neither allocated nor read). Rank 0 runs the HTTP server and the generator; its model announces
// every forward pass to the followers, which run the same forward in lock-step and meet rank 0 in
// the MoE layers' all-to-all (src/parallel/expert-parallel.ts, with the tokens split into blocks:
// see ExpertDispatcher.replicated). A stop message ends the followers.
//
// One forward step, from rank 0:
//   header    Int32 [kind, B, T, lastOnly, copies, cache slots, cache maxLen] to each follower
//             (point-to-point, so an idle follower waits in MPI_Test polls instead of spinning in a
//             blocking collective)
//   payload   MPI_Bcast of Int32 [ids (B·T) | cache slot of each row (B) | the cache's token count per
//             slot (slots) | slot copies (4 per copy: cache, from, to, n)] — the followers' caches then
//             hold what rank 0's hold (the generator's resets, shared-prompt copies and rejected drafts
//             are all in the counts and copies)
//   hidden    MTP drafts only: MPI_Bcast of rank 0's hidden states [B, T, D]
import { Tensor, noGrad, tidy } from '../tensor/index.js';
import { contiguous } from '../ops/index.js';
import type { ModelCache } from '../model/causal-lm.js';
import type { DeepseekV3, ForwardOptions, ForwardResult } from '../model/model.js';
import type { KVCache } from '../model/cache.js';
import { waitAll } from './mpi.js';
import type { Communicator } from './mpi.js';
import { ExpertParallel } from './expert-parallel.js';

/** MPI tag of the step headers. */
const TAG = 0x5e7e;
const HEADER = 7;
const KIND_FORWARD = 1, KIND_MTP = 2, KIND_STOP = 3;
/** Cache ids in copy records. */
const MAIN = 0, MTP = 1;

/**
 * The expert layout of one rank: an ExpertParallel over the whole world (collective: every rank calls
 * this first), and the `experts` load option that keeps only this rank's experts of every MoE layer.
 */
export function servingLayout(world: Communicator): { ep: ExpertParallel; experts: { parts: number; keep: (m: DeepseekV3) => void } } {
  const ep = new ExpertParallel(world, world.size);
  return { ep, experts: { parts: world.size, keep: (m) => ep.shard(m, true) } };
}

/**
 * Rank 0's side: patches the model so that each cached forward and MTP draft is first announced to
 * the followers, and each cache slot copy recorded for the next announcement. Serves one generator
 * (one main cache and one MTP cache).
 */
export class ForwardLeader {
  private copies: number[] = [];
  private stopped = false;
  private readonly caches = new Map<ModelCache, number>();
  /** Forward steps announced. */
  steps = 0;

  constructor(readonly comm: Communicator, readonly model: DeepseekV3) {
    if (comm.rank !== 0) throw new Error(`ForwardLeader: rank 0 leads, this is rank ${comm.rank}`);
    const forward = model.forward.bind(model), mtpDraft = model.mtpDraft.bind(model);
    const newCache = model.newCache.bind(model), newMtpCache = model.newMtpCache.bind(model);
    model.forward = (ids: Tensor, opts: ForwardOptions = {}): ForwardResult => {
      this.announce(KIND_FORWARD, contiguous(ids).i32(), ids.shape[0], ids.shape[1], opts, null);
      return forward(ids, opts);
    };
    model.mtpDraft = (hidden: Tensor, next: Int32Array, opts: ForwardOptions = {}): ForwardResult => {
      this.announce(KIND_MTP, next, hidden.shape[0], hidden.shape[1], opts, contiguous(hidden).f32());
      return mtpDraft(hidden, next, opts);
    };
    model.newCache = (slots: number, maxLen: number): KVCache => this.track(newCache(slots, maxLen), MAIN);
    model.newMtpCache = (slots: number, maxLen: number): KVCache => this.track(newMtpCache(slots, maxLen), MTP);
  }

  private track(c: KVCache, id: number): KVCache {
    if ([...this.caches.values()].includes(id)) throw new Error('ForwardLeader: the followers mirror one generator; a second KV cache was created');
    this.caches.set(c, id);
    const copy = c.copySlot.bind(c);
    c.copySlot = (from: number, to: number, n: number): void => {
      copy(from, to, n);
      this.copies.push(id, from, to, n);
    };
    return c;
  }

  private announce(kind: number, ids: Int32Array, B: number, T: number, opts: ForwardOptions, hidden: Float32Array | null): void {
    if (this.stopped) throw new Error('expert-parallel serving has stopped: the other ranks are gone');
    const view = opts.cache;
    const id = view ? this.caches.get(view.cache) : undefined;
    if (!view || id !== (kind === KIND_FORWARD ? MAIN : MTP)) throw new Error('expert-parallel serving mirrors the generator\'s cached forwards only (a forward without its KV cache reached the leader)');
    // What would fail here fails before the followers are involved.
    view.cache.ensureRoom(view.slots, T);
    if (ids.length !== B * T || view.slots.length !== B) throw new Error(`ForwardLeader: ${ids.length} ids and ${view.slots.length} slots for a [${B}, ${T}] forward`);
    const c = view.cache;
    this.send(Int32Array.of(kind, B, T, opts.lastOnly ? 1 : 0, this.copies.length / 4, c.slots, c.maxLen));
    const payload = new Int32Array(B * T + B + c.slots + this.copies.length);
    payload.set(ids, 0);
    payload.set(view.slots, B * T);
    payload.set(c.lengths, B * T + B);
    payload.set(this.copies, B * T + B + c.slots);
    this.copies = [];
    this.comm.bcast(payload, 0);
    if (hidden) this.comm.bcast(hidden, 0);
    this.steps++;
  }

  private send(header: Int32Array): void {
    const reqs = [];
    for (let r = 1; r < this.comm.size; r++) reqs.push(this.comm.isend(header, r, TAG));
    waitAll(reqs);
  }

  /** Ends the followers' loops (idempotent); forwards after this throw. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.send(Int32Array.of(KIND_STOP, 0, 0, 0, 0, 0, 0));
  }
}

/** Waits for rank 0's next header without spinning in MPI: MPI_Test polls, backing off while idle. */
async function nextHeader(comm: Communicator, header: Int32Array): Promise<void> {
  const req = comm.irecv(header, 0, TAG);
  const t0 = performance.now();
  while (!req.test()) {
    const idle = performance.now() - t0;
    await new Promise<void>((r) => (idle < 5 ? setImmediate(r) : setTimeout(r, idle < 1000 ? 1 : 10)));
  }
}

/**
 * A follower's side (ranks 1…N−1): runs every forward rank 0 announces on its own copy of the model
 * (holding its experts) and caches, until the stop message. Returns the steps run. An error here is
 * this rank's alone (rank 0 checks what could fail before announcing): the caller ends the job.
 */
export async function followForwards(comm: Communicator, model: DeepseekV3): Promise<number> {
  const header = new Int32Array(HEADER);
  const caches: (KVCache | null)[] = [null, null];
  const D = model.cfg.hiddenSize;
  for (let steps = 0; ; steps++) {
    await nextHeader(comm, header);
    const [kind, B, T, , nCopies, slots, maxLen] = header;
    if (kind === KIND_STOP) return steps;
    if (kind !== KIND_FORWARD && kind !== KIND_MTP) throw new Error(`expert-parallel serving: unknown step kind ${kind} from rank 0`);
    const payload = comm.bcast(new Int32Array(B * T + B + slots + 4 * nCopies), 0);
    const hidden = kind === KIND_MTP ? comm.bcast(new Float32Array(B * T * D), 0) : null;
    const id = kind === KIND_FORWARD ? MAIN : MTP;
    caches[id] ??= id === MAIN ? model.newCache(slots, maxLen) : model.newMtpCache(slots, maxLen);
    const cache = caches[id]!;
    if (cache.slots !== slots || cache.maxLen !== maxLen) throw new Error(`expert-parallel serving: rank 0's cache has ${slots} slots of ${maxLen} tokens, this rank's ${cache.slots} of ${cache.maxLen}`);
    const ids = payload.subarray(0, B * T);
    const rows = payload.slice(B * T, B * T + B);
    const copies = payload.subarray(B * T + B + slots);
    for (let i = 0; i < nCopies; i++) {
      const c = caches[copies[4 * i]];
      if (!c) throw new Error('expert-parallel serving: a slot copy for a cache no forward has used');
      c.copySlot(copies[4 * i + 1], copies[4 * i + 2], copies[4 * i + 3]);
    }
    cache.lengths.set(payload.subarray(B * T + B, B * T + B + slots));
    // Only the MoE layers' collectives matter here: the logits are rank 0's, so only the last position's are computed.
    noGrad(() => tidy(() => {
      const opts = { cache: { cache, slots: rows }, lastOnly: true };
      if (kind === KIND_FORWARD) model.forward(Tensor.ints(ids, [B, T]), opts);
      else model.mtpDraft(Tensor.from(hidden!, [B, T, D]), Int32Array.from(ids), opts);
    }));
  }
}
