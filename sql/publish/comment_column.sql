-- COMMENT ON takes no bind parameters: {table} and {column} are checked to exist in the
-- extract (pipelines.warehouse.comment_on_column) and {comment} is a quoted literal.
COMMENT ON COLUMN {table}.{column} IS {comment}
