-- Which signals and updates did order X receive, and was each accepted? The handlers' 'signal received' and
-- 'update received' records, and the 'update rejected' record written when the validator refuses an update.
SELECT DISTINCT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id,
       CASE WHEN event = 'signal received' THEN 'signal' ELSE 'update' END AS kind,
       coalesce(attributes->>'signal', attributes->>'update') AS name,
       event <> 'update rejected' AS accepted
FROM logs
WHERE event IN ('signal received', 'update received', 'update rejected') AND workflow_id LIKE 'order-%';
