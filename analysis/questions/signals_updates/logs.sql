-- Which signals and updates did order X receive, and was each accepted? The handlers' 'signal received' and
-- 'update received' records; a rejected update logs nothing.
SELECT DISTINCT regexp_replace(workflow_id, '^order-', '') AS order_id,
       CASE WHEN event = 'signal received' THEN 'signal' ELSE 'update' END AS kind,
       coalesce(attributes->>'signal', attributes->>'update') AS name,
       true AS accepted
FROM logs
WHERE event IN ('signal received', 'update received') AND workflow_id LIKE 'order-%';
