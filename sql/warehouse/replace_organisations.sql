DELETE FROM organisations
