INSERT INTO documents VALUES ($name, $content)
