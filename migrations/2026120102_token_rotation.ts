import type { Kysely } from 'kysely';

// A rotated token names its successor: it is rotated once, and keeps working only until the
// overlap it was given ends (its expires_at).

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('api_tokens')
    .addColumn('replaced_by', 'uuid', (c) => c.references('api_tokens.id').onDelete('set null'))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('api_tokens').dropColumn('replaced_by').execute();
}
