import { sql, type Kysely } from 'kysely';

// The audit trail becomes a Merkle log. Appenders no longer lock a per-workspace chain
// head: an event is inserted in its change's transaction with a seq from one global sequence (so
// no two writers wait on each other), and the sealer (src/audit/sealer.ts) later gives each
// workspace's committed events their leaf indices, in seq order, and appends them to the
// workspace's RFC 9162 tree, whose nodes are stored here.
//
// What each column means now:
// - seq: insert order. Writers that conflict on a row (a group, a user) insert their events after
//   taking its lock, so seq orders each group's and user's events in commit order — what the
//   replays need. It has gaps (rolled-back transactions, other workspaces) and is no longer
//   the position in the log.
// - xid: the inserting transaction, by which the delete guard below recognises the purge's own
//   audit.purged record.
// - leaf_index: the event's place in the workspace's tree, set once by the sealer.
// - prev_hash, hash: the old SHA-256 chain, kept on the events appended before this migration so
//   that it still verifies; the sealer seals those first, in chain order.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop trigger audit_events_append_only on audit_events`.execute(db);
  await sql`drop function audit_events_append_only()`.execute(db);
  await sql`drop trigger audit_chain_heads_guard on audit_chain_heads`.execute(db);
  await sql`drop trigger audit_chain_heads_no_truncate on audit_chain_heads`.execute(db);
  await sql`drop function audit_chain_heads_guard()`.execute(db);

  await sql`create sequence audit_events_seq as bigint`.execute(db);
  await sql`select setval('audit_events_seq', greatest((select max(seq) from audit_events), 0) + 1, false)`.execute(db);
  // A seq is drawn only by a transaction that already has an id (pg_current_xact_id() assigns
  // one), so whoever holds a seq is visible as running until it ends: what the sealer's horizon
  // relies on (src/audit/sealer.ts). CASE evaluates its condition first.
  await sql`
    create function audit_next_seq() returns bigint language sql volatile as $$
      select case when pg_current_xact_id() is not null then nextval('audit_events_seq') end
    $$`.execute(db);
  await sql`
    alter table audit_events
      alter column seq set default audit_next_seq(),
      alter column prev_hash drop not null,
      alter column hash drop not null,
      add column xid xid8 not null default pg_current_xact_id(),
      add column leaf_index bigint,
      add constraint audit_events_workspace_leaf_key unique (workspace_id, leaf_index)`.execute(db);
  await sql`alter sequence audit_events_seq owned by audit_events.seq`.execute(db);
  // What the sealer looks for: small, because sealed rows leave it.
  await sql`create index audit_events_unsealed_idx on audit_events (seq) where leaf_index is null`.execute(db);

  // One row per workspace: the tree's size and root, the latest checkpoint (signed when a key is
  // configured), how far the retention purge has gone, and the end of the old chain.
  await sql`alter table audit_chain_heads rename to audit_logs`.execute(db);
  await sql`alter table audit_logs rename constraint audit_chain_heads_pkey to audit_logs_pkey`.execute(db);
  await sql`
    alter table audit_logs
      rename column seq to chain_seq`.execute(db);
  await sql`alter table audit_logs rename column hash to chain_hash`.execute(db);
  await sql`
    alter table audit_logs
      drop column occurred_at,
      add column tree_size bigint not null default 0,
      add column root_hash bytea,
      add column checkpoint text,
      add column checkpoint_size bigint not null default 0,
      add column sealed_at timestamptz,
      add column purged_through bigint not null default 0`.execute(db);
  await sql`update audit_logs set purged_through = anchor_seq`.execute(db);

  // Every complete subtree of each workspace's tree: level 0 holds the leaf hashes, level l the
  // hash of leaves [index·2^l, (index+1)·2^l). Any root, inclusion or consistency proof is a few
  // of these; none is ever deleted, so a purged event stays provable.
  await db.schema
    .createTable('audit_tree_nodes')
    .addColumn('workspace_id', 'uuid', (c) => c.notNull())
    .addColumn('level', 'smallint', (c) => c.notNull())
    .addColumn('index', 'bigint', (c) => c.notNull())
    .addColumn('hash', 'bytea', (c) => c.notNull())
    .addPrimaryKeyConstraint('audit_tree_nodes_pkey', ['workspace_id', 'level', 'index'])
    .execute();

  // Verifier keys that ever signed a checkpoint here, so that earlier heads stay checkable after a rotation.
  await db.schema
    .createTable('audit_signing_keys')
    .addColumn('verifier_key', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('first_used_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // Append-only, enforced on every role that is not allowed to disable triggers:
  // - UPDATE only sets leaf_index, once (the sealer), and changes nothing else;
  // - DELETE only of sealed events, by a transaction that itself appended the audit.purged event
  //   whose throughSeq covers them (the retention purge), so every removal is on the record;
  // - TRUNCATE never.
  // Whoever can disable triggers can still rewrite rows: signed checkpoints held by a witness
  // are what detects that (codex-scim audit verify --witness).
  await sql`
    create function audit_events_guard() returns trigger language plpgsql as $$
    begin
      if tg_op = 'UPDATE' then
        if old.leaf_index is null and new.leaf_index is not null
           and (new.id, new.workspace_id, new.seq, new.occurred_at, new.actor_type, new.actor_id, new.actor_display,
                new.request_id, new.event_type, new.target_type, new.target_id, new.data, new.cause_id,
                new.prev_hash, new.hash, new.xid)
               is not distinct from
               (old.id, old.workspace_id, old.seq, old.occurred_at, old.actor_type, old.actor_id, old.actor_display,
                old.request_id, old.event_type, old.target_type, old.target_id, old.data, old.cause_id,
                old.prev_hash, old.hash, old.xid) then
          return new;
        end if;
        raise exception 'audit events are append-only: only the sealer sets leaf_index, once'
          using errcode = 'insufficient_privilege';
      end if;
      if tg_op = 'DELETE' and old.leaf_index is not null and exists (
           select 1 from audit_events p
            where p.workspace_id = old.workspace_id and p.event_type = 'audit.purged'
              and p.xid = pg_current_xact_id() and (p.data->>'throughSeq')::bigint >= old.seq) then
        return old;
      end if;
      raise exception 'audit events are append-only: % refused', tg_op
        using errcode = 'insufficient_privilege',
              hint = 'only the retention purge deletes sealed audit events, recording itself as audit.purged';
    end
    $$`.execute(db);
  await sql`create trigger audit_events_guard before update or delete on audit_events for each row execute function audit_events_guard()`.execute(db);
  await sql`
    create function audit_refuse() returns trigger language plpgsql as $$
    begin
      raise exception '%: % refused (append-only)', tg_table_name, tg_op using errcode = 'insufficient_privilege';
    end
    $$`.execute(db);
  await sql`create trigger audit_events_no_truncate before truncate on audit_events for each statement execute function audit_refuse()`.execute(db);
  await sql`create trigger audit_tree_nodes_guard before update or delete or truncate on audit_tree_nodes for each statement execute function audit_refuse()`.execute(db);

  // The log row may only move forward: the tree grows, the purge advances, the old chain is frozen.
  await sql`
    create function audit_logs_guard() returns trigger language plpgsql as $$
    begin
      if tg_op = 'UPDATE'
         and new.workspace_id = old.workspace_id
         and new.tree_size >= old.tree_size
         and (new.tree_size > old.tree_size or new.root_hash is not distinct from old.root_hash)
         and new.checkpoint_size >= old.checkpoint_size and new.checkpoint_size <= new.tree_size
         and new.purged_through >= old.purged_through
         and (new.chain_seq, new.chain_hash) = (old.chain_seq, old.chain_hash)
         and new.anchor_seq >= old.anchor_seq and new.anchor_seq <= new.chain_seq then
        return new;
      end if;
      raise exception 'audit log %: may only move forward (% refused)', old.workspace_id, tg_op using errcode = 'insufficient_privilege';
    end
    $$`.execute(db);
  await sql`create trigger audit_logs_guard before update or delete on audit_logs for each row execute function audit_logs_guard()`.execute(db);
  await sql`create trigger audit_logs_no_truncate before truncate on audit_logs for each statement execute function audit_refuse()`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('2026120201_audit_merkle_log cannot be undone: the events appended since carry no hash chain');
}
