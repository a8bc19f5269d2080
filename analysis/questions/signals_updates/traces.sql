-- Which signals and updates did order X receive, and was each accepted? Handler spans on the worker; a client's
-- update span that no handler span answers was refused before any handler ran.
WITH handled AS (
    SELECT workflow_id, span_id, parent_span_id, name, status_code FROM spans
    WHERE source <> 'history' AND regexp_matches(name, '^Handle(Signal|Update):') AND workflow_id LIKE 'order-%'
), sent_updates AS (
    SELECT workflow_id, span_id, name FROM spans
    WHERE source <> 'history' AND name LIKE 'StartWorkflowUpdate:%' AND workflow_id LIKE 'order-%'
)
SELECT DISTINCT regexp_replace(workflow_id, '^order-', '') AS order_id,
       CASE WHEN name LIKE 'HandleSignal:%' THEN 'signal' ELSE 'update' END AS kind,
       regexp_extract(name, ':(.+)$', 1) AS name,
       status_code <> 'ERROR' AS accepted
FROM handled
UNION
SELECT regexp_replace(s.workflow_id, '^order-', ''), 'update', regexp_extract(s.name, ':(.+)$', 1), false
FROM sent_updates s
WHERE NOT EXISTS (SELECT 1 FROM handled h WHERE h.parent_span_id = s.span_id);
