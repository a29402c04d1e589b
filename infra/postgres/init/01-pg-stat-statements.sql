-- Local stack only (docker-compose.yml mounts infra/postgres/init at /docker-entrypoint-initdb.d).
-- The postgres image runs this once, when it initialises an empty data volume, as POSTGRES_USER
-- in POSTGRES_DB (activelog). The server preloads the library (shared_preload_libraries in the
-- compose command); this makes the pg_stat_statements view that postgres-exporter's
-- stat_statements collector reads. On an existing volume, run it by hand once:
--   docker compose exec postgres psql -U activelog -d activelog -f /docker-entrypoint-initdb.d/01-pg-stat-statements.sql
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
