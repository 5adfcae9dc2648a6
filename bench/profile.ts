/**
 * CPU profile of a benchmark's measured windows only (not its boot), taken in-process with the
 * V8 inspector (the same sampler as `node --cpu-prof`), saved as a .cpuprofile (open it in
 * Chrome DevTools > Performance, or speedscope) and summarised as the functions and files with
 * the most self time.
 */
import { Session } from 'node:inspector';
import { findSourceMap } from 'node:module';
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly hitCount?: number;
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

export interface SelfTime {
  readonly name: string;
  readonly where: string;
  readonly ms: number;
  readonly share: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly samples: number;
  readonly functions: readonly SelfTime[];
  readonly files: readonly SelfTime[];
  readonly file?: string;
}

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

/** Runs `body` under the sampling profiler (100 us interval) and returns the profile. */
export function profile(body: () => void, intervalUs = 100): CpuProfile {
  const s = new Session();
  s.connect();
  let out: CpuProfile | null = null;
  let failure: unknown = null;
  const post = (method: string, params?: object): void => {
    s.post(method, params ?? {}, (err, res) => {
      if (err !== null) failure = err;
      if (method === 'Profiler.stop' && res !== undefined) out = (res as { profile: CpuProfile }).profile;
    });
  };
  post('Profiler.enable');
  post('Profiler.setSamplingInterval', { interval: intervalUs });
  post('Profiler.start');
  try {
    body();
  } finally {
    post('Profiler.stop');
    s.disconnect();
  }
  if (out === null) throw new Error(`profiler: ${String(failure ?? 'no profile returned')}`);
  return out;
}

function where(f: CallFrame): string {
  if (f.url === '') return '(native)';
  let p = f.url.startsWith('file://') ? fileURLToPath(f.url) : f.url;
  if (p.startsWith(ROOT)) p = relative(ROOT, p);
  return p;
}

/** 1-based source line of a frame, through the source map tsx registers (its output is one line per file). */
function sourceLine(f: CallFrame): number | null {
  if (!f.url.startsWith('file://')) return null;
  try {
    const e = findSourceMap(f.url)?.findEntry(f.lineNumber, f.columnNumber) as { originalLine?: number } | undefined;
    if (e !== undefined && typeof e.originalLine === 'number') return e.originalLine + 1;
  } catch {
    // no map: fall through
  }
  return f.lineNumber + 1;
}

/** Self time per function (name + file:line) and per file, largest first. */
export function summarise(p: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) byId.set(n.id, n);
  const self = new Map<number, number>();
  // Every sample weighs the same: the window's time divided by the samples. Weighting each by
  // the time to the next sample (what DevTools shows) charges the sampler's own stalls to the
  // function it sampled last, and the sampler stalls for milliseconds after a garbage
  // collection: on steady-direct that weighting put 22% in "(garbage collector)" where the
  // samples are 6% and `node --trace-gc` measures the pauses at 2-3% of the time.
  const hits = p.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0);
  const per = (p.endTime - p.startTime) / 1000 / Math.max(1, hits);
  for (const n of p.nodes) if ((n.hitCount ?? 0) > 0) self.set(n.id, n.hitCount! * per);
  const totalMs = [...self.values()].reduce((a, b) => a + b, 0);
  const fns = new Map<string, { name: string; where: string; ms: number }>();
  const files = new Map<string, number>();
  for (const [id, ms] of self) {
    const f = byId.get(id)!.callFrame;
    const w = where(f);
    const name = f.functionName === '' ? '(anonymous)' : f.functionName;
    const line = sourceLine(f);
    const key = `${name}@${w}:${line ?? ''}`;
    const e = fns.get(key) ?? { name, where: line === null ? w : `${w}:${line}`, ms: 0 };
    e.ms += ms;
    fns.set(key, e);
    files.set(w, (files.get(w) ?? 0) + ms);
  }
  const share = (ms: number): number => (totalMs > 0 ? ms / totalMs : 0);
  return {
    totalMs,
    samples: hits,
    functions: [...fns.values()].sort((a, b) => b.ms - a.ms).slice(0, top).map((e) => ({ ...e, share: share(e.ms) })),
    files: [...files.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([w, ms]) => ({ name: w, where: w, ms, share: share(ms) })),
  };
}

export function saveProfile(p: CpuProfile, file: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(p));
}

export function formatSummary(title: string, s: ProfileSummary, top = 20): string {
  const pct = (x: number): string => `${(x * 100).toFixed(1).padStart(5)}%`;
  const lines = [`${title}: ${s.totalMs.toFixed(0)} ms sampled (${s.samples} samples)`, '', 'top self time, by function:'];
  for (const f of s.functions.slice(0, top)) lines.push(`  ${pct(f.share)} ${f.ms.toFixed(1).padStart(8)} ms  ${f.name}  ${f.where}`);
  lines.push('', 'self time by file:');
  for (const f of s.files.slice(0, 12)) lines.push(`  ${pct(f.share)} ${f.ms.toFixed(1).padStart(8)} ms  ${f.name}`);
  if (s.file !== undefined) lines.push('', `profile saved to ${s.file} (Chrome DevTools > Performance > Load profile)`);
  return lines.join('\n');
}
