import type { BenchClient } from './http.js';
import { sequential, type LatencyStats } from './measure.js';
import { memberPatch, type GroupRef, type Idp, type MemberChange } from './scim-bodies.js';

// The one-member PATCH loop both benchmarks use: a small and a large group interleaved request by
// request (so drift — autovacuum, a growing audit table, a neighbour's load — hits both alike),
// each alternating add and remove of one member so that every request really changes the
// membership. The large group removes then re-adds one of its members; the small group adds then
// removes a non-member. Both groups end as they started.

export type Size = 'small' | 'large';

export interface InterleavedPatches {
  idp: Idp;
  small: GroupRef;
  large: GroupRef;
  /** A user who is not in the small group. */
  smallOutsider: string;
  /** A user who is in the large group. */
  largeMember: string;
  perCase: number;
  warmup: number;
}

/** Latencies labelled `small:add`, `small:remove`, `large:add`, `large:remove`. */
export async function interleavedMemberPatches(client: BenchClient, o: InterleavedPatches): Promise<Map<string, LatencyStats>> {
  const plan = (i: number): { size: Size; change: MemberChange } => {
    const size: Size = i % 2 === 0 ? 'small' : 'large';
    const phase = Math.floor(i / 2) % 2;
    const change: MemberChange = size === 'small' ? (phase === 0 ? 'add' : 'remove') : phase === 0 ? 'remove' : 'add';
    return { size, change };
  };
  return sequential(client, {
    // Multiples of 4 keep both groups' add/remove cycles complete.
    warmup: o.warmup * 4,
    iterations: o.perCase * 4,
    build: (i) => {
      const { size, change } = plan(i);
      const group = size === 'small' ? o.small : o.large;
      const user = size === 'small' ? o.smallOutsider : o.largeMember;
      return { method: 'PATCH', path: `/Groups/${group.id}`, body: memberPatch(o.idp, change, group, user, 'bench.user@example.com') };
    },
    label: (i) => `${plan(i).size}:${plan(i).change}`,
    expect: [200, 204],
  });
}
