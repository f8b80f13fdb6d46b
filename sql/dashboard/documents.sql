-- The documents published inside the extract (methodology, publication record).
SELECT name, content FROM documents ORDER BY name
