import type { AuditContext } from '../audit/types.js';
import type { Db } from '../db/index.js';
import type { WorkspaceSchemas } from './scim-schemas.service.js';

/** Everything a SCIM use-case needs about the request it serves. */
export interface ScimContext {
  db: Db;
  workspaceId: string;
  /** e.g. https://bridge.example.com/scim/v2 — the base of meta.location. */
  baseUrl: string;
  /** Who is acting, for the audit trail. */
  audit: AuditContext;
  /** ServiceProviderConfig.filter.maxResults. */
  maxResults: number;
  /** Largest member list a Group response serialises inline. */
  maxInlineMembers: number;
  /** Where the service reports what clients send that nobody declared (the request's logger). */
  log?: { warn(details: object, message: string): void };
  /** The workspace's SCIM schemas (built-in and declared extensions) and unknown-attribute policy. */
  schemas: WorkspaceSchemas;
}
