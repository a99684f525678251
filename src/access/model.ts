// The access model as plain values: what the resolver reads. The services load it from the
// database (src/repositories/access.repository.ts); tests build it by hand.

export type Effect = 'allow' | 'deny';
/** What an admin sets per permission on a role; 'inherit' is stored as the absence of a row. */
export type EffectSetting = Effect | 'inherit';

/**
 * How a user's roles combine. most-permissive, the published rule: allowed if any
 * role allows, else denied if any denies, else the baseline. deny-overrides: denied if any role
 * denies, else allowed if any allows, else the baseline.
 */
export type ResolutionStrategy = 'most-permissive' | 'deny-overrides';
export const DEFAULT_STRATEGY: ResolutionStrategy = 'most-permissive';

export interface Permission {
  key: string;
  description: string;
  /** The value of "inherit": what a user holds when none of their roles decides the permission. */
  baseline: boolean;
}

export interface Role {
  id: string;
  name: string;
  /** Only the permissions the role decides; a key that is absent inherits. */
  permissions: Readonly<Record<string, Effect>>;
}

/** How a mapping names its group; exactly one of the three references is set. */
export type MappingMatch = 'id' | 'externalId' | 'displayName';

export interface Mapping {
  id: string;
  roleId: string;
  groupId: string | null;
  groupExternalId: string | null;
  /** Matched case-insensitively, and following renames: whichever group bears the name now. */
  groupDisplayName: string | null;
}

export interface AccessModel {
  strategy: ResolutionStrategy;
  /** Applies to a user who ends up with no role at all; null: such a user gets the baselines. */
  defaultRoleId: string | null;
  permissions: readonly Permission[];
  roles: readonly Role[];
  mappings: readonly Mapping[];
}

export interface GroupFacts {
  id: string;
  displayName: string;
  externalId: string | null;
  /**
   * The mappings that match this group, when the caller matched them already (the services let
   * SQL do it, with the database's own lower(), so explain and the recompute cannot disagree on a
   * name). Absent: the resolver matches with mappingMatches().
   */
  matchedMappingIds?: readonly string[];
}

/** What the resolver needs to know about one user. */
export interface UserFacts {
  id: string;
  /** False for a deleted user (who holds nothing); default true. */
  exists?: boolean;
  active: boolean;
  directRoleIds: readonly string[];
  groups: readonly GroupFacts[];
}
