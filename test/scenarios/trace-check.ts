/**
 * Checks a Chrome trace-event document the way Perfetto's legacy JSON importer reads it:
 * timestamps become integer nanoseconds by truncating `ts * 1000`; per (pid, tid) the X slices,
 * sorted by start (longer first), must nest strictly; v2 flows (`bind_id` + `flow_out` /
 * `flow_in`) must pair up one to one.
 */
export interface TraceCheck {
  readonly slices: number;
  readonly instants: number;
  readonly flows: number;
  readonly errors: string[];
}

type Ev = { name?: unknown; ph?: unknown; pid?: unknown; tid?: unknown; ts?: unknown; dur?: unknown; bind_id?: unknown; flow_in?: unknown; flow_out?: unknown; s?: unknown };

export function checkTrace(doc: unknown): TraceCheck {
  const errors: string[] = [];
  const evs = (doc as { traceEvents?: unknown }).traceEvents;
  if (!Array.isArray(evs)) return { slices: 0, instants: 0, flows: 0, errors: ['traceEvents is not an array'] };
  const byTrack = new Map<string, { start: number; end: number; name: string }[]>();
  const outs = new Map<number, number>();
  const ins = new Map<number, number>();
  let instants = 0;
  let slices = 0;
  for (const e of evs as Ev[]) {
    if (typeof e.ph !== 'string' || typeof e.name !== 'string' || typeof e.pid !== 'number' || typeof e.tid !== 'number' || typeof e.ts !== 'number') {
      errors.push(`malformed event ${JSON.stringify(e).slice(0, 120)}`);
      continue;
    }
    if (e.ph === 'M') continue;
    const start = Math.trunc(e.ts * 1000);
    if (e.ph === 'i') {
      instants++;
      if (e.s !== 't') errors.push(`instant ${e.name} without thread scope`);
      continue;
    }
    if (e.ph !== 'X') {
      errors.push(`unexpected phase ${e.ph}`);
      continue;
    }
    if (typeof e.dur !== 'number' || e.dur < 0) {
      errors.push(`slice ${e.name} without a duration`);
      continue;
    }
    slices++;
    const k = `${e.pid}/${e.tid}`;
    const list = byTrack.get(k) ?? [];
    list.push({ start, end: start + Math.trunc(e.dur * 1000), name: e.name });
    byTrack.set(k, list);
    if (typeof e.bind_id === 'number') {
      if (e.flow_out === true) outs.set(e.bind_id, (outs.get(e.bind_id) ?? 0) + 1);
      else if (e.flow_in === true) ins.set(e.bind_id, (ins.get(e.bind_id) ?? 0) + 1);
      else errors.push(`bind_id ${e.bind_id} without a direction`);
    }
  }
  for (const [k, list] of byTrack) {
    list.sort((a, b) => a.start - b.start || b.end - a.end);
    const stack: { start: number; end: number; name: string }[] = [];
    for (const s of list) {
      while (stack.length > 0 && stack[stack.length - 1]!.end <= s.start) stack.pop();
      const parent = stack[stack.length - 1];
      if (parent !== undefined && s.end > parent.end) {
        errors.push(`${k}: ${s.name} [${s.start}, ${s.end}] overlaps ${parent.name} [${parent.start}, ${parent.end}]`);
        if (errors.length > 20) break;
      }
      stack.push(s);
    }
  }
  let flows = 0;
  for (const [id, n] of outs) {
    if (n !== 1) errors.push(`flow ${id} starts ${n} times`);
    const m = ins.get(id) ?? 0;
    if (m !== 1) errors.push(`flow ${id} ends ${m} times`);
    else flows++;
  }
  for (const id of ins.keys()) if (!outs.has(id)) errors.push(`flow ${id} ends but never starts`);
  return { slices, instants, flows, errors };
}
