-- Which signals and updates did order X receive, and was each accepted? Events on the synthesized root span.
SELECT DISTINCT CASE WHEN s.workflow_id LIKE 'order-%' THEN substr(s.workflow_id, 7) ELSE s.workflow_id END AS order_id,
       CASE WHEN e.ev->>'name' LIKE 'signal:%' THEN 'signal' ELSE 'update' END AS kind,
       regexp_extract(e.ev->>'name', ':(.+)$', 1) AS name,
       true AS accepted
FROM spans s, LATERAL (SELECT unnest(CAST(s.events AS JSON[])) AS ev) e
WHERE s.source = 'history' AND s.name = 'RunWorkflow:OrderWorkflow' AND s.workflow_id LIKE 'order-%'
  AND (e.ev->>'name' LIKE 'signal:%' OR e.ev->>'name' LIKE 'update.accepted:%');
