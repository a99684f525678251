import type { Transaction } from 'kysely';
import type { AuditContext, NewAuditEvent } from '../audit/types.js';
import type { Database } from '../db/types.js';
import { projectionDuration } from '../metrics.js';
import { appendAuditEvents } from '../repositories/audit.repository.js';
import { accessProjector, type AccessChange } from './effective-access.service.js';
import { policyProjector } from './policies.service.js';

// The one commit step of every write: the change's audit events are appended, then each
// projector brings the state it derives from them (effective access, effective policy) up to date
// in the same transaction, choosing what to recompute from the events alone. No service calls a
// projector; a write that forgets nothing cannot let derived state drift.

/** An event as appended: its id is what derived events name as their cause. */
export interface CommittedEvent extends NewAuditEvent {
  id: string;
}

export interface Projector<Change> {
  name: string;
  /**
   * Event types whose commit can change what the projector keeps; every other type of the
   * catalogue is listed in `ignores`, so that a new event type is a decision, not an omission.
   */
  dependsOn: readonly string[];
  ignores: readonly string[];
  project(trx: Transaction<Database>, audit: AuditContext, events: readonly CommittedEvent[]): Promise<Change[]>;
}

export interface Commit {
  eventIds: string[];
  accessChanges: AccessChange[];
  /** Users whose effective policy changed. */
  policyChanges: number;
}

export async function commit(trx: Transaction<Database>, audit: AuditContext, events: readonly NewAuditEvent[]): Promise<Commit> {
  if (events.length === 0) return { eventIds: [], accessChanges: [], policyChanges: 0 };
  const eventIds = await appendAuditEvents(trx, audit, [...events]);
  const committed = events.map((event, i): CommittedEvent => ({ ...event, id: eventIds[i]! }));
  // Access first: the policy projector reads nothing access writes, but access events then
  // precede policy events in the trail, as they always have.
  const accessChanges = await timed(accessProjector, trx, audit, committed);
  const policyChanges = (await timed(policyProjector, trx, audit, committed)).length;
  return { eventIds, accessChanges, policyChanges };
}

/** Runs a projector, recording how long it took when one of the events concerns it. */
async function timed<Change>(projector: Projector<Change>, trx: Transaction<Database>, audit: AuditContext, events: readonly CommittedEvent[]): Promise<Change[]> {
  if (!events.some((event) => projector.dependsOn.includes(event.type))) return projector.project(trx, audit, events);
  const stop = projectionDuration.startTimer({ projector: projector.name.replace(/ /g, '_') });
  try {
    return await projector.project(trx, audit, events);
  } finally {
    stop();
  }
}
