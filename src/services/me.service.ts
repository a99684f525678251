import { consistentRead, type Db } from '../db/index.js';
import { explainUsers, type EffectiveAccess } from './effective-access.service.js';
import { userPolicy, type UserPolicyView } from './effective-policy.service.js';

// "What applies to me": the caller's own access and policy, for Codex clients and their users.
// Both come from one snapshot, so the policy never belongs to another moment than the permissions.

export interface MyAccess {
  access: EffectiveAccess;
  policy: UserPolicyView;
}

export async function myAccess(db: Db, workspaceId: string, userId: string): Promise<MyAccess> {
  return consistentRead(db, async (trx) => {
    const [access] = await explainUsers(trx, workspaceId, [userId]);
    // The caller was matched to this user moments ago; a delete in between reads as not found.
    const policy = await userPolicy(trx, workspaceId, userId);
    return { access: access!, policy };
  });
}
