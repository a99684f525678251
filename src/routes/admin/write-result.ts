import type { FastifyReply } from 'fastify';
import { currentDryRun, noChange } from '../../services/dry-run.js';
import { changesPermissions, type AccessChange } from '../../services/effective-access.service.js';

/** Header of every access-model write: how many users' effective permissions it changed. */
export const ACCESS_CHANGED_HEADER = 'x-access-changed-users';
/** Header of every policy write: how many users' effective policy it changed. */
export const POLICY_CHANGED_HEADER = 'x-policy-changed-users';

/** What a write did, as the services report it: its result and the derived changes it caused. */
export interface Write<T> {
  result: T;
  accessChanges?: readonly AccessChange[];
  effectivePolicyChanges?: number;
}

export const WRITE_NOTE =
  `The ${ACCESS_CHANGED_HEADER} response header says how many users' effective permissions the change altered; ` +
  'each of those changes is in the audit trail as an access.changed event caused by this one (as is a change of only the roles that grant them).';

/** The one way a write's reply reports its reach: a header per kind of derived change it reports. */
export function sendWrite<T>(reply: FastifyReply, write: Write<T>, status = 200): FastifyReply {
  // In a dry run, a write that reaches its reply never reached the commit step: it changes nothing.
  if (currentDryRun()) noChange();
  if (write.accessChanges !== undefined) reply.header(ACCESS_CHANGED_HEADER, String(write.accessChanges.filter(changesPermissions).length));
  if (write.effectivePolicyChanges !== undefined) reply.header(POLICY_CHANGED_HEADER, String(write.effectivePolicyChanges));
  if (status === 204) return reply.code(204).send();
  return reply.code(status).send(write.result);
}
