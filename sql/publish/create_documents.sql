CREATE TABLE documents (name VARCHAR PRIMARY KEY, content VARCHAR);
COMMENT ON TABLE documents IS 'Documents published with the extract, e.g. methodology.md (Markdown).';
COMMENT ON COLUMN documents.name IS 'File name of the document, as also written beside the extract under files/.';
COMMENT ON COLUMN documents.content IS 'The document text (Markdown).';
