import type { FastifyReply } from 'fastify';
import type { WriteResult } from '../../services/access.service.js';

/** Header of every access-model write: how many users' effective permissions it changed. */
export const ACCESS_CHANGED_HEADER = 'x-access-changed-users';

export const WRITE_NOTE =
  `The ${ACCESS_CHANGED_HEADER} response header says how many users' effective permissions the change altered; ` +
  'each of those changes is in the audit trail as an access.changed event caused by this one.';

/** Replies with the result of an access-model write, reporting its reach in a header. */
export function sendWrite<T>(reply: FastifyReply, write: WriteResult<T>, status = 200): FastifyReply {
  reply.header(ACCESS_CHANGED_HEADER, String(write.accessChanges.length));
  if (status === 204) return reply.code(204).send();
  return reply.code(status).send(write.result);
}
