-- One migration set for the whole file (sqlx's _sqlx_migrations): the
-- registry's PRAGMA user_version and the feed's feed_schema table, which
-- files made before slate-store used to count their schemas, are retired.
DROP TABLE IF EXISTS feed_schema;
PRAGMA user_version = 0;
