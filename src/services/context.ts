import type { AuditContext } from '../audit/types.js';
import type { Db } from '../db/index.js';

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
}
