INSERT INTO list_sizes BY NAME SELECT month, practice_code, patients, adults FROM read_parquet($path) WHERE month = $month
