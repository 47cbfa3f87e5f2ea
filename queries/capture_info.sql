-- title: facts about the capture, its import and the last analysis
-- params: none
-- columns: source — 'capture' (capture table: file, format, host, kernel, clock, ...) or 'analysis' (analysis table)
--   key — name of the fact (see schema/010_capture.sql and 040_analysis.sql)
--   value — its value as text (untrusted: host names and paths come from the capture)
SELECT 'capture' AS source, key AS key, value AS value FROM capture
UNION ALL
SELECT 'analysis', key, value FROM analysis
ORDER BY 1 DESC, 2;
