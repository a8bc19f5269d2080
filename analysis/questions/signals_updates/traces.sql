-- Which signals and updates did order X receive, and was each accepted? Each client call (SignalWorkflow,
-- StartWorkflowUpdate span) followed to the worker spans that answer it, through the links they carry back to it (or
-- as their parent): a HandleSignal/HandleUpdate span ran the handler (accepted); a failed ValidateUpdate span is the
-- validator's refusal. A call no worker span answers is left unanswered, not read as refused.
WITH sent AS (
    SELECT trace_id, span_id, workflow_id,
           CASE WHEN name LIKE 'SignalWorkflow:%' THEN 'signal' ELSE 'update' END AS kind,
           regexp_extract(name, ':(.+)$', 1) AS name
    FROM spans
    WHERE source <> 'history' AND (name LIKE 'SignalWorkflow:%' OR name LIKE 'StartWorkflowUpdate:%')
      AND workflow_id LIKE 'order-%'
), worker AS (
    SELECT * FROM spans
    WHERE source <> 'history'
      AND (name LIKE 'HandleSignal:%' OR name LIKE 'HandleUpdate:%' OR name LIKE 'ValidateUpdate:%')
), answered AS (
    SELECT w.name, w.status_code, l.link->>'trace_id' AS trace_id, l.link->>'span_id' AS span_id
    FROM worker w, LATERAL (SELECT unnest(CAST(w.links AS JSON[])) AS link) l
    UNION ALL
    SELECT name, status_code, trace_id, parent_span_id FROM worker
)
SELECT DISTINCT CASE WHEN s.workflow_id LIKE 'order-%' THEN substr(s.workflow_id, 7) ELSE s.workflow_id END AS order_id, s.kind, s.name,
       bool_or(h.name NOT LIKE 'ValidateUpdate:%') AS accepted
FROM sent s JOIN answered h ON h.trace_id = s.trace_id AND h.span_id = s.span_id
GROUP BY s.trace_id, s.span_id, s.workflow_id, s.kind, s.name
HAVING bool_or(h.name NOT LIKE 'ValidateUpdate:%') OR bool_or(h.status_code = 'ERROR');
