import { sql, type Transaction } from 'kysely';
import type { Db, Executor } from '../db/index.js';
import type { Database } from '../db/types.js';
import { auditSealingLag, auditUnsealed } from '../metrics.js';
import { toAuditEvent } from '../repositories/audit.repository.js';
import { bigintArray, uuidArray } from '../repositories/ids.js';
import { eventLeafHash } from './leaf.js';
import { foldNodes, nodeHash, type Hash } from './merkle.js';
import { checkpointText, signNote, type NoteSigner } from './signed-note.js';
import type { AuditEvent } from './types.js';

// The sealer: gives committed audit events their leaf indices and appends them to their
// workspace's Merkle tree, off the write path. Every service instance runs it (and readers that
// need the log settled call it first); a transaction-level advisory lock makes one seal at a time
// across instances, and a batch is one transaction, so a sealer killed mid-batch leaves nothing
// behind, and `leaf_index is null` under the lock means nothing is sealed twice.
//
// It seals in seq order, and only up to a horizon below which no event can still appear:
// 1. read the sequence's last value S (every seq ≤ S has been drawn);
// 2. then take a fresh transaction id N (a statement of its own, committed at once): a writer
//    holding a seq ≤ S drew it before step 1 and already had a transaction id then (the seq
//    column's default makes sure), and ids are handed out in order, so its id is below N;
// 3. once no transaction with an id at or below N is running (the oldest running one, a
//    snapshot's xmin, is above N), each event with seq ≤ S is final — committed and visible, or
//    rolled back and never visible.
// (A snapshot's list of running transactions would not do for step 2: it omits those whose ids
// are above every id that has completed.)
// So the log is a prefix of seq order: leaf order is commit order for each group and user, and a
// reader paging sealed events by seq never finds one appear behind its cursor.
/** Key of the advisory lock all sealers share ("auditSe" in ASCII). */
const SEALER_LOCK = sql.lit('27432146867344229');
const SEAL_BATCH = 5_000;

export interface SealOptions {
  /** Signs each new checkpoint; without one, checkpoints are stored unsigned. */
  signer?: NoteSigner;
  /** Prefix of every checkpoint's origin line; the workspace id follows. */
  origin: string;
  batchSize?: number;
}

export function checkpointOrigin(origin: string, workspaceId: string): string {
  return `${origin}/workspaces/${workspaceId}`;
}

/** The tree of one workspace as the sealer extends it: its size and its right edge (complete subtrees, largest first). */
interface Edge {
  size: number;
  nodes: Array<{ level: number; hash: Hash }>;
}

/** The complete subtrees on the right edge of a tree of `size` leaves, as [level, index], largest first. */
export function edgeNodeRefs(size: number): Array<[number, number]> {
  const refs: Array<[number, number]> = [];
  for (let level = 52; level >= 0; level--) if (Math.floor(size / 2 ** level) % 2 === 1) refs.push([level, Math.floor(size / 2 ** level) - 1]);
  return refs;
}

async function loadEdge(trx: Executor, workspaceId: string, size: number): Promise<Edge> {
  const refs = edgeNodeRefs(size);
  const hashes = await loadNodes(trx, workspaceId, refs);
  return { size, nodes: refs.map(([level, index]) => ({ level, hash: hashes.get(`${level}/${index}`)! })) };
}

/** Stored nodes by `level/index`; throws if one is missing (the tree was tampered with). */
export async function loadNodes(db: Executor, workspaceId: string, refs: ReadonlyArray<readonly [number, number]>): Promise<Map<string, Hash>> {
  const found = new Map<string, Hash>();
  if (refs.length === 0) return found;
  const rows = await sql<{ level: number; index: string | number; hash: Uint8Array }>`
    select n.level, n.index, n.hash from audit_tree_nodes n
      join rows from (unnest(${bigintArray(refs.map((r) => r[0]))}), unnest(${bigintArray(refs.map((r) => r[1]))})) as w(level, index)
        on n.level = w.level and n.index = w.index
     where n.workspace_id = ${workspaceId}`.execute(db);
  for (const r of rows.rows) found.set(`${r.level}/${Number(r.index)}`, Buffer.from(r.hash));
  for (const [level, index] of refs) {
    if (!found.has(`${level}/${index}`)) throw new Error(`audit tree of workspace ${workspaceId} lacks node ${level}/${index}`);
  }
  return found;
}

/** Appends leaves to the edge; returns every node that became complete, leaves included. */
function appendLeaves(edge: Edge, leaves: readonly Hash[]): Array<{ level: number; index: number; hash: Hash }> {
  const created: Array<{ level: number; index: number; hash: Hash }> = [];
  for (const leaf of leaves) {
    const index = edge.size++;
    created.push({ level: 0, index, hash: leaf });
    edge.nodes.push({ level: 0, hash: leaf });
    // Two complete subtrees of one level side by side make one of the next.
    while (edge.nodes.length >= 2 && edge.nodes[edge.nodes.length - 1]!.level === edge.nodes[edge.nodes.length - 2]!.level) {
      const right = edge.nodes.pop()!;
      const left = edge.nodes.pop()!;
      const level = right.level + 1;
      const hash = nodeHash(left.hash, right.hash);
      edge.nodes.push({ level, hash });
      created.push({ level, index: Math.floor(edge.size / 2 ** level) - 1, hash });
    }
  }
  return created;
}

async function lockLog(trx: Transaction<Database>, workspaceId: string): Promise<{ treeSize: number }> {
  await trx.insertInto('audit_logs').values({ workspace_id: workspaceId }).onConflict((oc) => oc.column('workspace_id').doNothing()).execute();
  const row = await trx.selectFrom('audit_logs').select('tree_size').where('workspace_id', '=', workspaceId).forUpdate().executeTakeFirstOrThrow();
  return { treeSize: Number(row.tree_size) };
}

async function sealWorkspace(trx: Transaction<Database>, workspaceId: string, events: readonly AuditEvent[], options: SealOptions): Promise<void> {
  const { treeSize } = await lockLog(trx, workspaceId);
  const edge = await loadEdge(trx, workspaceId, treeSize);
  const nodes = appendLeaves(edge, events.map(eventLeafHash));
  const root = foldNodes(edge.nodes.map((n) => n.hash));

  await sql`
    update audit_events e set leaf_index = v.leaf_index
      from rows from (unnest(${uuidArray(events.map((e) => e.id))}), unnest(${bigintArray(events.map((_, i) => treeSize + i))})) as v(id, leaf_index)
     where e.workspace_id = ${workspaceId} and e.id = v.id`.execute(trx);
  await sql`
    insert into audit_tree_nodes (workspace_id, level, index, hash)
    select ${workspaceId}, v.level, v.index, decode(v.hash, 'hex')
      from rows from (
        unnest(${bigintArray(nodes.map((n) => n.level))}),
        unnest(${bigintArray(nodes.map((n) => n.index))}),
        unnest(string_to_array(${nodes.map((n) => n.hash.toString('hex')).join(',')}::text, ','))
      ) as v(level, index, hash)`.execute(trx);

  const text = checkpointText({ origin: checkpointOrigin(options.origin, workspaceId), size: edge.size, rootHash: root });
  const checkpoint = options.signer ? signNote(text, options.signer) : text;
  await trx
    .updateTable('audit_logs')
    .set({ tree_size: edge.size, root_hash: root, checkpoint, checkpoint_size: edge.size, sealed_at: new Date() })
    .where('workspace_id', '=', workspaceId)
    .execute();
}

/** One batch, one transaction: the number of events sealed, all with seq ≤ horizon. */
async function sealBatch(db: Db, horizon: number, options: SealOptions): Promise<number> {
  const batchSize = options.batchSize ?? SEAL_BATCH;
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${SEALER_LOCK}::bigint)`.execute(trx);
    const rows = await trx.selectFrom('audit_events').selectAll().where('leaf_index', 'is', null).where('seq', '<=', horizon).orderBy('seq').limit(batchSize).execute();
    if (rows.length === 0) return 0;
    const byWorkspace = new Map<string, AuditEvent[]>();
    for (const row of rows) {
      const event = toAuditEvent(row);
      let list = byWorkspace.get(event.workspaceId);
      if (!list) byWorkspace.set(event.workspaceId, (list = []));
      list.push(event);
    }
    // Workspaces in id order: two sealers never lock two logs in opposite orders.
    for (const workspaceId of [...byWorkspace.keys()].sort()) await sealWorkspace(trx, workspaceId, byWorkspace.get(workspaceId)!, options);
    if (options.signer) {
      await sql`
        insert into audit_signing_keys (verifier_key, name) values (${options.signer.verifierKey}, ${options.signer.name})
        on conflict (verifier_key) do update set last_used_at = now()`.execute(trx);
    }
    const now = Date.now();
    for (const row of rows) auditSealingLag.observe((now - new Date(row.occurred_at).getTime()) / 1000);
    return rows.length;
  });
}

/** A candidate horizon: final once no transaction with an id up to `bound` is running. */
interface Horizon {
  seq: number;
  bound: string;
}

/** Steps 1 and 2 above: two statements, so that the id is taken after the sequence is read. */
async function takeHorizon(db: Db): Promise<Horizon> {
  const seq = await sql<{ last_value: string | number; is_called: boolean }>`select last_value, is_called from audit_events_seq`.execute(db);
  const drawn = seq.rows[0]!;
  const id = await sql<{ bound: string }>`select pg_current_xact_id()::text as bound`.execute(db);
  return { seq: drawn.is_called ? Number(drawn.last_value) : Number(drawn.last_value) - 1, bound: id.rows[0]!.bound };
}

/** Step 3. */
async function isFinal(db: Db, horizon: Horizon): Promise<boolean> {
  const result = await sql<{ final: boolean }>`select pg_snapshot_xmin(pg_current_snapshot()) > ${horizon.bound}::xid8 as final`.execute(db);
  return result.rows[0]?.final === true;
}

/** Seals every event at or below a final horizon, batch after batch; returns how many. */
async function sealThrough(db: Db, horizon: number, options: SealOptions): Promise<number> {
  const batchSize = options.batchSize ?? SEAL_BATCH;
  let total = 0;
  for (;;) {
    const sealed = await sealBatch(db, horizon, options);
    total += sealed;
    if (sealed < batchSize) break;
  }
  const left = await db.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).where('leaf_index', 'is', null).executeTakeFirst();
  auditUnsealed.set(Number(left?.n ?? 0));
  return total;
}

/** How long a reader waits for the writes in flight when it asks for everything committed to be sealed. */
const SEAL_WAIT_MS = 10_000;

/**
 * Seals everything committed before the call: takes a horizon and waits (polling, at most
 * SEAL_WAIT_MS) for the transactions that were running to finish. What readers that page
 * sealed events (listings, exports, proofs) call first, so they show every change committed
 * before the request. Past the wait it seals what is final and returns.
 */
export async function sealPending(db: Db, options: SealOptions): Promise<number> {
  const horizon = await takeHorizon(db);
  const deadline = Date.now() + SEAL_WAIT_MS;
  for (let pause = 1; !(await isFinal(db, horizon)); pause = Math.min(pause * 2, 50)) {
    if (Date.now() > deadline) return 0;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
  return sealThrough(db, horizon.seq, options);
}

export interface Sealer {
  /** sealPending, after a tick in progress; what readers call. */
  seal(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Seals every `intervalMs` until stopped: each tick seals through the horizon taken at the
 * previous tick once it is final (under steady load, writes are sealed within about two ticks),
 * and through the new one at once when it is final already. A failing tick (the database away)
 * is reported and retried at the next; ticks never overlap within the process.
 */
export function startSealer(db: Db, options: SealOptions & { intervalMs: number; onError: (error: unknown) => void }): Sealer {
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let pending: Horizon | undefined;
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = running.catch(() => undefined).then(work);
    running = next;
    return next;
  };
  const tick = async () => {
    if (pending && (await isFinal(db, pending))) {
      await sealThrough(db, pending.seq, options);
      pending = undefined;
    }
    const horizon = await takeHorizon(db);
    if (await isFinal(db, horizon)) await sealThrough(db, horizon.seq, options);
    else pending ??= horizon;
  };
  const schedule = () => {
    if (!stopped && options.intervalMs > 0) timer = setTimeout(() => void serial(tick).catch(options.onError).finally(schedule), options.intervalMs).unref();
  };
  schedule();
  return {
    seal: () => serial(() => sealPending(db, options)),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running.catch(() => undefined);
    },
  };
}
