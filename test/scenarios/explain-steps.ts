/**
 * The check every `--explain` test makes of a case: each step is a record of its run's trace
 * (same kind, time, core and EL) and the steps never go back in time.
 */
import type { ExecutionContext } from 'ava';
import type { TraceRecord } from '../../core/trace.js';
import type { ExplainCase } from '../../scenarios/explain.js';

export function stepsAreTraceRecords(t: ExecutionContext, k: ExplainCase, recs: readonly TraceRecord[]): void {
  let last = -Infinity;
  for (const st of k.steps) {
    t.true(st.t >= last, `${k.kind}: ${st.step} goes back in time`);
    last = st.t;
    t.true(
      recs.some((r) => r.kind === st.kind && r.t === st.t && (r.core >= 0 ? r.core : null) === st.core && (r.el >= 0 ? r.el : null) === st.el),
      `${k.kind}: ${st.step} (${st.kind} at ${st.t}) is in the trace`,
    );
  }
}
