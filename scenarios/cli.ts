/**
 * `npm start`: for now, a demonstration run of the bare machine (later: the default
 * injected-vs-direct comparison).
 */
import { runMachineDemo } from './machine-demo.js';

const r = runMachineDemo();
process.stdout.write(`minivisor machine demo (one PE, stage-2 guest, emulated UART)\n\n`);
process.stdout.write(`guest UART output: ${JSON.stringify(r.uartText)}\n`);
process.stdout.write(`hypercalls handled: ${r.hypercalls}\n`);
process.stdout.write(`EL2 entries:        ${r.el2Entries}\n`);
process.stdout.write(`cycles at EL0/1/2:  ${r.cyclesAt.join(' / ')}\n`);
process.stdout.write(`simulated cycles:   ${r.simulatedCycles}\n`);
process.stdout.write(`trace records:      ${r.traceRecords}\n`);
process.stdout.write(`host time:          ${r.hostMs.toFixed(1)} ms\n`);
