/**
 * Sessions and memories. Every table's primary key and every b-tree index lead with `tenant`
 * (row-level security and a future distribution by tenant rely on that). GIN indexes cannot
 * lead with a scalar column without the btree_gin extension, which Sage does not use; they
 * are partial indexes over live rows and are always combined with the tenant predicate.
 */
export const sql = `
CREATE TABLE sessions (
  tenant      text        NOT NULL,
  id          text        NOT NULL,
  project     text        NOT NULL,
  title       text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  last_active timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id)
);
CREATE INDEX sessions_by_activity ON sessions (tenant, project, last_active DESC);

CREATE TABLE memories (
  tenant             text        NOT NULL,
  id                 uuid        NOT NULL DEFAULT gen_random_uuid(),
  project            text        NOT NULL,
  session_id         text,
  kind               text        NOT NULL CHECK (kind IN ('turn', 'note', 'fact', 'agent_report')),
  -- A turn keeps the user's prompt here and the assistant's response in content;
  -- a note, fact or agent report keeps its text in content and leaves this NULL.
  user_text          text,
  content            text        NOT NULL,
  tags               text[]      NOT NULL DEFAULT '{}',
  metadata           jsonb       NOT NULL DEFAULT '{}'::jsonb,
  content_hash       bytea       NOT NULL,
  -- The hash vector: sparse, packed by src/vectorize (u32 count, int32 indices, float32 values).
  vector             bytea       NOT NULL,
  -- The vector's bucket numbers, for candidate lookup through a GIN index.
  vector_keys        int4[]      NOT NULL,
  -- Lexical terms from the vectorizer's own tokenizer (Postgres' parsers do not segment Chinese).
  lexemes            tsvector    NOT NULL,
  vectorizer_version text        NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  deleted_at         timestamptz,
  PRIMARY KEY (tenant, id),
  CHECK (jsonb_typeof(metadata) = 'object')
);

-- Exact duplicates: one live memory per content in a project.
CREATE UNIQUE INDEX memories_unique_content ON memories (tenant, project, content_hash) WHERE deleted_at IS NULL;
CREATE INDEX memories_by_time    ON memories (tenant, project, created_at DESC) WHERE deleted_at IS NULL;
CREATE INDEX memories_by_session ON memories (tenant, session_id, created_at DESC) WHERE deleted_at IS NULL;
CREATE INDEX memories_by_version ON memories (tenant, vectorizer_version);
CREATE INDEX memories_lexemes    ON memories USING gin (lexemes) WHERE deleted_at IS NULL;
CREATE INDEX memories_vector_keys ON memories USING gin (vector_keys) WHERE deleted_at IS NULL;
CREATE INDEX memories_tags       ON memories USING gin (tags) WHERE deleted_at IS NULL;
`;
