import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import t from 'tap';
import ts from 'typescript';
import { createTestDb } from '../helpers/db.js';
import { fromRoot } from '../helpers/paths.js';

// The Kysely `Database` interface (src/db/types.ts) against the migrated schema: every table and
// column the migrations create is typed, and nothing typed is missing from the database, so no
// repository has to reach a table through untyped SQL.

const TYPES_FILE = fromRoot('src/db/types.ts');

/** table → column names, read from the interfaces that `Database` names. */
function typedTables(): Map<string, string[]> {
  const source = ts.createSourceFile('types.ts', readFileSync(TYPES_FILE, 'utf8'), ts.ScriptTarget.Latest, true);
  const interfaces = new Map<string, ts.InterfaceDeclaration>();
  source.forEachChild((node) => {
    if (ts.isInterfaceDeclaration(node)) interfaces.set(node.name.text, node);
  });
  const members = (decl: ts.InterfaceDeclaration) =>
    decl.members.filter(ts.isPropertySignature).map((m) => ({ name: m.name.getText(source), type: m.type?.getText(source) ?? '' }));
  const tables = new Map<string, string[]>();
  for (const { name, type } of members(interfaces.get('Database')!)) {
    const table = interfaces.get(type);
    if (!table) throw new Error(`Database.${name} names ${type}, which is not an interface in types.ts`);
    tables.set(name, members(table).map((m) => m.name).sort());
  }
  return tables;
}

t.test('the Database interface matches the migrated schema', async (t) => {
  const { db } = await createTestDb(t);
  const { rows } = await sql<{ table_name: string; column_name: string }>`
    select table_name, column_name from information_schema.columns
    where table_schema = 'public' and table_name not like 'kysely_%'
    order by table_name, column_name`.execute(db);
  const migrated = new Map<string, string[]>();
  for (const row of rows) migrated.set(row.table_name, [...(migrated.get(row.table_name) ?? []), row.column_name]);
  const typed = typedTables();
  t.same([...typed.keys()].sort(), [...migrated.keys()].sort(), 'the same tables');
  for (const [table, columns] of migrated) t.same(typed.get(table), [...columns].sort(), `${table}: the same columns`);
});
