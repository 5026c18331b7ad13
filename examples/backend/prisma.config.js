'use strict';
// Prisma CLI configuration. Prisma 6.19 can run Migrate on its bundled WASM schema engine through a
// driver adapter ("js" engine), so no native engine has to be downloaded from binaries.prisma.sh (which
// is unreachable from the build machines and from air-gapped hosts). Only the CLI loads this file.
const path = require('node:path');
const { randomUUID } = require('node:crypto');
const { defineConfig } = require('prisma/config');
const { PrismaPg } = require('@prisma/adapter-pg');

// prisma/orm#27403: adapter-pg refuses PostgreSQL's catalog types "char" (18) and name (19) and their
// arrays, which the schema engine reads while inspecting the database. They are plain strings, so
// report them as text (25) and text[] (1009).
const CATALOG_TYPES_AS_TEXT = new Map([[18, 25], [19, 25], [1002, 1009], [1003, 1009]]);

function readCatalogTypesAsText(adapter) {
  let proto = Object.getPrototypeOf(adapter);
  while (proto && !Object.hasOwn(proto, 'performIO')) proto = Object.getPrototypeOf(proto);
  if (!proto) {
    throw new Error('prisma.config.js: @prisma/adapter-pg has no performIO any more; re-check the prisma/orm#27403 workaround');
  }
  if (proto.performIO.catalogTypesAsText) return;
  const performIO = proto.performIO;
  // Patched on the shared prototype so that queries inside transactions are covered too.
  proto.performIO = async function performIOWithCatalogTypes(...args) {
    const result = await performIO.apply(this, args);
    for (const field of result.fields ?? []) {
      field.dataTypeID = CATALOG_TYPES_AS_TEXT.get(field.dataTypeID) ?? field.dataTypeID;
    }
    return result;
  };
  proto.performIO.catalogTypesAsText = true;
}

function databaseUrl(database) {
  // A placeholder keeps commands that need no database (generate, migrate diff --from-empty) working.
  const url = new URL(process.env.DATABASE_URL || 'postgresql://localhost:5432/postgres');
  if (database) url.pathname = `/${database}`;
  return url.toString();
}

async function connectPatched(factory) {
  const adapter = await factory.connect();
  readCatalogTypesAsText(adapter);
  return adapter;
}

module.exports = defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join('prisma', 'schema.prisma'),
  migrations: { path: path.join('prisma', 'migrations') },
  async adapter() {
    const factory = new PrismaPg({ connectionString: databaseUrl() });
    const connect = factory.connect.bind(factory);
    factory.connect = () => connectPatched({ connect });
    // The shadow database (migrate dev, migrate diff --from-migrations) is replaced because adapter-pg's
    // own version keeps the connection string's database name and drops the database while its pool
    // still holds connections ("is being accessed by other users").
    factory.connectToShadowDb = async () => {
      const admin = await factory.connect();
      const database = `prisma_migrate_shadow_db_${randomUUID()}`;
      await admin.executeScript(`CREATE DATABASE "${database}"`);
      const shadow = await connectPatched(new PrismaPg({ connectionString: databaseUrl(database) }));
      const dispose = shadow.dispose.bind(shadow);
      shadow.dispose = async () => {
        try {
          await dispose();
          await admin.executeScript(`DROP DATABASE IF EXISTS "${database}"`);
        } finally {
          await admin.dispose();
        }
      };
      return shadow;
    };
    return factory;
  },
});
