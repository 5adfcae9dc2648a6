/**
 * core/ writes some constants as literals on its hot paths, each followed by a comment naming the
 * constant (`case 1 /* OpKind.MSR *\/`, `(this.hcr & 0x1) /* HCR_VM *\/`; the note at the top of
 * core/pe.ts says why). Every such literal must equal the constant it names: this reads the
 * sources and checks each one, so that a constant changed where it is defined cannot leave a
 * stale copy behind.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BusStatus } from '../../core/bus.js';
import { HCR_AMO, HCR_FMO, HCR_IMO, HCR_VF, HCR_VI, HCR_VM, HCR_VSE } from '../../core/hcr.js';
import { OpKind } from '../../core/ops.js';
import { LINE_FIQ, LINE_IRQ, LINE_SERROR, LINE_VFIQ, LINE_VIRQ, PeState } from '../../core/pe.js';
import { PSR_A, PSR_DAIF, PSR_F, PSR_I, PSR_IL, PSR_NZCV } from '../../core/pstate.js';
import { S2_EXEC, S2_READ, S2_WRITE } from '../../core/stage2.js';
import { Access } from '../../core/sysreg.js';
import { Result, THREAD_BASE, THREAD_SPAN } from '../../core/threads.js';

const FILES = ['core/pe.ts', 'core/threads.ts', 'core/machine.ts', 'core/events.ts', 'core/sysreg.ts', 'core/bus.ts', 'core/memory.ts', 'core/stage2.ts', 'core/regions.ts'];
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const NAMED: Record<string, number> = {
  HCR_AMO, HCR_FMO, HCR_IMO, HCR_VF, HCR_VI, HCR_VM, HCR_VSE,
  LINE_FIQ, LINE_IRQ, LINE_SERROR, LINE_VFIQ, LINE_VIRQ,
  PSR_A, PSR_DAIF, PSR_F, PSR_I, PSR_IL, PSR_NZCV,
  S2_EXEC, S2_READ, S2_WRITE,
  THREAD_BASE, THREAD_SPAN,
};
const GROUPS: Record<string, Readonly<Record<string, number>>> = { OpKind, PeState, Result, Access, BusStatus };

/** A constant a file defines for itself (`const NAME = <number>;`), not exported. */
function localConstants(src: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of src.matchAll(/^(?:export )?const ([A-Z][A-Z0-9_]*) = (0x[0-9a-fA-F_]+|\d[\d_]*);/gm)) out.set(m[1]!, Number(m[2]!.replaceAll('_', '')));
  return out;
}

function valueOf(name: string, local: Map<string, number>): number | undefined {
  const dot = name.indexOf('.');
  if (dot >= 0) return GROUPS[name.slice(0, dot)]?.[name.slice(dot + 1)];
  return NAMED[name] ?? local.get(name);
}

test('every literal core/ writes in place of a named constant equals that constant', (t) => {
  let checked = 0;
  const wrong: string[] = [];
  for (const file of FILES) {
    const src = readFileSync(`${ROOT}${file}`, 'utf8');
    const local = localConstants(src);
    src.split('\n').forEach((line, i) => {
      for (const m of line.matchAll(/(0x[0-9a-fA-F_]+|\b\d[\d_]*)\)?\s*\/\*\s*([A-Za-z_][\w.]*)\s*\*\//g)) {
        const literal = Number(m[1]!.replaceAll('_', ''));
        const named = valueOf(m[2]!, local);
        checked++;
        if (named === undefined) wrong.push(`${file}:${i + 1}: ${m[2]} is no constant this test knows`);
        else if (named !== literal) wrong.push(`${file}:${i + 1}: ${m[1]} written for ${m[2]}, which is ${named}`);
      }
    });
  }
  t.deepEqual(wrong, []);
  // pe.ts's per-op switch alone names every op kind.
  t.true(checked >= Object.keys(OpKind).length, `only ${checked} literals found`);
});
