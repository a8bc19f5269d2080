-- Did order X complete? The last workflow lifecycle record logged for each order.
SELECT regexp_replace(workflow_id, '^order-', '') AS order_id,
       CASE event WHEN 'workflow completed' THEN 'completed' ELSE 'failed' END AS status
FROM logs
WHERE workflow_id LIKE 'order-%' AND event IN ('workflow completed', 'workflow failed', 'workflow canceled')
QUALIFY row_number() OVER (PARTITION BY workflow_id ORDER BY time DESC) = 1;
