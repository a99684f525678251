import type { Effect, Permission } from './model.js';

// What a new workspace starts with: the Codex permission toggles and the roles and
// IdP group names Codex recommends. All of it is ordinary, editable data once seeded; seeding
// again (`codex-scim init`) only adds what is missing and never overwrites an admin's edits.

/** Every baseline is off: a permission is held only where a role grants it. */
export const RECOMMENDED_PERMISSIONS: readonly Permission[] = [
  { key: 'codex_local', description: 'Use Codex locally: the app, CLI and IDE extension', baseline: false },
  { key: 'codex_cloud', description: 'Use Codex cloud: hosted tasks, iOS, tasks created from Slack or Linear', baseline: false },
  { key: 'code_review', description: 'Codex code review on pull requests', baseline: false },
  { key: 'codex_admin', description: 'Administer Codex: analytics, managed policies, cloud environments', baseline: false },
  { key: 'access_tokens', description: 'Create personal Codex access tokens', baseline: false },
  { key: 'agent_internet', description: 'Let cloud agents reach the internet (allowlists)', baseline: false },
  { key: 'codex_security', description: 'Use Codex Security', baseline: false },
  { key: 'codex_security_admin', description: 'Administer Codex Security', baseline: false },
];

export interface RecommendedRole {
  name: string;
  description: string;
  permissions: Record<string, Effect>;
  /** IdP groups mapped to the role by displayName, so the mapping works before the IdP pushes them. */
  groups: string[];
}

const ALL = RECOMMENDED_PERMISSIONS.map((p) => p.key);
const each = (keys: readonly string[], effect: Effect): Record<string, Effect> => Object.fromEntries(keys.map((k) => [k, effect]));

export const RECOMMENDED_ROLES: readonly RecommendedRole[] = [
  {
    name: 'Codex Admin',
    description: 'Administers Codex; holds every Codex permission',
    permissions: each(ALL, 'allow'),
    groups: ['codex-admins'],
  },
  {
    name: 'Codex Local',
    description: 'Codex in the app, CLI and IDE extension',
    permissions: each(['codex_local'], 'allow'),
    groups: ['codex-local-users'],
  },
  {
    name: 'Codex Cloud',
    description: 'Codex cloud tasks and code review',
    permissions: each(['codex_cloud', 'code_review'], 'allow'),
    groups: ['codex-cloud-users'],
  },
  {
    // Explicit denies: alone they equal the baselines, but under the deny-overrides strategy
    // membership of codex-restricted switches Codex off whatever other groups grant.
    name: 'Restricted',
    description: 'No Codex access; under deny-overrides it wins over every other role',
    permissions: each(ALL, 'deny'),
    groups: ['codex-restricted'],
  },
];

/**
 * The default role, for users in none of the mapped groups. It grants nothing (every permission
 * inherits its baseline, all off): being provisioned is not by itself a reason to use Codex —
 * the IdP's codex-* groups are. An admin who wants "everyone gets Codex locally" allows
 * codex_local on this role, or sets that permission's baseline on.
 */
export const RECOMMENDED_DEFAULT_ROLE: RecommendedRole = {
  name: 'Default',
  description: 'Applies to users with no other role',
  permissions: {},
  groups: [],
};
