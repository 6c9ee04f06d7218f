/** A MemoryService on a fresh test database, closed when the test ends. */
import { MemoryService, type Caller } from '../../src/memory/service.ts';
import { Database } from '../../src/store/db.ts';
import { createTestDatabase, type TestDatabase } from './postgres.ts';

export interface ServiceFixture {
  db: Database;
  service: MemoryService;
  caller: Caller;
  database: TestDatabase;
}

export async function serviceFixture(t: { after(fn: () => unknown): void }, caller: Partial<Caller> = {}): Promise<ServiceFixture> {
  const database = await createTestDatabase();
  const db = new Database({ url: database.url, max: 4 });
  // Close the pool before the database is dropped (a forced drop would kill live connections).
  t.after(async () => {
    await db.close();
    await database.drop();
  });
  await db.ready();
  return { db, service: new MemoryService(db, { dimension: 2 ** 20 }), caller: { tenant: 'local', project: 'demo', ...caller }, database };
}
