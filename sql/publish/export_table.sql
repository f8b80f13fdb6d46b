-- {table} and {format} are identifiers checked against allowlists in pipelines/publish.py.
COPY (SELECT * FROM {table}) TO $path (FORMAT {format}{options})
