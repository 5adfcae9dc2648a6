/**
 * The host the benchmarks run on: its description (CPU, cores, Node, OS), its load, the wall
 * clock (allowed here only: nothing inside the model reads it), a garbage collection that works
 * with or without `--expose-gc`, and the memory figures taken after it.
 */
import os from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface HostDescription {
  readonly cpu: string;
  readonly cores: number;
  readonly mhz: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly v8: string;
  readonly os: string;
  readonly arch: string;
}

export function describeHost(): HostDescription {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    mhz: cpus[0]?.speed ?? 0,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    v8: process.versions.v8,
    os: `${os.type()} ${os.release()}`,
    arch: os.arch(),
  };
}

/** 1-minute load average (0 where the OS has none). */
export function load1(): number {
  return Math.round(os.loadavg()[0]! * 100) / 100;
}

/** The wall-clock date, ISO 8601, and the same as a file-name stamp. */
export function wallClock(): { iso: string; stamp: string } {
  const iso = new Date().toISOString();
  return { iso, stamp: iso.replace(/[:.]/g, '-') };
}

type Gc = () => void;
let gcFn: Gc | null | undefined;

/** `global.gc` when the process runs with --expose-gc, else one obtained by setting the flag at run time. */
function gcFunction(): Gc | null {
  if (gcFn !== undefined) return gcFn;
  const g = (globalThis as { gc?: Gc }).gc;
  if (typeof g === 'function') return (gcFn = g);
  try {
    setFlagsFromString('--expose-gc');
    const f = runInNewContext('gc') as unknown;
    gcFn = typeof f === 'function' ? (f as Gc) : null;
  } catch {
    gcFn = null;
  }
  return gcFn;
}

/** Whether `fullGc` really collects. */
export function gcAvailable(): boolean {
  return gcFunction() !== null;
}

/** One full garbage collection (nothing without a gc function). */
export function collectGarbage(): void {
  gcFunction()?.();
}

/** Full garbage collections until the heap stops shrinking (at most 4). */
export function fullGc(): void {
  const gc = gcFunction();
  if (gc === null) return;
  let last = Infinity;
  for (let i = 0; i < 4; i++) {
    gc();
    const h = process.memoryUsage().heapUsed;
    if (h >= last - 64 * 1024) break;
    last = h;
  }
}

export interface MemorySnapshot {
  /** JS heap in use after a full GC (bytes). */
  readonly heapUsed: number;
  /** ArrayBuffer backing stores (the simulated RAM pages, typed arrays), bytes. */
  readonly arrayBuffers: number;
  /** Peak resident set size of the process so far (bytes). */
  readonly peakRss: number;
}

/** Memory after a full GC. */
export function memorySnapshot(): MemorySnapshot {
  fullGc();
  const mu = process.memoryUsage();
  return { heapUsed: mu.heapUsed, arrayBuffers: mu.arrayBuffers, peakRss: process.resourceUsage().maxRSS * 1024 };
}
