/**
 * `call` (core/ops.ts): a sub-program run by the PE's thread instead of by `yield*` delegation
 * executes the same ops in the same order, returns its value to the caller, nests, survives an
 * exception taken and returned from in the middle of it, and ends the program where `yield*`
 * would.
 */
import test from 'ava';
import fc from 'fast-check';
import { SimEvent } from '../../core/events.js';
import { call, eret, getx, mrs, msr, setx, str, work, type Program } from '../../core/ops.js';
import { ELR_EL1, SPSR_EL1, TPIDR_EL1 } from '../../core/sysregs.js';
import { cpuOff, setup } from '../helpers/harness.js';
import { addLineDevice, LINE_DEV } from '../helpers/line-device.js';

/** A sub-program tree of the given shape: each node writes and reads TPIDR_EL1 and calls its children either way. */
interface Node {
  readonly id: number;
  readonly viaCall: boolean;
  readonly children: readonly Node[];
}

function* visit(n: Node, log: string[]): Program<number> {
  yield msr(TPIDR_EL1, n.id, 3);
  const back: number = yield mrs(TPIDR_EL1, 4);
  log.push(`in ${n.id}:${back}`);
  let sum = back;
  for (const c of n.children) {
    const r: number = c.viaCall ? yield call(visit(c, log)) : yield* visit(c, log);
    log.push(`ret ${c.id}:${r}`);
    sum += r;
  }
  yield work(10);
  return sum;
}

function runTree(root: Node): { log: string[]; total: number; cycles: number; ops: number } {
  const log: string[] = [];
  let total = -1;
  const m = setup({
    el: 1,
    main: function* () {
      total = yield call(visit(root, log));
      yield* cpuOff();
    },
  });
  m.run(1e7);
  return { log, total, cycles: m.pes[0]!.counters.cyclesAt[1]!, ops: m.pes[0]!.counters.ops };
}

function nodeArb(depth: number): fc.Arbitrary<Node> {
  return fc.record({
    id: fc.integer({ min: 0, max: 1000 }),
    viaCall: fc.boolean(),
    children: depth === 0 ? fc.constant([]) : fc.array(nodeArb(depth - 1), { maxLength: 3 }),
  });
}

function allYieldStar(n: Node): Node {
  return { id: n.id, viaCall: false, children: n.children.map(allYieldStar) };
}

test('a call tree computes what the same tree under yield* computes: the same ops, values, cycles', (t) => {
  fc.assert(
    fc.property(nodeArb(4), (root) => {
      const mixed = runTree(root);
      const plain = runTree(allYieldStar(root));
      t.deepEqual(mixed.log, plain.log);
      t.is(mixed.total, plain.total);
      t.is(mixed.ops, plain.ops);
      t.is(mixed.cycles, plain.cycles);
      t.true(mixed.log.length > 0);
    }),
    { numRuns: 60, seed: 15 },
  );
});

test('an IRQ taken inside a called sub-program returns into it; the caller then gets its value', (t) => {
  const log: string[] = [];
  let got = -1;
  const m = setup({
    el: 1,
    el1Vectors: {
      curSpx: {
        irq: function* () {
          const elr: number = yield mrs(ELR_EL1, 9);
          const spsr: number = yield mrs(SPSR_EL1, 9);
          log.push('irq');
          yield str(LINE_DEV, 0, 4, 9);
          yield msr(ELR_EL1, elr, 9);
          yield msr(SPSR_EL1, spsr, 9);
          yield eret();
        },
      },
    },
    main: function* () {
      function* inner(): Program<number> {
        let acc = 0;
        for (let i = 0; i < 10; i++) {
          yield work(100);
          acc += i;
        }
        yield setx(5, acc);
        return (yield getx(5)) as number;
      }
      function* middle(): Program<number> {
        log.push('middle');
        const r: number = yield call(inner());
        log.push(`inner ${r}`);
        return r * 2;
      }
      got = yield call(middle());
      log.push('main');
      yield* cpuOff();
    },
  });
  addLineDevice(m);
  m.events.schedule(new SimEvent('device', 0, () => m.pes[0]!.setLine(1, true)), 450);
  m.run(1e6);
  t.deepEqual(log, ['middle', 'irq', 'inner 45', 'main']);
  t.is(got, 90);
});

test('a program that yields something other than an op or a call is stopped with a ProgramError', (t) => {
  const m = setup({
    el: 1,
    main: function* () {
      yield 42 as never;
    },
  });
  t.throws(() => m.run(1e6), { message: /not the one built last/ });
});
