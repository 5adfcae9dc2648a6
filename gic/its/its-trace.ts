/**
 * Trace record kinds of the ITS (declaration merging into core's `TraceKinds`). ITS records
 * are not tied to a PE: they carry `core: -1` and `el: -1`.
 */
import '../../core/trace.js';

export type ItsCommandResult = 'done' | 'skipped' | 'stalled';

declare module '../../core/trace.js' {
  interface TraceKinds {
    /** An ITS command executed: its decoded fields, outcome and the table entries it read or wrote. */
    'its-command': {
      offset: number;
      command: string;
      fields: Readonly<Record<string, number | string>>;
      result: ItsCommandResult;
      error: number;
      tableAccesses: number;
    };
    /** An ITS command error (0x01_CC_EE) and what the queue did about it. */
    'its-error': { offset: number; command: string; code: number; error: string; outcome: 'skipped' | 'stalled' };
    /**
     * An MSI translated: the (v)LPI it became and the RD it went to (`error` 0), or dropped
     * (`error` = 0x0103EE, the INT command's code for the same condition).
     */
    'its-translate': { deviceId: number; eventId: number; intid: number; virtual: boolean; rd: number; delivered: boolean; error: number };
    /** The command queue stalled on an error, or resumed (GITS_CWRITER.Retry). */
    'its-queue': { state: 'stalled' | 'resumed'; offset: number };
  }
}

/** The ITS is not a PE: its records use this core/el. */
export const ITS_CORE = -1;
